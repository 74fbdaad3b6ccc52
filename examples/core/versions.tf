terraform {
  # 1.10: the S3 backend's use_lockfile (backend.tf, for the cli engine). Plain resources of the
  # AWS provider, no registry module: the tests validate them against the provider 5.100.
  required_version = ">= 1.10"
  required_providers { aws = { source = "hashicorp/aws", version = ">= 5.100" } }
}

# The region comes from the environment: AWS_REGION, which configure-aws-credentials sets (cli
# engine), or an environment variable of the HCP Terraform workspace (cloud engine).
provider "aws" {
  default_tags {
    tags = { Project = "toto", Stack = local.name, ManagedBy = "terraform" }
  }
}
