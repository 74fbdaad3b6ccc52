# The region: AWS_REGION, set by configure-aws-credentials (cli engine) or by the HCP Terraform
# workspace (cloud engine). Every resource carries the service's name.
provider "aws" {
  default_tags {
    tags = { Project = "toto", Service = local.service, ManagedBy = "terraform" }
  }
}

terraform {
  # As ../core: 1.10 for the S3 backend's lock file; the AWS provider, validated against 5.100.
  required_version = ">= 1.10"
  required_providers { aws = { source = "hashicorp/aws", version = ">= 5.100" } }
}
