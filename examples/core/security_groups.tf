# The load balancer takes HTTP (and HTTPS) from anywhere and reaches only the services; the
# services' tasks take traffic from the load balancer only, on the container port.
locals {
  security_groups = {
    alb      = "The load balancer: HTTP and HTTPS from anywhere, to the services only"
    services = "The services' tasks: from the load balancer only"
  }
  # protocol -1 is every protocol (and then no port); peer: another group of this file, or null
  ingress_rules = merge(
    {
      alb-http          = { group = "alb", port = 80, cidr = "0.0.0.0/0", peer = null }
      services-from-alb = { group = "services", port = var.container_port, cidr = null, peer = "alb" }
    },
    local.https ? { alb-https = { group = "alb", port = 443, cidr = "0.0.0.0/0", peer = null } } : {},
  )
  egress_rules = {
    alb-to-services = { group = "alb", protocol = "tcp", port = var.container_port, cidr = null, peer = "services" }
    # ECR, CloudWatch Logs and what the services call, through the NAT gateway
    services-out = { group = "services", protocol = "-1", port = null, cidr = "0.0.0.0/0", peer = null }
  }
}

resource "aws_security_group" "main" {
  for_each = local.security_groups

  name        = "${local.name}-${each.key}"
  description = each.value
  vpc_id      = aws_vpc.main.id

  tags = { Name = "${local.name}-${each.key}" }
}

resource "aws_vpc_security_group_ingress_rule" "main" {
  for_each = local.ingress_rules

  security_group_id            = aws_security_group.main[each.value.group].id
  description                  = each.key
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  cidr_ipv4                    = each.value.cidr
  referenced_security_group_id = each.value.peer == null ? null : aws_security_group.main[each.value.peer].id
}

resource "aws_vpc_security_group_egress_rule" "main" {
  for_each = local.egress_rules

  security_group_id            = aws_security_group.main[each.value.group].id
  description                  = each.key
  ip_protocol                  = each.value.protocol
  from_port                    = each.value.port
  to_port                      = each.value.port
  cidr_ipv4                    = each.value.cidr
  referenced_security_group_id = each.value.peer == null ? null : aws_security_group.main[each.value.peer].id
}
