"""A sensitive output that is a map or a list is masked element by element, every string in it
as well as its whole JSON text (issue 28, point 11).

The runner masks a registered value only where it appears whole within one log line
(actions/toolkit, docs/commands.md, "Masking a value in log"): a map's compact JSON text is
never printed as such, while one of its strings (a password in a map of credentials) can be,
by a later step of the job (the masks last for the job). Masked: the strings only, not the
numbers or booleans (`true` masked would hide every `true` of the log), and, for the same
reason, not the strings of an output that is not sensitive (its whole text is masked, as
before).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.tf_apply_step import TfApplyStep
from testing.workflow_commands import masks, shown_lines
from tests.commands.conftest import LocalStep

CONFIGURATION = """\
output "credentials" {
  value = {
    user     = "admin-user"
    password = "pw-in-a-map"
    port     = 5432
    nested   = { keys = ["key-one-1", "key-two-2"], on = true }
  }
  sensitive = true
}

output "tokens" {
  value     = ["token-aaaa", "token-bbbb"]
  sensitive = true
}

output "public" {
  value = { team = "team-public" }
}
"""

SENSITIVE_STRINGS = [
    "admin-user",
    "pw-in-a-map",
    "key-one-1",
    "key-two-2",
    "token-aaaa",
    "token-bbbb",
]


@pytest.fixture
def step(local_step: LocalStep, tmp_path: Path) -> TfApplyStep:
    in_actions = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "github-output")}
    return local_step(CONFIGURATION, in_actions)


def test_every_string_of_a_sensitive_map_or_list_is_masked_before_the_outputs_are_written(
    step: TfApplyStep,
) -> None:
    result = step()

    assert result.exit_code == 0, result.stdout + result.stderr
    outputs = step.outputs()
    masked = masks(result.stdout)
    assert set(SENSITIVE_STRINGS) <= masked
    for name in ("credentials", "tokens", "public"):
        assert json.dumps(outputs[name]["value"], separators=(",", ":")) in masked, name
    assert not {"5432", "true", "team-public", "user", "password"} & masked
    assert not [
        line
        for line in shown_lines(result.stdout)
        if any(value in line for value in SENSITIVE_STRINGS)
    ]


def test_a_plan_only_run_masks_a_sensitive_output_s_strings_before_its_text_prints(
    step: TfApplyStep,
) -> None:
    """The plan's JSON holds a sensitive output's planned value (`after`, with
    `after_sensitive` true): masked before terraform's text is printed."""
    result = step("--plan-only", "true")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert set(SENSITIVE_STRINGS) <= masks(result.stdout)
    assert not {"5432", "true", "team-public"} & masks(result.stdout)
