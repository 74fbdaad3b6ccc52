"""terraform's warnings told apart from its other lines (diagnostics.py), in the forms terraform
1.x prints them: boxed on stderr, unboxed in `-no-color` text, and as `diagnostic` messages."""

from __future__ import annotations

import pytest

from toto_actions.terraform.diagnostics import without_warnings
from toto_actions.terraform.json_ui import is_warning, log_lines
from toto_actions.terraform.plan import unlisted_summary

BOXED = [
    "There are some problems with the CLI configuration:",
    "╷",
    "│ Warning: Unable to open CLI configuration file",
    "│",
    '│ The CLI configuration file at "/root/.terraformrc" does not exist.',
    "╵",
    "╷",
    "│ Error: Reference to undeclared input variable",
    "│",
    '│ An input variable with the name "nope" has not been declared.',
    "╵",
]
UNBOXED = [
    "Plan: 2 to add, 0 to change, 0 to destroy.",
    "",
    "Warning: Value for undeclared variable",
    "",
    'The root module does not declare a variable named "extra" but a value was',
    'found in file "w.tfvars".',
    "",
    "Do you want to perform these actions?",
]


@pytest.mark.parametrize(
    ("lines", "reported", "kept"),
    [
        pytest.param(
            BOXED,
            [
                "Unable to open CLI configuration file\n\n"
                'The CLI configuration file at "/root/.terraformrc" does not exist.'
            ],
            [BOXED[0], *BOXED[6:]],
            id="a boxed warning is taken out whole and a boxed error kept",
        ),
        pytest.param(
            UNBOXED,
            [
                "Value for undeclared variable\n\n"
                'The root module does not declare a variable named "extra" but a value was\n'
                'found in file "w.tfvars".'
            ],
            [UNBOXED[0], "", "Do you want to perform these actions?"],
            id="an unboxed warning ends where the next part terraform prints begins",
        ),
        pytest.param(
            UNBOXED[2:5],
            [
                "Value for undeclared variable\n\n"
                'The root module does not declare a variable named "extra" but a value was'
            ],
            [],
            id="a warning at the end of the output is reported",
        ),
    ],
)
def test_warnings_are_reported_and_the_other_lines_kept(
    lines: list[str], reported: list[str], kept: list[str]
) -> None:
    warnings: list[str] = []
    assert without_warnings(lines, warnings.append) == kept
    assert warnings == reported


def test_a_diagnostic_message_s_severity_says_whether_it_is_a_warning() -> None:
    warning = {
        "@level": "warn",
        "@message": "Warning: Value for undeclared variable",
        "type": "diagnostic",
        "diagnostic": {"severity": "warning", "summary": "Value for undeclared variable"},
    }
    error = {**warning, "diagnostic": {"severity": "error", "summary": "x"}}
    assert is_warning(warning)
    assert not is_warning(error)
    assert not is_warning({"type": "planned_change", "@message": "x"})
    assert log_lines(warning) == ["Warning: Value for undeclared variable"]


def test_a_plan_without_its_resources_has_changes_unless_it_says_it_has_none() -> None:
    """HCP Terraform's plans API does not document has-changes for every plan (a refresh-only
    plan counts none of its drift): absent, it is taken as changes."""
    assert unlisted_summary(0, 0, 0, None).has_changes
    assert unlisted_summary(0, 0, 0, True).has_changes
    assert not unlisted_summary(0, 0, 0, False).has_changes
    destroying = unlisted_summary(1, 0, 2, False)
    assert not destroying.listed
    assert [r.action for r in destroying.destroyed()] == ["delete"]  # the guard still holds
