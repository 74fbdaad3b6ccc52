"""The reusable workflows this repository publishes (.github/workflows/toto-<kind>.yml): rendered
from the templates of the inline workflows, one job of each kind for every environment.

actionlint, zizmor and the schema run on them with the repository's own workflows
(test_own_workflows.py); here: that they are the templates' render, and what their jobs are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT
from toto_actions.workflows.published import published_workflows
from toto_actions.workflows.reusable import TOOLKIT_PATH, inputs_of, secrets_of
from toto_actions.workflows.settings import DEFAULT_CORE_SECRETS


def load(path: Path) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def published(kind: str) -> dict[Any, Any]:
    return load(REPO_ROOT / ".github" / "workflows" / f"toto-{kind}.yml")


@pytest.mark.parametrize("workflow", published_workflows(), ids=lambda w: w.path.name)
def test_the_committed_file_is_the_templates_render(workflow: Any) -> None:
    committed = (REPO_ROOT / workflow.path).read_text(encoding="utf-8")
    assert committed == workflow.content, (
        f"{workflow.path} differs from the templates: run scripts/render-reusable-workflows"
    )


@pytest.mark.parametrize(
    ("kind", "jobs"),
    [
        (
            "microservice",
            ["route", "test", "deploy", "redeploy-dispatch", "redeploy", "plan", "drift"],
        ),
        ("core", ["route", "apply", "plan", "drift"]),
    ],
)
def test_one_job_of_each_kind_after_the_route(kind: str, jobs: list[str]) -> None:
    document = published(kind)
    assert list(document["jobs"]) == jobs
    for name, job in document["jobs"].items():
        if name != "route":
            assert "route" in ([job["needs"]] if isinstance(job["needs"], str) else job["needs"])


@pytest.mark.parametrize("kind", ["microservice", "core"])
def test_inputs_and_secrets_are_declared_as_the_tables_say(kind: str) -> None:
    call = published(kind)[True]["workflow_call"]  # PyYAML reads `on` as True
    assert list(call["inputs"]) == [entry.name for entry in inputs_of(kind)]
    for entry in inputs_of(kind):
        declared = call["inputs"][entry.name]
        assert declared["type"] == entry.type
        default = entry.default_for(kind)
        assert declared.get("required", False) is (default is None)
        assert declared.get("default") == default
    assert list(call["secrets"]) == [s.name for s in secrets_of(kind, DEFAULT_CORE_SECRETS)]
    assert all(
        secret == {"description": secret["description"], "required": False}
        for secret in call["secrets"].values()
    )


def test_the_jobs_environment_and_concurrency_come_from_the_route() -> None:
    jobs = published("microservice")["jobs"]
    for name in ("deploy", "redeploy"):
        assert jobs[name]["environment"] == "${{ needs.route.outputs.environment }}"
        assert jobs[name]["concurrency"] == {
            "group": "${{ inputs.service }}-${{ needs.route.outputs.environment }}",
            "cancel-in-progress": False,
        }
    assert jobs["plan"]["environment"] == "${{ needs.route.outputs.plan-environment }}"
    assert jobs["drift"]["strategy"]["matrix"] == {
        "environment": "${{ fromJSON(needs.route.outputs.environments) }}"
    }
    assert jobs["drift"]["environment"] == "${{ matrix.environment.plan }}"


def test_the_test_job_reads_the_service_only_and_the_deploy_needs_it() -> None:
    jobs = published("microservice")["jobs"]
    test = jobs["test"]
    assert test["permissions"] == {"contents": "read"}
    assert "environment" not in test
    assert test["steps"][-1]["env"] == {"TEST_COMMAND": "${{ inputs.test-command }}"}
    assert jobs["deploy"]["needs"] == ["route", "test"]
    assert (
        "needs.test.result == 'success' || needs.test.result == 'skipped'" in jobs["deploy"]["if"]
    )


@pytest.mark.parametrize("kind", ["microservice", "core"])
def test_every_toolkit_action_runs_from_the_workflows_own_commit(kind: str) -> None:
    """Each job that runs a toolkit action checks the toolkit out at job.workflow_sha first."""
    for name, job in published(kind)["jobs"].items():
        uses = [str(step.get("uses", "")) for step in job["steps"]]
        local = [i for i, step in enumerate(uses) if step.startswith(f"./{TOOLKIT_PATH}/")]
        if not local and name != "route":
            continue
        checkout = next(
            step for step in job["steps"] if step.get("with", {}).get("path") == TOOLKIT_PATH
        )
        assert checkout["with"]["repository"] == "${{ job.workflow_repository || 'toto/actions' }}"
        assert checkout["with"]["ref"] == "${{ job.workflow_sha || 'v1' }}"
        assert checkout["with"]["persist-credentials"] is False
        assert all(job["steps"].index(checkout) < i for i in local)
        assert not [u for u in uses if u.startswith("toto/actions/")], name
