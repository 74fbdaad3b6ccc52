resource "aws_ecs_cluster" "main" {
  name = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

# Every service's tasks: reached by the load balancer on the container port; out to anywhere
# (ECR, CloudWatch Logs and what the services call, through the NAT gateway).
resource "aws_security_group" "services" {
  name        = "${local.name}-services"
  description = "The services' tasks: from the load balancer only"
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name}-services" }
}

resource "aws_vpc_security_group_ingress_rule" "services_from_alb" {
  security_group_id            = aws_security_group.services.id
  description                  = "From the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "services_out" {
  security_group_id = aws_security_group.services.id
  description       = "Out to anywhere"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}
