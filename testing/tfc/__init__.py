"""The stand-in HCP Terraform API, whose runs the real terraform runs."""
