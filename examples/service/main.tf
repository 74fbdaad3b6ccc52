locals {
  # Edit these for your service. The listener rule's priority must be unique on the listener.
  service        = "toto-ms-orders"
  container_port = 8080 # the core's var.container_port: the one port its security group opens
  path_patterns  = ["/orders", "/orders/*"]
  health_path    = "/orders/health"
  priority       = 100
  cpu            = 256
  memory         = 512
  desired_count  = 2

  # The core's cluster is named after its environment (toto-core-dev): the service's names
  # that must be unique in the account and region take it, so dev and prod never collide.
  cluster_name = element(split("/", var.ecs_cluster_arn), 1)
  name         = "${local.cluster_name}-${local.service}"
}

data "aws_region" "current" {}

resource "aws_cloudwatch_log_group" "service" {
  name              = "/ecs/${local.cluster_name}/${local.service}"
  retention_in_days = 30
}

# A target group name is at most 32 characters: a prefix, and the new one made before the old
# one goes when a change replaces it.
resource "aws_lb_target_group" "service" {
  name_prefix          = "svc-"
  port                 = local.container_port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 30

  health_check {
    path                = local.health_path
    matcher             = "200"
    healthy_threshold   = 2
    unhealthy_threshold = 3
    interval            = 15
  }

  tags = { Name = local.name }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener_rule" "service" {
  listener_arn = var.alb_listener_arn
  priority     = local.priority

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.service.arn
  }

  condition {
    path_pattern {
      values = local.path_patterns
    }
  }
}

# A new image is a new revision of the task definition: ECS then rolls the service.
resource "aws_ecs_task_definition" "service" {
  family                   = local.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = local.cpu
  memory                   = local.memory
  execution_role_arn       = var.ecs_task_execution_role_arn
  task_role_arn            = var.ecs_task_role_arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name      = local.service
      image     = var.image
      essential = true
      portMappings = [
        { containerPort = local.container_port, protocol = "tcp" }
      ]
      environment = [
        { name = "IMAGE_TAG", value = var.image_tag }
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.service.name
          awslogs-region        = data.aws_region.current.name
          awslogs-stream-prefix = local.service
        }
      }
    }
  ])

  tags = { ImageTag = var.image_tag }
}

resource "aws_ecs_service" "service" {
  name                              = local.service
  cluster                           = var.ecs_cluster_arn
  task_definition                   = aws_ecs_task_definition.service.arn
  desired_count                     = local.desired_count
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = 30
  propagate_tags                    = "SERVICE"

  # A rollout whose tasks fail stops and goes back to the last working revision: the deploy job
  # (wait-for-services: auto) then fails with ECS's reason.
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  network_configuration {
    subnets          = [var.ecs_subnet_1, var.ecs_subnet_2]
    security_groups  = [var.ecs_security_group]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.service.arn
    container_name   = local.service
    container_port   = local.container_port
  }

  # tf-apply waits for the rollout itself (and reports why it failed).
  wait_for_steady_state = false

  depends_on = [aws_lb_listener_rule.service]
}
