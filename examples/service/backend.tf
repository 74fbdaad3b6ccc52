# The cli engine's state: S3, settings from the file TOTO_BACKEND_CONFIG names (see
# ../repositories/*/terraform/backend.s3.tfbackend). On HCP Terraform (the cloud engine), which
# keeps the state itself, delete this file.
terraform {
  backend "s3" {}
}
