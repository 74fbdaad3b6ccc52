"""tf-apply's plan comment on a pull request (plan-only on a `pull_request` event) and the
reviewed-plan check, with the real terraform binary (cli engine, S3 state on moto) and the
stand-in GitHub on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from testing.github.server import GitHubServer
from testing.local_stack import MotoServer
from testing.tf_apply_step import Reviewer, outputs_of
from tests.commands.test_tf_apply_cli import SECRET, Core
from tests.conftest import CliRunner
from toto_actions.github.reviewed_plan import ReviewedPlanCheck, ReviewSettings
from toto_actions.terraform.plan import PlanSummary, ResourceChange

REPOSITORY = "acme/toto-terra-aws"
TOKEN = "ghs_plan-job-token"
APPLY_TOKEN = "ghs_apply-job-token"  # an apply job's: it reads the plan comment's run
WORKFLOW_REF = f"{REPOSITORY}/.github/workflows/core.yml@refs/heads/main"
HEAD = "5eed" + "0" * 36
MERGE = "6eed" + "0" * 36
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
EDIT = "/repos/{owner}/{repo}/issues/comments/{comment_id}"
SENSITIVE_VARIABLE = 'variable "api_key" {\n  type      = string\n  sensitive = true\n}\n'
LONG_KEYS = """
locals {
  padding = join("", [for j in range(25) : "abcdefgh"])
}

resource "terraform_data" "many" {
  for_each = toset([for i in range(300) : format("%03d-%s", i, local.padding)])
  input    = each.key
}
"""


@contextmanager
def plan_job_github() -> Iterator[GitHubServer]:
    """The stand-in GitHub of a plan job: REPOSITORY with pull request 12 at HEAD into main,
    and TOKEN, the job's GITHUB_TOKEN."""
    with GitHubServer() as server:
        server.add_repository(REPOSITORY)
        # What a plan job's GITHUB_TOKEN holds: contents read, pull-requests write.
        server.add_token(TOKEN, [REPOSITORY], {"contents": "read", "pull_requests": "write"})
        server.add_token(
            APPLY_TOKEN,
            [REPOSITORY],
            {"contents": "read", "pull_requests": "read", "actions": "read"},
        )
        server.add_pull_request(REPOSITORY, 12, HEAD, "main")
        yield server


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    with plan_job_github() as server:
        yield server


@pytest.fixture
def core(tmp_path: Path, cli: CliRunner, moto_server: MotoServer) -> Core:
    root = tmp_path / "core"
    root.mkdir()
    return Core(root, cli, moto_server)


def event_env(
    tmp_path: Path, github: GitHubServer, head_repository: str = REPOSITORY
) -> dict[str, str]:
    """The runner's variables of a pull_request job, and its event payload (the fields read)."""
    payload = {
        "action": "synchronize",
        "number": 12,
        "pull_request": {
            "number": 12,
            "head": {"sha": HEAD, "ref": "feature", "repo": {"full_name": head_repository}},
            "base": {"ref": "main", "repo": {"full_name": REPOSITORY}},
        },
    }
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload), encoding="utf-8")
    summary = tmp_path / "summary.md"
    summary.touch()
    return {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_RUN_ID": "4242",
        "GITHUB_STEP_SUMMARY": str(summary),
        "INPUT_GITHUB-TOKEN": TOKEN,
        "INPUT_GITHUB-API-URL": github.url,
    }


