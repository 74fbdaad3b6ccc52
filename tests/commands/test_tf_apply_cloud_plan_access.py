"""tf-apply on HCP Terraform with the tokens a team gives its jobs, which are not workspace admins.

The stand-in answers as HashiCorp documents it (testing/tfc/permissions.py):
- developer.hashicorp.com/terraform/cloud-docs/api-docs/plans, "Retrieve the JSON execution
  plan": `json-output` needs "a user token or team token that has admin level access to the
  workspace"; others get 404.
- Terraform reads `GET /plans/:id/json-output-redacted` with the token that reads the run
  (hashicorp/terraform internal/cloud/backend_show.go, backend_common.go readRedactedPlan): its
  `resource_changes` and `resource_drift` are the JSON plan's (internal/command/jsonformat/
  plan.go), with `plan_format_version` in place of `format_version`.
- .../api-docs/run, "Discard a Run" and "Cancel a Run": both need "permission to apply runs for
  the workspace"; cancel answers 404 "Run was not found or user not authorized".
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.github.server import GitHubServer
from testing.local_stack import MotoServer
from testing.terraform_configurations import (
    AWS_PROVIDER_CLI_CONFIG,
    CLOUD_CONFIG,
    SLOW_RESOURCE,
    drifting_resources,
)
from testing.tf_apply_step import outputs_of
from testing.tfc.model import WorkspaceAccess
from testing.tfc.server import TfcServer
from tests.commands.test_tf_apply_cloud import ORG, TOKEN, Service, _first_run, _started_step
from tests.commands.test_tf_apply_pr_comment import (
    COMMENTS,
    HEAD,
    MERGE,
    REPOSITORY,
    event_env,
    plan_job_github,
)
from tests.commands.test_tf_apply_pr_comment import TOKEN as GITHUB_TOKEN
from tests.conftest import CliRunner
from toto_actions.terraform.plan import PlanSummary
from toto_actions.terraform.plan_comment import CommentContext, plan_comment

WORKSPACE = "toto-ms-x-dev"
JSON_OUTPUT = "/api/v2/plans/:plan_id/json-output"
REDACTED = "/api/v2/plans/:plan_id/json-output-redacted"
EMPTY_LIST_DIGEST = hashlib.sha256(b"").hexdigest()
UNKNOWN = "reading the plan needs read-runs access to the workspace"


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    with plan_job_github() as server:
        yield server


def tfc_server(access: WorkspaceAccess, cli_config: str = "") -> TfcServer:
    """A started stand-in whose one token has that permission set on every workspace."""
    server = TfcServer(step_seconds=0.02, state_processing_seconds=0.3, cli_config=cli_config)
    server.start()
    server.add_organization(ORG)
    server.add_token(TOKEN, "team", access=access)
    return server


@pytest.fixture
def admin_then(tmp_path: Path, cli: CliRunner) -> Iterator[tuple[TfcServer, Service]]:
    """A service whose workspace holds its applied state; the token can then be lowered with
    `tfc.add_token(TOKEN, access=...)`."""
    tfc = tfc_server("admin")
    try:
        tfc.add_workspace(ORG, WORKSPACE)
        root = tmp_path / WORKSPACE
        root.mkdir()
        service = Service(root, cli, tfc, WORKSPACE)
        applied = service()
        assert applied.exit_code == 0, applied.stdout + applied.stderr
        yield tfc, service
        assert tfc.errors == []
    finally:
        tfc.stop()


def _comment_body(github: GitHubServer) -> str:
    [comment] = github.comments(REPOSITORY, 12)
    body: str = comment["body"]
    return body


def test_a_plan_token_s_comment_lists_the_resources_of_the_redacted_plan(
    admin_then: tuple[TfcServer, Service], github: GitHubServer, tmp_path: Path
) -> None:
    """The README's `<env>-plan` token can plan but is no workspace admin: json-output is
    refused (404), and the redacted plan names the resources, as Terraform reads it."""
    tfc, service = admin_then
    tfc.add_token(TOKEN, "team", access="plan")
    tfc.clear_requests()
    result = service(
        "--plan-only", "true", "--var", "generation=2", env=event_env(tmp_path, github)
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert [r.status for r in tfc.requests_to(JSON_OUTPUT)] == [404]
    assert [r.status for r in tfc.requests_to(REDACTED)] == [307]
    body = _comment_body(github)
    assert "**1 to add, 0 to change, 1 to destroy.**" in body
    assert "- `terraform_data.generation`" in body
    assert "toto-actions:changes v2 sha256=" in body
    assert EMPTY_LIST_DIGEST not in body
    assert "warning" not in result.stderr


def test_with_both_plans_refused_the_comment_says_the_resources_are_unknown(
    admin_then: tuple[TfcServer, Service], github: GitHubServer, tmp_path: Path
) -> None:
    """Only when the redacted plan is refused too: the resources are unknown, not none, and
    the comment records no digest that an apply could match."""
    tfc, service = admin_then
    tfc.add_token(TOKEN, "team", access="plan")
    tfc.fail_path(r"/json-output-redacted$", 404, times=None)
    result = service(
        "--plan-only", "true", "--var", "generation=2", env=event_env(tmp_path, github)
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    body = _comment_body(github)
    assert f"The resources are unknown: {UNKNOWN}." in body
    assert "toto-actions:changes" not in body
    assert "terraform_data.generation" not in body
    assert f"): {UNKNOWN}\n" in result.stderr
    assert result.stderr.startswith("warning: the plan's resources are unknown (JSON plan ")


def test_an_apply_whose_resources_are_unknown_is_not_taken_for_the_reviewed_plan(
    admin_then: tuple[TfcServer, Service], github: GitHubServer
) -> None:
    """A pull request's comment made when the plan could not be read recorded the digest of an
    empty list; an apply whose plan cannot be read either must not match it."""
    tfc, service = admin_then
    tfc.add_token(TOKEN, "team", access="write")  # applies, and is no workspace admin
    tfc.fail_path(r"/json-output-redacted$", 404, times=None)
    empty = plan_comment(PlanSummary(0, 0, 0, ()), CommentContext(WORKSPACE, HEAD, "x", False))
    assert f"sha256={EMPTY_LIST_DIGEST}" in empty
    github.add_comment(REPOSITORY, 12, empty, user="github-actions[bot]", kind="Bot")
    github.add_pull_request(REPOSITORY, 12, HEAD, "main", merge_commit_sha=MERGE)
    github.clear_requests()
    env = {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_SHA": MERGE,
        "INPUT_GITHUB-TOKEN": GITHUB_TOKEN,
        "INPUT_GITHUB-API-URL": github.url,
    }
    result = service("--var", "image_tag=v2", "--require-reviewed-plan", "true", env=env)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr.endswith(
        "error: the changes of 6eed00000000 cannot be compared with its reviewed plan: the "
        f"plan's resources are unknown ({UNKNOWN}): not applied (require-reviewed-plan is "
        "true)\n"
    )
    assert tfc.run_status(outputs_of(result)["run-id"]) == "discarded"
    assert tfc.workspace_state_outputs(ORG, WORKSPACE)["image_tag"]["value"] == "v1"
    assert COMMENTS not in [r.route for r in github.requests]


def test_a_plan_token_s_drift_check_reads_the_redacted_plan_and_unknown_drift_is_pending(
    tmp_path: Path, cli: CliRunner, moto_server: MotoServer
) -> None:
    """A refresh-only plan counts none of its drift (0 to add, change, destroy): the drift is
    read from the redacted plan's resource_drift. With both plans refused it is unknown, and
    the plan's has-changes decides: HCP's plans API does not document has-changes for a
    refresh-only plan, so only a plan that says it has none passes (the stand-in says what
    terraform's -detailed-exitcode said)."""
    tfc = tfc_server("plan", cli_config=AWS_PROVIDER_CLI_CONFIG)
    try:
        tfc.add_workspace(ORG, "core-dev", environment=moto_server.env)
        tfc.add_token("admin-token", "team")
        root = tmp_path / "core-dev"
        root.mkdir()
        core = Service(root, cli, tfc, "core-dev")
        parameter = f"/toto/drift-{uuid.uuid4().hex[:8]}"
        (root / "drift.tf").write_text(drifting_resources(parameter), encoding="utf-8")
        assert core(env={"TF_API_TOKEN": "admin-token"}).exit_code == 0
        moto_server.boto3_client("ssm").put_parameter(
            Name=parameter, Value="changed-by-hand", Type="String", Overwrite=True
        )
        summary = tmp_path / "summary.md"
        summary.touch()
        env = {"GITHUB_STEP_SUMMARY": str(summary)}
        drift_check = ("--plan-only", "true", "--refresh-only", "true")
        drifted = core(*drift_check, "--detailed-exitcode", "true", env=env)
        assert drifted.exit_code == 3, drifted.stdout + drifted.stderr
        assert "| changed | `aws_ssm_parameter.drift` |" in summary.read_text(encoding="utf-8")
        assert "planned: 1 changed outside Terraform" in drifted.stdout
        tfc.fail_path(r"/json-output-redacted$", 404, times=None)
        unknown = core(*drift_check, "--detailed-exitcode", "true", env=env)
        assert unknown.exit_code == 3, unknown.stdout + unknown.stderr
        assert f"): {UNKNOWN}\n" in unknown.stderr
        assert "planned: unknown resources changed outside Terraform" in unknown.stdout
        assert (
            f"**Unknown drift: the plan says it has changes, but {UNKNOWN}.**"
            in summary.read_text(encoding="utf-8")
        )
        assert tfc.errors == []
    finally:
        tfc.stop()


def test_a_refused_discard_leaves_the_timeout_as_the_error(tmp_path: Path, cli: CliRunner) -> None:
    """A token that may not apply runs may not discard or cancel them (run API): on a timeout
    the refusal is a warning, and the error is still the timeout. The run waits in the queue
    behind another run that applies."""
    tfc = tfc_server("plan")
    try:
        tfc.add_workspace(ORG, WORKSPACE)
        tfc.add_token("admin-token", "team")
        root = tmp_path / WORKSPACE
        root.mkdir()
        service = Service(root, cli, tfc, WORKSPACE)
        admin = Service(root, cli, tfc, WORKSPACE)
        admin.env["TF_API_TOKEN"] = "admin-token"
        (root / "main.tf").write_text(CLOUD_CONFIG + SLOW_RESOURCE, encoding="utf-8")
        applying = _started_step(admin, "--var", "delay=8")
        holder = _first_run(tfc, WORKSPACE)
        assert tfc.wait_for_run(holder, {"applying"}, timeout=60) == "applying"
        result = service("--queue-timeout", "1")
        assert result.exit_code == 1, result.stdout + result.stderr
        [run] = [run for run in tfc.runs(ORG, WORKSPACE) if run.id != holder]
        lines = result.stderr.splitlines()
        assert lines[-1] == (
            f"error: run {run.id} timed out in its queue phase after 1 s (status pending)"
        )
        assert (
            f"warning: run {run.id} could not be discarded (discard {run.id}: 404 not found): "
            "discarding a run needs permission to apply runs in the workspace"
        ) in lines
        discards = tfc.requests_to("/api/v2/runs/:run_id/actions/discard")
        assert [r.status for r in discards] == [404]  # not asked again on release
        applying.communicate(timeout=60)
        assert applying.returncode == 0
        assert tfc.errors == []
    finally:
        tfc.stop()
