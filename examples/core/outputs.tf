# Exactly the core secrets the core flow writes into each service repository (their lower-case
# names: DEFAULT_CORE_SECRETS in toto_actions/workflows/settings.py); toto-secrets.yml maps them.

output "vpc_id" {
  value = aws_vpc.main.id
}

output "ecs_subnet_1" {
  value = aws_subnet.main["private-1"].id
}

output "ecs_subnet_2" {
  value = aws_subnet.main["private-2"].id
}

output "ecs_security_group" {
  value = aws_security_group.main["services"].id
}

output "ecs_cluster_arn" {
  value = aws_ecs_cluster.main.arn
}

output "ecs_task_execution_role_arn" {
  value = aws_iam_role.task_execution.arn
}

output "ecs_task_role_arn" {
  value = aws_iam_role.task.arn
}

# The listener the services add their rules to: HTTPS with a certificate, else HTTP.
output "alb_listener_arn" {
  value = local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http.arn
}
