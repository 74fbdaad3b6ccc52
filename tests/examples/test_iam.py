"""examples/iam: every permission policy passes parliament (every action known, nothing of
medium severity or more), and every trust policy is pinned to one audience and to subjects that
name a GitHub environment, or an HCP Terraform workspace's run phase."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tests.examples.layout import CORE, IAM, PLAIN, REPOSITORIES, resources

with warnings.catch_warnings():  # parliament imports pkg_resources, which warns that it goes
    warnings.simplefilter("ignore")
    from parliament import analyze_policy_string, enhance_finding  # type: ignore[import-untyped]

PERMISSIONS = sorted(IAM.glob("permissions-*.json"))
GITHUB_TRUSTS = ("trust-core-apply.json", "trust-service-deploy.json", "trust-plan.json")
HCP_TRUSTS = {"trust-hcp-workspace-apply.json": "apply", "trust-hcp-workspace-plan.json": "plan"}
GITHUB_PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
HCP_PROVIDER = "arn:aws:iam::123456789012:oidc-provider/app.terraform.io"
ENVIRONMENT_SUBJECT = re.compile(r"repo:acme/toto-(?:core|ms-orders):environment:[a-z-]+")
UNKNOWN = {"UNKNOWN_ACTION", "UNKNOWN_PREFIX"}
TOLERATED = {"LOW", "INFO"}


def findings(policy: str) -> list[tuple[str, str, str]]:
    """(severity, issue, detail) of each finding of parliament's own auditors (its community
    auditors flag what these roles exist for: an ECR login token, passing the task roles)."""
    analysed = analyze_policy_string(policy)
    return [
        (found.severity, found.issue, str(found.detail))
        for found in map(enhance_finding, analysed.findings)
    ]


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def test_every_policy_file_is_there() -> None:
    expected = {
        *GITHUB_TRUSTS,
        *HCP_TRUSTS,
        "permissions-core-apply.json",
        "permissions-service-deploy.json",
        "permissions-plan.json",
        "permissions-hcp-workspace.json",
        "permissions-hcp-core-workspace.json",
        "permissions-hcp-workspace-plan.json",
    }
    assert {path.name for path in IAM.glob("*.json")} == expected


@pytest.mark.parametrize("path", PERMISSIONS, ids=lambda path: path.name)
def test_permissions_pass_parliament(path: Path) -> None:
    found = findings(path.read_text(encoding="utf-8"))
    assert [f for f in found if f[1] in UNKNOWN or f[0] not in TOLERATED] == []


def test_parliament_finds_an_unknown_action_and_a_mismatched_resource() -> None:
    """The audit above can fail: it reports a misspelt action, and an object action given a
    bucket."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ecr:PushImage", "Resource": "*"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket"},
        ],
    }
    issues = {(severity, issue) for severity, issue, _ in findings(json.dumps(policy))}
    assert issues == {("LOW", "UNKNOWN_ACTION"), ("MEDIUM", "RESOURCE_MISMATCH")}


def _statement(path: Path) -> dict[str, Any]:
    document = load(path)
    assert document["Version"] == "2012-10-17"
    (statement,) = document["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRoleWithWebIdentity")
    return statement  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", GITHUB_TRUSTS)
