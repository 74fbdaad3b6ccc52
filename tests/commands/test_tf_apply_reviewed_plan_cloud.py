"""The reviewed plan on HCP Terraform: the pull request's plan job, whose team token is no
workspace admin, reads the redacted plan (json-output answers it 404); the apply, with an admin
token, reads the JSON plan. Both give one digest of the same planned values, a sensitive one
included: an unchanged configuration still matches across the two sources.

Sources: developer.hashicorp.com/terraform/cloud-docs/api-docs/plans ("Retrieve the JSON
execution plan" needs admin access); hashicorp/terraform internal/cloud/backend_show.go (the
redacted plan, read with the token that reads the run) and internal/command/jsonformat/plan.go
(its `resource_changes`, with `after`, `after_sensitive` and `after_unknown`).
"""

from __future__ import annotations

from pathlib import Path

from testing.github.server import GitHubServer
from testing.tf_apply_step import outputs_of
from testing.tfc.server import TfcServer
from tests.commands.test_tf_apply_cloud import TOKEN, Service
from tests.commands.test_tf_apply_cloud_plan_access import JSON_OUTPUT, REDACTED
from tests.commands.test_tf_apply_cloud_plan_access import (
    admin_then as admin_then,  # noqa: PLC0414 - the fixture
)
from tests.commands.test_tf_apply_cloud_plan_access import github as github  # noqa: PLC0414
from tests.commands.test_tf_apply_pr_comment import HEAD, MERGE, REPOSITORY, event_env, push_env
from tests.commands.test_tf_apply_reviewed_plan import RUN_ID, WORKFLOW

SENSITIVE_RESOURCE = 'resource "terraform_data" "key" {\n  input = sensitive("s3cr3t-api-key")\n}\n'


def test_the_redacted_plan_reviewed_and_the_json_plan_applied_match(
    admin_then: tuple[TfcServer, Service], github: GitHubServer, tmp_path: Path
) -> None:
    tfc, service = admin_then
    main = service.root / "main.tf"
    main.write_text(main.read_text(encoding="utf-8") + SENSITIVE_RESOURCE, encoding="utf-8")
    tfc.add_token(TOKEN, "team", access="plan")  # the plan environment's token
    tfc.clear_requests()
    started = github.now()
    planned = service("--plan-only", "true", env=event_env(tmp_path, github))
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    assert [r.status for r in tfc.requests_to(JSON_OUTPUT)] == [404]
    assert [r.status for r in tfc.requests_to(REDACTED)] == [307]  # to the archivist
    [comment] = github.comments(REPOSITORY, 12)
    assert "<!-- toto-actions:changes v2 sha256=" in comment["body"]
    assert "s3cr3t-api-key" not in comment["body"]
    github.add_workflow_run(
        REPOSITORY, RUN_ID, HEAD, path=WORKFLOW, head_branch="feature", started_at=started
    )
    github.add_pull_request(REPOSITORY, 12, HEAD, "main", merge_commit_sha=MERGE)

    tfc.add_token(TOKEN, "team", access="admin")  # the apply environment's token
    tfc.clear_requests()
    env = push_env(tmp_path, github)
    result = service(env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert outputs_of(result)["status"] == "applied"
    assert [r.status for r in tfc.requests_to(JSON_OUTPUT)] == [307]
    assert tfc.requests_to(REDACTED) == []
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert "The changes applied are the ones reviewed in #12." in summary
