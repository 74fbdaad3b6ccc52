"""The reusable workflows' route job: `python3 -m toto_actions.workflows.route`, run as the job
runs it (the machine's python3, the toolkit's checkout on PYTHONPATH, nothing installed), maps
the caller's event to the job that runs and its environment."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

# The system interpreter, without the test virtualenv: the module needs the standard library only.
SYSTEM_PYTHON = "/usr/bin/python3"
MICROSERVICE_ENVIRONMENTS = "dev=feature/**,main;prod=release/**"


@dataclass(frozen=True)
class Routed:
    exit_code: int
    stdout: str
    outputs: dict[str, str]


def route(tmp_path: Path, kind: str, event: Mapping[str, str], **inputs: str) -> Routed:
    output_file = tmp_path / "github_output"
    output_file.write_text("", encoding="utf-8")
    environment = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO_ROOT),
        "GITHUB_OUTPUT": str(output_file),
        "TOTO_KIND": kind,
        "TOTO_SERVICE": "toto-ms-x",
        "TOTO_ENVIRONMENTS": MICROSERVICE_ENVIRONMENTS
        if kind == "microservice"
        else "dev=main;prod=prod",
        **{f"TOTO_{name.upper()}": value for name, value in inputs.items()},
        **event,
    }
    completed = subprocess.run(
        [SYSTEM_PYTHON, "-m", "toto_actions.workflows.route"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert completed.stderr == ""
    lines = output_file.read_text(encoding="utf-8").splitlines()
    outputs = dict(line.split("=", 1) for line in lines)
    return Routed(completed.returncode, completed.stdout, outputs)


def push(branch: str) -> dict[str, str]:
    return {"GITHUB_EVENT_NAME": "push", "GITHUB_REF": f"refs/heads/{branch}"}


@pytest.mark.parametrize(
    ("kind", "event", "run", "environment"),
    [
        ("microservice", push("feature/login"), "deploy", "dev"),
        ("microservice", push("main"), "deploy", "dev"),
        ("microservice", push("release/2.0"), "deploy", "prod"),
        ("core", push("main"), "apply", "dev"),
        ("core", push("prod"), "apply", "prod"),
        (
            "microservice",
            {
                "GITHUB_EVENT_NAME": "pull_request",
                "GITHUB_REF": "refs/pull/7/merge",
                "GITHUB_BASE_REF": "release/2.0",
            },
            "plan",
            "prod",
        ),
        (
            "microservice",
            {**push("main"), "GITHUB_EVENT_NAME": "workflow_dispatch"},
            "deploy",
            "dev",
        ),
        (
            "microservice",
            {
                **push("release/1"),
                "GITHUB_EVENT_NAME": "workflow_dispatch",
                "TOTO_REDEPLOY": "true",
            },
            "redeploy",
            "prod",
        ),
        (
            "microservice",
            {
                **push("main"),
                "GITHUB_EVENT_NAME": "repository_dispatch",
                "TOTO_DISPATCH_ENVIRONMENT": "prod",
            },
            "redeploy-dispatch",
            "prod",
        ),
    ],
)
def test_the_event_chooses_the_job_and_its_environment(
    tmp_path: Path, kind: str, event: dict[str, str], run: str, environment: str
) -> None:
    routed = route(tmp_path, kind, event)
    assert routed.exit_code == 0, routed.stdout
    assert routed.outputs["run"] == run
    assert routed.outputs["environment"] == environment
    assert routed.outputs["plan-environment"] == f"{environment}-plan"


def test_a_deploy_names_the_environments_branches_image_repository_and_caller_file(
    tmp_path: Path,
) -> None:
    routed = route(
        tmp_path,
        "microservice",
        {
            **push("release/3"),
            "GITHUB_WORKFLOW_REF": "acme/x/.github/workflows/ci.yml@refs/heads/release/3",
        },
        reviewed="prod",
    )
    assert routed.outputs["branches"] == "release/**"
    assert routed.outputs["image-repository"] == "toto-ms-x/prod"
    assert routed.outputs["reviewed"] == "true"
    assert routed.outputs["workflow-file"] == "ci.yml"
    shared = route(tmp_path, "microservice", push("main"), image_repository="shared")
    assert (shared.outputs["image-repository"], shared.outputs["reviewed"]) == (
        "toto-ms-x",
        "false",
    )


def test_a_schedule_checks_every_environment_for_drift(tmp_path: Path) -> None:
    routed = route(
        tmp_path, "microservice", {"GITHUB_EVENT_NAME": "schedule", "GITHUB_REF": "refs/heads/main"}
    )
    assert routed.outputs["run"] == "drift"
    assert json.loads(routed.outputs["environments"]) == [
        {"name": "dev", "plan": "dev-plan", "image-repository": "toto-ms-x/dev"},
        {"name": "prod", "plan": "prod-plan", "image-repository": "toto-ms-x/prod"},
    ]


@pytest.mark.parametrize(
    ("event", "notice"),
    [
        (push("hotfix/1"), "no environment claims branch 'hotfix/1': nothing runs on it"),
        (
            {"GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/tags/v1"},
            "refs/tags/v1 is not a branch: nothing to deploy",
        ),
        (
            {
                "GITHUB_EVENT_NAME": "pull_request",
                "GITHUB_REF": "refs/pull/1/merge",
                "GITHUB_BASE_REF": "develop",
            },
            "no environment claims branch 'develop': nothing runs into it",
        ),
    ],
)
def test_a_ref_no_environment_claims_runs_nothing_with_a_notice(
    tmp_path: Path, event: dict[str, str], notice: str
) -> None:
    routed = route(tmp_path, "microservice", event)
    assert routed.exit_code == 0
    assert routed.stdout == f"::notice title=Nothing to run::{notice}\n"
    assert routed.outputs["run"] == routed.outputs["environment"] == ""


@pytest.mark.parametrize(
    ("inputs", "event", "error"),
    [
        (
            {"environments": "dev"},
            push("main"),
            "environments 'dev': 'dev' is not ENV=BRANCH[,BRANCH...] "
            "(example: dev=main,feature/**;prod=release/**)",
        ),
        (
            {"environments": "dev=main;prod=m*"},
            push("main"),
            "branch patterns 'main' (dev) and 'm*' (prod) can match the same branch: a push must "
            "deploy to one environment",
        ),
        (
            {"image_repository": "one"},
            push("main"),
            "image-repository 'one' is not one of environment, shared",
        ),
        (
            {"reviewed": "staging"},
            push("main"),
            "require-reviewed-plan: 'staging' is not one of the environments (dev, prod)",
        ),
        (
            {},
            {
                **push("main"),
                "GITHUB_EVENT_NAME": "repository_dispatch",
                "TOTO_DISPATCH_ENVIRONMENT": "qa",
            },
            "the dispatch names environment 'qa', which this workflow does not deploy",
        ),
    ],
)
def test_bad_input_is_one_error_exit_2_and_no_output(
    tmp_path: Path, inputs: dict[str, str], event: dict[str, str], error: str
) -> None:
    routed = route(tmp_path, "microservice", event, **inputs)
    assert (routed.exit_code, routed.outputs) == (2, {})
    assert routed.stdout == f"::error title=Bad workflow input::{error}\n"
