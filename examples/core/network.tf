locals {
  name = coalesce(var.name, terraform.workspace)
  # Two availability zones, a public and a private subnet in each: the load balancer in the
  # public ones, the services' tasks in the private ones (no public address; out through NAT).
  zones = slice(data.aws_availability_zones.available.names, 0, 2)
  subnets = {
    public-1  = { tier = "public", zone = 0, netnum = 0 }
    public-2  = { tier = "public", zone = 1, netnum = 1 }
    private-1 = { tier = "private", zone = 0, netnum = 10 }
    private-2 = { tier = "private", zone = 1, netnum = 11 }
  }
}

data "aws_availability_zones" "available" {
  state = "available"
}

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = local.name }

  lifecycle {
    precondition {
      condition     = local.name != "default"
      error_message = "Set the variable name (e.g. toto-core-dev): every environment's names would be the same."
    }
  }
}

# Each a /24 of the VPC's range.
resource "aws_subnet" "main" {
  for_each = local.subnets

  vpc_id            = aws_vpc.main.id
  cidr_block        = cidrsubnet(var.vpc_cidr, 8, each.value.netnum)
  availability_zone = local.zones[each.value.zone]

  tags = { Name = "${local.name}-${each.key}" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id

  tags = { Name = local.name }
}

# One NAT gateway keeps the example cheap; one per zone survives the loss of a zone.
resource "aws_eip" "nat" {
  domain = "vpc"

  tags = { Name = "${local.name}-nat" }
}

resource "aws_nat_gateway" "main" {
  allocation_id = aws_eip.nat.id
  subnet_id     = aws_subnet.main["public-1"].id

  tags = { Name = local.name }

  depends_on = [aws_internet_gateway.main]
}

# The public tier goes out through the internet gateway, the private one through NAT.
resource "aws_route_table" "main" {
  for_each = toset(["public", "private"])

  vpc_id = aws_vpc.main.id

  route {
    cidr_block     = "0.0.0.0/0"
    gateway_id     = each.key == "public" ? aws_internet_gateway.main.id : null
    nat_gateway_id = each.key == "private" ? aws_nat_gateway.main.id : null
  }

  tags = { Name = "${local.name}-${each.key}" }
}

resource "aws_route_table_association" "main" {
  for_each = local.subnets

  subnet_id      = aws_subnet.main[each.key].id
  route_table_id = aws_route_table.main[each.value.tier].id
}
