"""The reviewed plan is bound to what was reviewed: an apply counts only the plan comment that
the plan job's identity wrote, that names the run that wrote it, and that run is a
`pull_request` run of the apply's own workflow file for the merged pull request's head commit;
its digest covers the planned values. Real terraform (cli engine, S3 state on moto), the
stand-in GitHub on loopback.

What the stand-in answers, and where it comes from:
- an issue comment's `user` (GitHub's OpenAPI description, issue-comment: nullable-simple-user,
  `login` and `type`): a workflow's GITHUB_TOKEN writes as `github-actions[bot]`, type Bot;
- GET /repos/{owner}/{repo}/actions/runs/{run_id} (operation actions/get-workflow-run, schema
  workflow-run): `path`, `event`, `head_sha`, `head_branch`, `head_repository`, and
  `pull_requests`, "Pull requests that are open with a `head_sha` or `head_branch` that matches
  the workflow run": empty once merged (con/tinuous#28, reproduced by GitHub staff) and without
  a fork's (github/docs#22501); it needs Actions: read (github/docs
  src/github-apps/data/fpt-2022-11-28/server-to-server-permissions.json, get-a-workflow-run).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from testing.github.server import GitHubServer
from testing.tf_apply_step import outputs_of
from tests.commands.test_tf_apply_cli import STATE_KEY, Core
from tests.commands.test_tf_apply_pr_comment import (
    APPLY_TOKEN,
    HEAD,
    MERGE,
    REPOSITORY,
    TOKEN,
    applied,
    event_env,
    plan,
    plan_job_github,
    push_env,
)
from tests.commands.test_tf_apply_pr_comment import core as core  # noqa: PLC0414 - the fixture

RUN_ID = 4242  # the plan job's GITHUB_RUN_ID (event_env)
WORKFLOW = ".github/workflows/core.yml"  # the file of WORKFLOW_REF, the apply's
REFUSED = ": not applied (require-reviewed-plan is true)"
RUNS = "/repos/{owner}/{repo}/actions/runs/{run_id}"


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    """The stand-in GitHub with the plan job's token and the apply job's, APPLY_TOKEN: what the
    rendered deploy and apply jobs hold (contents: read, pull-requests: read, actions: read)."""
    with plan_job_github() as server:
        yield server


def reviewed(core: Core, github: GitHubServer, tmp_path: Path, *arguments: str) -> None:
    """The pull request #12 planned at HEAD by run RUN_ID of WORKFLOW (its comment posted), then
    merged into MERGE."""
    started = github.now()  # the run starts, its job plans and comments, the run completes
    plan(core, event_env(tmp_path, github), *arguments)
    github.add_workflow_run(
        REPOSITORY, RUN_ID, HEAD, path=WORKFLOW, head_branch="feature", started_at=started
    )
    github.add_pull_request(REPOSITORY, 12, HEAD, "main", merge_commit_sha=MERGE)


def refused_with(core: Core, github: GitHubServer, tmp_path: Path, reason: str) -> None:
    """The apply of MERGE is refused for reason, exit 1, and nothing is applied."""
    result = core(env=push_env(tmp_path, github))
    assert result.exit_code == 1, result.stdout + result.stderr
    assert f"error: {reason}{REFUSED}\n" in result.stderr, result.stderr
    assert outputs_of(result)["status"] == "refused"
    state = core.s3.get_object(Bucket=core.bucket, Key=STATE_KEY)
    assert json.loads(state["Body"].read())["resources"] == []


# -- false refusals: what was reviewed still applies ---------------------------------------------


def test_an_unchanged_configuration_planned_twice_matches(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    """The pull request planned twice (its comment then unchanged) and the merge commit's plan:
    three plans of one configuration, one digest of their values."""
    main = core.root / "main.tf"  # a sensitive attribute and unknown ones in the plan
    main.write_text(
        main.read_text(encoding="utf-8")
        + 'resource "terraform_data" "key" {\n  input = sensitive("s3cr3t-api-key")\n}\n',
        encoding="utf-8",
    )
    reviewed(core, github, tmp_path)
    [comment] = github.comments(REPOSITORY, 12)
    plan(core, event_env(tmp_path, github))
    assert github.comments(REPOSITORY, 12) == [comment]  # the same digest: not edited
    assert "<!-- toto-actions:changes v2 sha256=" in comment["body"]
    assert f"<!-- toto-actions:run id={RUN_ID} -->" in comment["body"]
    assert "s3cr3t-api-key" not in comment["body"]
    github.clear_requests()
    applied(core, github, tmp_path)
    assert RUNS in [r.route for r in github.requests]


def test_an_update_planned_twice_matches(core: Core, github: GitHubServer, tmp_path: Path) -> None:
    """An update's planned values hold the object's id and its known attributes: the same in
    the pull request's plan and the merge commit's."""
    assert core().exit_code == 0
    reviewed(core, github, tmp_path, "--var", "image_tag=v2")
    applied(core, github, tmp_path, "--var", "image_tag=v2")


# -- what is refused ------------------------------------------------------------------------------


def test_the_same_resources_changed_to_other_values_are_refused(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    """Reviewed: the image becomes v2; merged: v3. The same resource, the same action."""
    main = core.root / "main.tf"
    original = main.read_text(encoding="utf-8")
    main.write_text(original.replace('default = "v1"', 'default = "v2"'), encoding="utf-8")
    reviewed(core, github, tmp_path)
    main.write_text(original.replace('default = "v1"', 'default = "v3"'), encoding="utf-8")
    refused_with(core, github, tmp_path, "the changes differ from the plan reviewed in #12")


def test_another_bot_s_comment_with_the_marker_is_not_counted(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    """The comment is exactly the plan job's, copied by another app's bot."""
    with plan_job_github() as elsewhere:
        plan(core, event_env(tmp_path, elsewhere))
        [copied] = elsewhere.comments(REPOSITORY, 12)
    github.add_comment(REPOSITORY, 12, copied["body"], user="deploy-helper[bot]", kind="Bot")
    github.add_workflow_run(REPOSITORY, RUN_ID, HEAD, path=WORKFLOW, head_branch="feature")
    github.add_pull_request(REPOSITORY, 12, HEAD, "main", merge_commit_sha=MERGE)
    refused_with(
        core,
        github,
        tmp_path,
        "no reviewed plan found for commit 6eed00000000 (no plan comment on #12)",
    )


def test_two_comments_with_the_marker_are_refused(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    """A second comment of the plan job's identity (any workflow's GITHUB_TOKEN writes as it):
    which one was reviewed is unknown."""
    reviewed(core, github, tmp_path)
    [comment] = github.comments(REPOSITORY, 12)
    github.add_comment(REPOSITORY, 12, comment["body"], user="github-actions[bot]", kind="Bot")
    refused_with(
        core,
        github,
        tmp_path,
        "the plan comment on #12 is not trusted: #12 has 2 plan comments of this workspace",
    )


@pytest.mark.parametrize(
    ("run", "problem"),
    [
        (
            {"path": ".github/workflows/other.yml"},
            "is of the workflow .github/workflows/other.yml, not .github/workflows/core.yml",
        ),
        ({"head_sha": "7" * 40}, "planned 777777777777, not the pull request's head 5eed00000000"),
        ({"event": "push"}, "was started by push, not pull_request"),
        ({"head_branch": "other"}, "ran on the branch other, not feature"),
    ],
    ids=["another-workflow", "another-head-sha", "a-push-run", "another-branch"],
)
def test_a_comment_naming_another_run_is_refused(
    core: Core, github: GitHubServer, tmp_path: Path, run: dict[str, str], problem: str
) -> None:
    reviewed(core, github, tmp_path)
    seeded = {"path": WORKFLOW, "head_branch": "feature", "event": "pull_request"} | run
    github.add_workflow_run(
        REPOSITORY,
        RUN_ID,
        run.get("head_sha", HEAD),
        path=seeded["path"],
        head_branch=seeded["head_branch"],
        event=seeded["event"],
    )
    reason = f"the plan comment on #12 is not trusted: its run {RUN_ID} {problem}"
    refused_with(core, github, tmp_path, reason)


def test_a_run_that_lists_other_pull_requests_and_not_this_one_is_refused(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    """GitHub lists the open pull requests of the run's head commit or branch: #13, open on the
    same branch, is listed; the merged #12 is not, and that alone is no refusal (see the
    previous tests, which apply with the list empty), but a list without #12 is."""
    reviewed(core, github, tmp_path)
    github.add_pull_request(REPOSITORY, 13, "8" * 40, "main", head_ref="feature")
    reason = (
        f"the plan comment on #12 is not trusted: its run {RUN_ID} is of the pull requests #13, "
        "not #12"
    )
    refused_with(core, github, tmp_path, reason)


