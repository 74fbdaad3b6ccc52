# Exactly what the service workflow passes: image_tag and image (tf-apply's `var`), and the core
# values as TF_VAR_<lower-case name> from the secrets the core flow wrote into the environment.
# A variable the workflow does not pass would stop the cli engine's run.

variable "image_tag" {
  description = "The tag build-push gave the image (its content-addressed inputs tag): for people, the image itself is var.image."
  type        = string
}

variable "image" {
  description = "The image to run, by digest in this environment's own repository (a pull request's plan passes it by tag)."
  type        = string
}

variable "vpc_id" {
  description = "Core: the VPC."
  type        = string
}

variable "ecs_subnet_1" {
  description = "Core: the first private subnet of the tasks."
  type        = string
}

variable "ecs_subnet_2" {
  description = "Core: the second private subnet of the tasks."
  type        = string
}

variable "ecs_security_group" {
  description = "Core: the services' security group, reached by the load balancer."
  type        = string
}

variable "ecs_cluster_arn" {
  description = "Core: the ECS cluster of the environment."
  type        = string
}

variable "ecs_task_execution_role_arn" {
  description = "Core: the role ECS starts the tasks with (image pull, logs)."
  type        = string
}

variable "ecs_task_role_arn" {
  description = "Core: the role the service's code runs as."
  type        = string
}

variable "alb_listener_arn" {
  description = "Core: the load balancer's listener the service adds its rule to."
  type        = string
}
