"""Terraform: the binary, the HCP Terraform API, runs, plans, variables, outputs, archives."""
