"""A configuration error the tf-apply tests add to a working Terraform configuration: terraform's
plan stops at it, run by the CLI engine or by the HCP Terraform stand-in's worker."""

from __future__ import annotations

from pathlib import Path


def add_an_undeclared_variable_reference(root: Path) -> None:
    """Adds to the configuration in root a file that reads a variable no file declares: the plan
    fails with terraform's "Reference to undeclared input variable"."""
    (root / "broken.tf").write_text(
        'resource "terraform_data" "x" {\n  input = var.nope\n}\n', encoding="utf-8"
    )