def test_github_trust_is_pinned_to_environments(name: str) -> None:
    statement = _statement(IAM / name)
    assert statement["Principal"] == {"Federated": GITHUB_PROVIDER}
    assert list(statement["Condition"]) == ["StringEquals"]
    pinned = statement["Condition"]["StringEquals"]
    assert set(pinned) == {
        "token.actions.githubusercontent.com:aud",
        "token.actions.githubusercontent.com:sub",
    }
    assert pinned["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    subjects = pinned["token.actions.githubusercontent.com:sub"]
    subjects = [subjects] if isinstance(subjects, str) else subjects
    assert subjects
    assert all(ENVIRONMENT_SUBJECT.fullmatch(subject) for subject in subjects), subjects
    plan = name == "trust-plan.json"
    assert all(subject.endswith("-plan") == plan for subject in subjects), subjects


@pytest.mark.parametrize(("name", "phase"), HCP_TRUSTS.items())
def test_hcp_trust_is_pinned_to_a_workspace_run_phase(name: str, phase: str) -> None:
    statement = _statement(IAM / name)
    assert statement["Principal"] == {"Federated": HCP_PROVIDER}
    assert statement["Condition"] == {
        "StringEquals": {
            "app.terraform.io:aud": "aws.workload.identity",
            "app.terraform.io:sub": "organization:acme:project:Default Project:"
            f"workspace:toto-ms-orders-dev:run_phase:{phase}",
        }
    }


def _actions(name: str) -> set[str]:
    actions: set[str] = set()
    for statement in load(IAM / name)["Statement"]:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


@pytest.mark.parametrize("name", ["permissions-plan.json", "permissions-hcp-workspace-plan.json"])
def test_plan_roles_only_read(name: str) -> None:
    """The plan roles (GitHub's <env>-plan, HCP's plan phase) write nothing: no state lock, no
    push, no change."""
    readers = re.compile(r"\w+:(Describe|Get|List|BatchGet|BatchCheckLayerAvailability)\w*")
    assert [action for action in _actions(name) if not readers.fullmatch(action)] == []


def test_the_hcp_roles_are_the_github_roles_without_the_s3_state() -> None:
    """On HCP Terraform the state lives in the workspace: the workspace roles are the cli
    engine's statements for the resources, without those for the S3 state and its lock."""
    for hcp, github in (
        ("permissions-hcp-core-workspace.json", "permissions-core-apply.json"),
        ("permissions-hcp-workspace-plan.json", "permissions-plan.json"),
    ):
        kept = load(IAM / hcp)["Statement"]
        assert kept and all(s in load(IAM / github)["Statement"] for s in kept), hcp
        assert not any(action.startswith("s3:") for action in _actions(hcp)), hcp


def test_the_task_roles_are_passed_to_ecs_tasks_only() -> None:
    for name in ("permissions-service-deploy.json", "permissions-hcp-workspace.json"):
        (passing,) = [s for s in load(IAM / name)["Statement"] if s["Action"] == "iam:PassRole"]
        assert passing["Condition"] == {
            "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
        }
        assert passing["Resource"] == [
            f"arn:aws:iam::123456789012:role/{name}"
            for name in _core_role_names(workspace="toto-core-dev")
        ]


def _core_role_names(workspace: str) -> list[str]:
    """The task roles' names examples/core gives them in that workspace (the cli engine's)."""
    roles = [body["name"] for kind, _, body in resources(CORE) if kind == "aws_iam_role"]
    return [role.replace("${local.name}", workspace) for role in roles]


def _backend(repository: str) -> dict[str, Any]:
    path = REPOSITORIES / repository / "terraform/backend.s3.tfbackend"
    with path.open(encoding="utf-8") as file:
        settings: dict[str, Any] = hcl2.load(file, serialization_options=PLAIN)
    return settings


def _state_object(repository: str, service: str) -> str:
    """The dev workspace's state object, where the backend file puts it."""
    backend = _backend(repository)
    return (
        f"arn:aws:s3:::{backend['bucket']}/{backend['workspace_key_prefix']}/"
        f"{service}-dev/{backend['key']}"
    )


@pytest.mark.parametrize(
    ("name", "repository", "service"),
    [
        ("permissions-core-apply.json", "core", "toto-core"),
        ("permissions-service-deploy.json", "service", "toto-ms-orders"),
    ],
)
def test_apply_roles_write_the_state_and_its_lock_file(
    name: str, repository: str, service: str
) -> None:
    backend = _backend(repository)
    assert backend["use_lockfile"] is True
    assert "dynamodb_table" not in backend
    state = _state_object(repository, service)
    granted = {
        resource: set(statement["Action"])
        for statement in load(IAM / name)["Statement"]
        if statement["Action"] != "s3:ListBucket"
        for resource in [statement["Resource"]]
        if str(resource).startswith("arn:aws:s3:::")
    }
    assert granted == {
        state: {"s3:GetObject", "s3:PutObject"},
        f"{state}.tflock": {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
    }


def test_plan_role_reads_both_states_and_takes_no_lock() -> None:
    (reading,) = [
        statement
        for statement in load(IAM / "permissions-plan.json")["Statement"]
        if statement["Action"] == "s3:GetObject"
    ]
    assert reading["Resource"] == [
        _state_object("core", "toto-core"),
        _state_object("service", "toto-ms-orders"),
    ]


def test_the_deploy_role_pushes_to_the_repository_the_workflow_names(
    inline_service_workflow: dict[str, Any],
) -> None:
    """ECR is scoped to the dev environment's own image repository, <service>/dev."""
    steps = inline_service_workflow["jobs"]["deploy-dev"]["steps"]
    (build,) = [s for s in steps if s.get("uses", "").startswith("toto/actions/actions/build-push")]
    repository = build["with"]["repository"]
    assert repository == "toto-ms-orders/dev"
    arn = f"arn:aws:ecr:eu-west-1:123456789012:repository/{repository}"
    for name in ("permissions-service-deploy.json", "permissions-plan.json"):
        scoped = [s for s in load(IAM / name)["Statement"] if s["Sid"].startswith("EcrR")]
        assert [s["Resource"] for s in scoped] == [arn], name
