# The core flow passes no variable: each has a default, or comes from the HCP Terraform workspace.

variable "name" {
  description = "Prefix of every name, one per environment (e.g. toto-core-dev). Default: the CLI workspace the cli engine selects; set it on HCP Terraform, whose runs see the workspace as \"default\"."
  type        = string
  default     = null
}

variable "vpc_cidr" {
  description = "The VPC's address range; each subnet takes a /24 of it."
  type        = string
  default     = "10.0.0.0/16"
}

variable "certificate_arn" {
  description = "An ACM certificate of the load balancer's domain: HTTPS on 443 (HTTP then redirects to it). Null: HTTP on 80 only."
  type        = string
  default     = null
}

variable "container_port" {
  description = "The port the services' containers listen on: the load balancer reaches the services' security group on it (the services' local.container_port must match)."
  type        = number
  default     = 8080
}
