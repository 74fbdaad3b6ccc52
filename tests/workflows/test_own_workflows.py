"""This repository's own workflows (.github/workflows/): what a published action carries.

Clean under actionlint, zizmor (nothing at all, even as an auditor) and GitHub's schema; least
privilege; third-party actions by commit SHA, the same as render-workflow's vendored pins; no
expression inside a `run:` script. The release logic itself is tested in test_release.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from testing.workflow_linters import actionlint, schema_check, zizmor_findings
from tests.conftest import REPO_ROOT
from toto_actions.workflows.action_pins import pin_table

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
OWN_WORKFLOWS = sorted(WORKFLOWS.glob("*.yml"))
_USES = re.compile(r"^\s+(?:-\s+)?uses: (?P<action>[\w./-]+)@(?P<ref>\S+)(?P<comment> #.*)?$", re.M)


def load(path: Path) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_the_repository_tests_releases_and_publishes_the_two_pipelines() -> None:
    """release and test run here; toto-core and toto-microservice are the reusable workflows
    every repository calls (test_published_workflows.py)."""
    assert [path.name for path in OWN_WORKFLOWS] == [
        "release.yml",
        "test.yml",
        "toto-core.yml",
        "toto-microservice.yml",
    ]


@pytest.fixture(params=OWN_WORKFLOWS, ids=lambda path: path.name)
def workflow(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


def test_actionlint_finds_nothing(workflow: Path) -> None:
    assert actionlint(workflow) == []


def test_zizmor_finds_nothing_even_as_an_auditor(workflow: Path) -> None:
    assert zizmor_findings(workflow, persona="auditor") == []


def test_github_workflow_schema_accepts_it(workflow: Path) -> None:
    result = schema_check(workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_third_party_actions_are_pinned_as_render_workflow_pins_them(workflow: Path) -> None:
    pins = {pin.action: pin for pin in pin_table().pins.values()}
    found = list(_USES.finditer(workflow.read_text(encoding="utf-8")))
    assert found
    for uses in found:
        pin = pins[uses["action"]]
        assert (uses["ref"], uses["comment"]) == (pin.sha, f" # {pin.version}")


def test_nothing_is_written_with_the_token_and_run_scripts_hold_no_expression(
    workflow: Path,
) -> None:
    """Every checkout keeps no credentials; values reach scripts through env, never `${{ }}`."""
    document = load(workflow)
    for step in steps(document):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
        assert "${{" not in step.get("run", "")


def test_permissions_are_none_but_what_each_job_needs() -> None:
    test, release = load(WORKFLOWS / "test.yml"), load(WORKFLOWS / "release.yml")
    assert test["permissions"] == release["permissions"] == {}
    assert test["jobs"]["test"]["permissions"] == {"contents": "read"}
    assert release["jobs"]["move-major-tag"]["permissions"] == {"contents": "write"}


def test_the_test_workflow_runs_the_readme_test_command_on_pull_requests_and_pushes() -> None:
    document = load(WORKFLOWS / "test.yml")
    assert set(document[True]) == {"pull_request", "push"}  # PyYAML reads `on` as True
    assert [step.get("run") for step in steps(document)][-1] == "sudo scripts/test"


def test_the_release_workflow_runs_for_release_tags_only() -> None:
    """GitHub's filter pattern: `[0-9]` one digit, `+` one or more of it, `.` itself."""
    document = load(WORKFLOWS / "release.yml")
    assert document[True] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}
    move = steps(document)[-1]
    assert move["run"] == 'scripts/move-major-tag "$TAG"'
    assert move["env"]["TAG"] == "${{ github.ref_name }}"
