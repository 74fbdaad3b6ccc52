# The deploy job waits for this service's rollout (wait-for-services: auto reads this output).
output "ecs_service_arn" {
  value = aws_ecs_service.service.id
}