def test_a_comment_naming_no_run_is_refused(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    env = {k: v for k, v in event_env(tmp_path, github).items() if k != "GITHUB_RUN_ID"}
    plan(core, env)
    github.add_pull_request(REPOSITORY, 12, HEAD, "main", merge_commit_sha=MERGE)
    reason = "the plan comment on #12 is not trusted: it names no workflow run"
    refused_with(core, github, tmp_path, reason)


def test_a_comment_with_an_older_digest_is_refused_with_its_reason(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    """A comment a toto-actions before the values wrote: its digest of actions and addresses
    would match any values."""
    older_digest = hashlib.sha256(
        b"create terraform_data.generation\ncreate terraform_data.image\n"
    ).hexdigest()
    body = (
        "<!-- toto-actions:plan workspace=core-dev -->\n"
        f"<!-- toto-actions:changes sha256={older_digest} -->\n"
        "### Terraform plan: `core-dev`"
    )
    github.add_comment(REPOSITORY, 12, body, user="github-actions[bot]", kind="Bot")
    github.add_pull_request(REPOSITORY, 12, HEAD, "main", merge_commit_sha=MERGE)
    reason = (
        "the plan comment on #12 is not trusted: its digest is of an older toto-actions "
        "(format 1, without the planned values): plan the pull request again"
    )
    refused_with(core, github, tmp_path, reason)


def test_an_apply_token_without_actions_read_cannot_check_the_run(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    reviewed(core, github, tmp_path)
    github.add_token(APPLY_TOKEN, [REPOSITORY], {"contents": "read", "pull_requests": "read"})
    reason = (
        "the plan comment on #12 is not trusted: its run cannot be read (the workflow run "
        f"{RUN_ID}: GitHub answered 403 Resource not accessible by integration)"
    )
    refused_with(core, github, tmp_path, reason)


def test_a_comment_edited_after_its_run_is_refused(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    """Any job's GITHUB_TOKEN writes as github-actions[bot], so another workflow (a writer's,
    pushed on any branch) can edit the plan job's comment: its `updated_at` then falls after the
    run's end (issue-comment `updated_at`; workflow-run `run_started_at`, `updated_at`)."""
    reviewed(core, github, tmp_path)
    [comment] = github.comments(REPOSITORY, 12)
    main = core.root / "main.tf"  # what is merged: a resource the review never showed
    main.write_text(
        main.read_text(encoding="utf-8") + 'resource "terraform_data" "unreviewed" {}\n',
        encoding="utf-8",
    )
    with plan_job_github() as elsewhere:  # the writer computes that plan's digest
        plan(core, event_env(tmp_path, elsewhere))
        [wanted] = elsewhere.comments(REPOSITORY, 12)
    digest = re.compile(r"sha256=[0-9a-f]{64}")
    found = digest.search(wanted["body"])
    assert found is not None
    github.advance_clock(60)
    edited = digest.sub(found.group(0), comment["body"])
    assert edited != comment["body"]
    answer = requests.patch(
        f"{github.url}/repos/{REPOSITORY}/issues/comments/{comment['id']}",
        json={"body": edited},
        headers={"Authorization": f"token {TOKEN}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    [after] = github.comments(REPOSITORY, 12)
    assert after["updated_at"] > comment["updated_at"]
    result = core(env=push_env(tmp_path, github))
    assert result.exit_code == 1, result.stdout + result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert error.startswith(
        f"error: the plan comment on #12 is not trusted: its run {RUN_ID} ran from "
    )
    assert error.endswith(f", and the comment was last written at {after['updated_at']}{REFUSED}")
    state = core.s3.get_object(Bucket=core.bucket, Key=STATE_KEY)
    assert json.loads(state["Body"].read())["resources"] == []


def test_the_deploy_s_image_by_digest_reads_as_the_tag_its_plan_named(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    """The pull request's plan names the image by its content-addressed tag (it pushed
    nothing); the merge's deploy passes the digest the push gave that tag. Without reviewed-as
    the values differ and the apply is refused; with the digest read as that tag, it applies."""
    tag = "127.0.0.1:5000/expenses/prod:toto-inputs-" + "a" * 40
    digest = "127.0.0.1:5000/expenses/prod@sha256:" + "b" * 64
    reviewed(core, github, tmp_path, "--var", f"image_tag={tag}")
    refused = core("--var", f"image_tag={digest}", env=push_env(tmp_path, github))
    assert refused.exit_code == 1, refused.stdout + refused.stderr
    assert "the changes differ from the plan reviewed in #12" in refused.stderr
    applied(
        core, github, tmp_path, "--var", f"image_tag={digest}", "--reviewed-as", f"{digest}={tag}"
    )