def plan(core: Core, env: dict[str, str], *arguments: str) -> None:
    result = core("--plan-only", "true", *arguments, env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert outputs_of(result)["status"] == "planned"


def test_the_first_plan_creates_the_comment_and_the_next_edits_it(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    env = event_env(tmp_path, github)
    plan(core, env)
    assert [r.route for r in github.requests] == [COMMENTS, COMMENTS]  # find, create
    [first] = github.comments(REPOSITORY, 12)
    body = first["body"]
    assert body.startswith("<!-- toto-actions:plan workspace=core-dev -->\n")
    assert "**2 to add, 0 to change, 0 to destroy.**" in body
    assert "- `terraform_data.image`" in body
    assert f"`{HEAD}`" in body
    assert "[the job](https://github.com/acme/toto-terra-aws/actions/runs/4242)" in body
    github.clear_requests()
    main = core.root / "main.tf"  # a second push: the configuration gains a resource
    main.write_text(
        main.read_text(encoding="utf-8") + 'resource "terraform_data" "added" {}\n',
        encoding="utf-8",
    )
    plan(core, env)
    assert [r.route for r in github.requests] == [COMMENTS, EDIT]  # find, edit
    [edited] = github.comments(REPOSITORY, 12)
    assert edited["id"] == first["id"]
    assert "**3 to add, 0 to change, 0 to destroy.**" in edited["body"]
    assert "- `terraform_data.added`" in edited["body"]
    github.clear_requests()
    plan(core, env)  # the same plan again: the comment says it already
    assert [r.route for r in github.requests] == [COMMENTS]


def test_a_changed_plan_edits_the_comment_with_its_new_content(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    assert core().exit_code == 0  # applied: the next plans are an update and a replace
    env = event_env(tmp_path, github)
    plan(core, env, "--var", "image_tag=v2")
    plan(core, env, "--var", "image_tag=v2", "--var", "generation=2")
    [comment] = github.comments(REPOSITORY, 12)
    body = comment["body"]
    assert "**1 to add, 1 to change, 1 to destroy.**" in body
    assert "> - `terraform_data.generation` (replace)" in body


def test_two_workspaces_get_two_comments(core: Core, github: GitHubServer, tmp_path: Path) -> None:
    env = event_env(tmp_path, github)
    plan(core, env)
    plan(core, env, "--workspace", "core-qa")
    plan(core, env)
    comments = github.comments(REPOSITORY, 12)
    assert [c["body"].splitlines()[0] for c in comments] == [
        "<!-- toto-actions:plan workspace=core-dev -->",
        "<!-- toto-actions:plan workspace=core-qa -->",
    ]


def test_no_sensitive_value_reaches_a_comment(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    main = core.root / "main.tf"
    main.write_text(
        main.read_text(encoding="utf-8")
        + SENSITIVE_VARIABLE
        + 'resource "terraform_data" "key" {\n  input = var.api_key\n}\n',
        encoding="utf-8",
    )
    plan(core, event_env(tmp_path, github), "--var", "api_key=s3cr3t-api-key")
    [comment] = github.comments(REPOSITORY, 12)
    assert "terraform_data.key" in comment["body"]
    for secret in (SECRET, "s3cr3t-api-key", "pw-"):
        assert secret not in comment["body"]
    assert all(secret not in json.dumps(r.body) for r in github.requests for secret in (SECRET,))


def test_a_comment_longer_than_github_allows_is_cut_at_65536(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    main = core.root / "main.tf"
    main.write_text(main.read_text(encoding="utf-8") + LONG_KEYS, encoding="utf-8")
    plan(core, event_env(tmp_path, github))
    [comment] = github.comments(REPOSITORY, 12)
    assert 60_000 < len(comment["body"]) <= 65_536
    assert comment["body"].endswith("the full list is in the job summary._")
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert summary.count("terraform_data.many[") == 300


def test_a_fork_s_pull_request_gets_a_notice_and_no_comment(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    env = {**event_env(tmp_path, github, "someone/toto-terra-aws"), "GITHUB_ACTIONS": "true"}
    result = core("--plan-only", "true", env=env)
    assert result.exit_code == 0, result.stderr
    assert "::notice::pull request #12 comes from a fork: no plan comment" in result.stdout
    assert github.requests == []


def test_a_comment_github_refuses_fails_the_step_in_one_line(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    github.add_token("ghs_read_only", [REPOSITORY], {"contents": "read", "pull_requests": "read"})
    env = {**event_env(tmp_path, github), "INPUT_GITHUB-TOKEN": "ghs_read_only"}
    result = core("--plan-only", "true", env=env)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: the plan comment on #12: GitHub answered 403 Resource not accessible by "
        "integration\n"
    )
    assert "ghs_read_only" not in result.stdout + result.stderr
    assert github.comments(REPOSITORY, 12) == []


def test_pr_comment_false_posts_nothing(core: Core, github: GitHubServer, tmp_path: Path) -> None:
    plan(core, event_env(tmp_path, github), "--pr-comment", "false")
    assert github.requests == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--pr-comment", "yes"], "error: --pr-comment 'yes': expected true or false\n"),
        (
            ["--require-reviewed-plan", "1"],
            "error: --require-reviewed-plan '1': expected true or false\n",
        ),
    ],
)
def test_a_switch_that_is_not_a_boolean_is_exit_2_and_nothing_done(
    core: Core, github: GitHubServer, tmp_path: Path, arguments: list[str], message: str
) -> None:
    result = core("--plan-only", "true", *arguments, env=event_env(tmp_path, github))
    assert (result.exit_code, result.stderr) == (2, message)
    assert github.requests == []
    assert core.s3.list_objects_v2(Bucket=core.bucket).get("KeyCount") == 0


# -- the reviewed plan of a pushed commit -------------------------------------------------------

FIRST_PLAN = PlanSummary(
    2,
    0,
    0,
    (
        ResourceChange("terraform_data.image", "create", "{}"),
        ResourceChange("terraform_data.generation", "create", "{}"),
    ),
)


def review_check(github: GitHubServer, commit: str, required: bool) -> ReviewedPlanCheck:
    return ReviewedPlanCheck(
        ReviewSettings(
            APPLY_TOKEN, github.url, REPOSITORY, commit, "core-dev", required, WORKFLOW_REF
        )
    )


def reviewed_plan(core: Core, github: GitHubServer, tmp_path: Path) -> None:
    """Pull request #12, planned (its comment posted) by the run 4242 of the workflow core.yml
    at HEAD, then merged."""
    started = github.now()
    plan(core, event_env(tmp_path, github))
    github.add_workflow_run(
        REPOSITORY, 4242, HEAD, path=".github/workflows/core.yml", started_at=started
    )
    github.add_pull_request(REPOSITORY, 12, HEAD, "main", merge_commit_sha=MERGE)


def planned(core: Core) -> PlanSummary:
    """The summary an apply of the configuration compares (a review refuses it: nothing is
    applied)."""
    reviewer = Reviewer("only shown")
    assert core.reviewed(reviewer.review).exit_code == 1
    [summary] = reviewer.shown
    return summary


def test_the_merged_commit_s_plan_is_the_one_reviewed(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    reviewed_plan(core, github, tmp_path)
    github.clear_requests()
    check = review_check(github, MERGE, required=True)
    first_plan = planned(core)
    assert check(first_plan) is None
    assert check.statement == "The changes applied are the ones reviewed in #12."
    assert len(github.requests) == 3  # the commit's pull requests, the comments, the run
    changed = first_plan._replace(resources=first_plan.resources[:1])
    assert check(changed) == (
        "the changes differ from the plan reviewed in #12: not applied "
        "(require-reviewed-plan is true)"
    )
    reported = review_check(github, MERGE, required=False)
    assert reported(changed) is None
    assert reported.statement == "The changes differ from the plan reviewed in #12."


def test_no_reviewed_plan_refuses_only_when_required(github: GitHubServer) -> None:
    assert review_check(github, "7" * 40, required=True)(FIRST_PLAN) == (
        "no reviewed plan found for commit 777777777777 (no pull request): not applied "
        "(require-reviewed-plan is true)"
    )
    github.add_pull_request(REPOSITORY, 13, "8" * 40, merge_commit_sha="9" * 40)
    reported = review_check(github, "9" * 40, required=False)
    assert reported(FIRST_PLAN) is None
    assert (
        reported.statement
        == "No reviewed plan found for commit `999999999999` (no plan comment on #13)."
    )


def test_an_open_pull_request_holding_the_commit_is_not_a_review_of_it(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    """A branch pushed (and deployed) before its pull request is merged: the open pull
    request's plan is not a review of what is applied."""
    plan(core, event_env(tmp_path, github))  # the open pull request #12 has its plan comment
    github.add_workflow_run(REPOSITORY, 4242, HEAD, path=".github/workflows/core.yml")
    check = review_check(github, HEAD, required=True)
    assert check(FIRST_PLAN) == (
        "no reviewed plan found for commit 5eed00000000 (no pull request): not applied "
        "(require-reviewed-plan is true)"
    )


def test_a_person_s_comment_with_the_marker_is_not_a_reviewed_plan(
    github: GitHubServer,
) -> None:
    from toto_actions.terraform.plan_comment import CommentContext, plan_comment

    forged = plan_comment(FIRST_PLAN, CommentContext("core-dev", HEAD, "https://x.test", False))
    github.add_comment(REPOSITORY, 12, forged, user="mallory")
    github.add_pull_request(REPOSITORY, 12, HEAD, merge_commit_sha=MERGE)
    check = review_check(github, MERGE, required=True)
    assert check(FIRST_PLAN) is not None
    assert (
        check.statement
        == "No reviewed plan found for commit `6eed00000000` (no plan comment on #12)."
    )


def push_env(tmp_path: Path, github: GitHubServer, required: bool = True) -> dict[str, str]:
    """The runner's variables of the push job that applies the merge commit, from the same
    workflow file as the plan, requiring the reviewed plan unless told."""
    summary = tmp_path / "apply-summary.md"
    summary.touch()
    return {
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_SHA": MERGE,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_WORKFLOW_REF": WORKFLOW_REF,
        "INPUT_GITHUB-TOKEN": APPLY_TOKEN,
        "INPUT_GITHUB-API-URL": github.url,
        "INPUT_REQUIRE-REVIEWED-PLAN": "true" if required else "false",
    }


def applied(core: Core, github: GitHubServer, tmp_path: Path, *arguments: str) -> None:
    """The push job's apply of the merge commit, the reviewed plan required, with arguments:
    applied, and its summary says the changes are the ones reviewed."""
    env = push_env(tmp_path, github)
    result = core(*arguments, env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert outputs_of(result)["status"] == "applied"
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert "The changes applied are the ones reviewed in #12." in summary


def test_an_apply_of_the_reviewed_plan_applies_and_says_so_in_the_summary(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    reviewed_plan(core, github, tmp_path)
    applied(core, github, tmp_path)


def test_an_apply_that_differs_from_the_reviewed_plan_is_refused_when_required(
    core: Core, github: GitHubServer, tmp_path: Path
) -> None:
    reviewed_plan(core, github, tmp_path)
    main = core.root / "main.tf"  # merged with a change the plan comment never showed
    main.write_text(
        main.read_text(encoding="utf-8") + 'resource "terraform_data" "unreviewed" {}\n',
        encoding="utf-8",
    )
    reported_env = push_env(tmp_path, github, required=False)
    required_env = push_env(tmp_path, github, required=True)
    refused = core(env=required_env)
    assert refused.exit_code == 1, refused.stdout + refused.stderr
    assert (
        "the changes differ from the plan reviewed in #12: not applied "
        "(require-reviewed-plan is true)"
    ) in refused.stderr
    assert outputs_of(refused)["status"] == "refused"
    state = core.s3.get_object(Bucket=core.bucket, Key="env:/core-dev/core/terraform.tfstate")
    assert json.loads(state["Body"].read())["resources"] == []  # nothing applied
    reported = core(env=reported_env)  # not required: applied, and the summary says so
    assert reported.exit_code == 0, reported.stdout + reported.stderr
    summary = Path(reported_env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert "The changes differ from the plan reviewed in #12." in summary
