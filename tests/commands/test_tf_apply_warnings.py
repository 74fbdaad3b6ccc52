"""tf-apply reports terraform's warnings as warnings (`::warning::` under Actions, `warning:`
elsewhere), never within its error: with the real terraform binary (cli engine, local state),
and from the log of a run that errored on the stand-in HCP Terraform.

The warning: a value in a variables file for a variable the configuration does not declare,
which terraform reports as "Warning: Value for undeclared variable" (terraform's own text, in
both its text and its machine-readable UI).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.broken_configuration import add_an_undeclared_variable_reference
from testing.tf_apply_step import TfApplyStep
from testing.tfc.server import TfcServer
from tests.commands.conftest import LocalStep
from tests.commands.test_tf_apply_cloud import ORG, Service
from tests.conftest import CliRunner

FAILING_APPLY = """
resource "terraform_data" "a" {
  input = "x"
}

resource "terraform_data" "b" {
  provisioner "local-exec" {
    command = "exit 1"
  }
}
"""
UNDECLARED = 'extra = "1"\n'
# terraform 1.x's text of the warning, as it wraps it (-no-color).
WARNING_LINES = [
    "Value for undeclared variable",
    "",
    'The root module does not declare a variable named "extra" but a value was',
]


@pytest.fixture
def step(local_step: LocalStep, tmp_path: Path) -> TfApplyStep:
    (tmp_path / "extra.tfvars").write_text(UNDECLARED, encoding="utf-8")
    return local_step(FAILING_APPLY, {})


def test_a_warning_is_a_warning_and_the_error_holds_errors_only(
    step: TfApplyStep, tmp_path: Path
) -> None:
    result = step("--var-file", str(tmp_path / "extra.tfvars"))
    assert result.exit_code == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert errors[0] == "error: terraform apply failed: local-exec provisioner error"
    assert errors[-1] == "error: Error: local-exec provisioner error"
    assert not [line for line in errors if "Warning" in line or "undeclared" in line]
    found = warnings.index("warning: Value for undeclared variable")
    assert warnings[found : found + 3] == [f"warning: {line}" for line in WARNING_LINES]
    assert "Warning: Value for undeclared variable" not in result.stdout


def test_under_actions_a_warning_is_one_warning_annotation(
    step: TfApplyStep, tmp_path: Path
) -> None:
    outputs = tmp_path / "github-output"
    outputs.touch()
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs)}
    result = step("--var-file", str(tmp_path / "extra.tfvars"), env=env)
    assert result.exit_code == 1, result.stdout + result.stderr
    [annotation] = [
        line
        for line in result.stdout.splitlines()
        if line.startswith("::warning::Value for undeclared variable")
    ]
    assert annotation.startswith("::warning::" + "%0A".join(WARNING_LINES) + "%0A")
    assert annotation.endswith("use the -compact-warnings option.")
    [error] = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    assert "terraform apply failed: local-exec provisioner error" in error
    assert "Warning" not in error and "undeclared" not in error


def test_an_errored_run_s_warnings_are_warnings_beside_its_error(
    tmp_path: Path, cli: CliRunner, tfc: TfcServer
) -> None:
    """The run's plan log (terraform's own text, as HCP Terraform keeps it) holds the warning
    and the error: the step's error is the error alone."""
    tfc.add_workspace(ORG, "toto-ms-x-dev")
    root = tmp_path / "toto-ms-x-dev"
    root.mkdir()
    service = Service(root, cli, tfc, "toto-ms-x-dev")
    (root / "extra.auto.tfvars").write_text(UNDECLARED, encoding="utf-8")
    add_an_undeclared_variable_reference(root)
    result = service()
    assert result.exit_code == 1, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors[0].startswith("error: run ") and errors[0].endswith(" errored:")
    assert "error: Error: Reference to undeclared input variable" in errors
    assert not [line for line in errors if "Warning" in line or "undeclared variable" in line]
    found = lines.index("warning: Value for undeclared variable")
    assert lines[found : found + 3] == [f"warning: {line}" for line in WARNING_LINES]
