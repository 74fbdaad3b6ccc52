"""The Terraform configurations the tests, the benchmarks and the demo apply, and the S3 backend
settings that point terraform at the local moto server."""

TERRAFORM = "/usr/local/bin/terraform"

# HCP Terraform holds the state itself: a configuration for it has no backend block.
S3_BACKEND_BLOCK = 'terraform {\n  backend "s3" {}\n}\n\n'

# A service's variables, resources and outputs, in every configuration here.
_SERVICE = """\
variable "image_tag" {
  type    = string
  default = "v1"
}

variable "generation" {
  type    = string
  default = "1"
}

resource "terraform_data" "image" {
  input = var.image_tag
}

resource "terraform_data" "generation" {
  triggers_replace = [var.generation]
}

output "image_tag" {
  value = terraform_data.image.output
}

output "db_password" {
  value     = "pw-${var.generation}"
  sensitive = true
}
"""

# The S3 backend's configuration (its settings in BACKEND), with a list and a map output.
CONFIG = (
    S3_BACKEND_BLOCK
    + _SERVICE
    + """
output "subnets" {
  value = ["subnet-1", "subnet-2"]
}

output "tags" {
  value = { team = "toto", workspace = terraform.workspace }
}
"""
)

# The cloud engine's configuration: no backend, and a variable a workflow sets as
# TF_VAR_ecs_subnet_1 (which becomes a run variable), with its output.
CLOUD_CONFIG = (
    _SERVICE
    + """
variable "ecs_subnet_1" {
  type    = string
  default = "subnet-default"
}

output "subnet" {
  value = var.ecs_subnet_1
}
"""
)

# Appended to CONFIG for the cancellation tests: an apply that takes `delay` seconds.
SLOW_RESOURCE = """
variable "delay" {
  type    = string
  default = "0"
}

resource "terraform_data" "slow" {
  triggers_replace = [var.delay]

  provisioner "local-exec" {
    command = "sleep ${var.delay}"
  }
}
"""

# What the S3 backend needs to work against moto, besides an endpoint and credentials:
# path-style addressing (the SDK uses virtual hosts, `BUCKET.localhost`, for a host name) and,
# for an endpoint given for S3 alone, no STS calls (credential check, account ID). use_lockfile
# turns on S3 native locking (a `.tflock` object, written with If-None-Match); without it (or
# a DynamoDB table) there is no lock at all.
BACKEND = """\
bucket                      = "{bucket}"
key                         = "{key}"
region                      = "us-east-1"
use_path_style              = true
use_lockfile                = true
skip_credentials_validation = true
skip_requesting_account_id  = true
skip_metadata_api_check     = true
skip_region_validation      = true
"""

# The AWS provider, from the machine's filesystem mirror (no registry download), pointed at the
# moto server by AWS_ENDPOINT_URL: a resource whose real object a test can change outside
# Terraform, so a refresh finds drift (terraform_data only reads back its own state).
AWS_PROVIDER_MIRROR = "/opt/tf-plugins"
AWS_PROVIDER_CLI_CONFIG = f"""\
provider_installation {{
  filesystem_mirror {{
    path = "{AWS_PROVIDER_MIRROR}"
  }}
}}
"""


def drifting_resources(parameter: str) -> str:
    """An SSM parameter of that name (unique per test: moto's server is the session's)."""
    return f"""
terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws" }}
  }}
}}

provider "aws" {{
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}}

resource "aws_ssm_parameter" "drift" {{
  name  = "{parameter}"
  type  = "String"
  value = "v1"
  # Without tags, the provider reads {{}} back from moto where it stored none: drift at once.
  tags = {{ team = "toto" }}
}}
"""


def passed_through(variable: str, output: str) -> str:
    """A configuration's required string variable, passed through terraform_data.service to an
    output: the apply's output is the value given, and no provider is downloaded."""
    return (
        f'variable "{variable}" {{\n  type = string\n}}\n\n'
        f'resource "terraform_data" "service" {{\n  input = var.{variable}\n}}\n\n'
        f'output "{output}" {{\n  value = terraform_data.service.output\n}}\n'
    )


# A service's configuration that names its ECS service as the outputs convention has it (the ARN
# passes through terraform_data: no provider can be downloaded), local state.
ECS_SERVICE_CONFIG = passed_through("service_arn", "ecs_service_arn")
