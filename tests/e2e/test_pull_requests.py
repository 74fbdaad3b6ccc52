"""Plans reviewed before they apply, end to end: the rendered workflows' pull-request plan jobs,
the apply of the merged commit and the scheduled drift check, run unchanged by act against the
stand-ins (the `pull_request` event from a file, as GitHub sends it).

The service's plan computes the image's content-addressed tag without building (build-push
`push: false`) and comments the plan on the pull request, edited on the next push; the merge
applies exactly that plan, and a later push that leaves the image alone deploys nothing. A fork's
pull request, which GitHub gives no secrets, ends with a notice. On HCP Terraform the core's
plan is a speculative run, or with `--run-source vcs` the workspace's own runs are followed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from testing.github.server import GitHubServer
from testing.local_stack import Registry
from testing.tfc.server import TfcServer
from tests.e2e import flows
from tests.e2e.act import Act, ActRun, assert_nothing_leaked
from tests.e2e.repositories import commit
from toto_actions.terraform.archive import config_archive

SERVICE_REPOSITORY = f"{flows.ORG}/{flows.SERVICE}"
SERVICE_PLAN_STEP = "Plan the service's Terraform and comment on the pull request"
CORE_PLAN_STEP = "Plan the core Terraform and comment on the pull request"
FORK_STEP = "No plan for a pull request from a fork"
DRIFT_STEP = "Look for changes made outside Terraform"
GAMES_REPOSITORY = f"{flows.ORG}/toto-ms-games"  # the service repository the core writes into


def pull_request_event(
    repository: str, number: int, head_sha: str, *, action: str = "opened", fork: bool = False
) -> dict[str, Any]:
    """A `pull_request` event's payload into main (the fields the workflows and tf-apply read),
    from a branch of repository or of a fork of it."""
    owner, name = repository.split("/")
    head_repository = f"mallory/{name}" if fork else repository
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "state": "open",
            "head": {
                "ref": "feature/change",
                "sha": head_sha,
                "repo": {"full_name": head_repository, "fork": fork},
            },
            "base": {"ref": "main", "repo": {"full_name": repository, "fork": False}},
        },
        "repository": {"full_name": repository, "name": name, "owner": {"login": owner}},
    }


def plan_comments(github: GitHubServer, repository: str, number: int) -> list[dict[str, Any]]:
    return [
        c
        for c in github.comments(repository, number)
        if c["body"].startswith("<!-- toto-actions:plan ")
    ]


def assert_absent(comments: list[dict[str, Any]], values: Any) -> None:
    leaked = [value for value in values if any(value in c["body"] for c in comments)]
    assert not leaked, f"{len(leaked)} secret value(s) in a plan comment"


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        flows.serve_service_repositories(server, (SERVICE_REPOSITORY,))
        # As the core flow writes them (see test_flows).
        for environment, secrets in (
            ("dev", flows.EXPECTED_SECRETS),
            ("dev-plan", flows.PLAN_SECRETS),
        ):
            for name, value in secrets.items():
                server.set_secret(SERVICE_REPOSITORY, name, value, environment)
        yield server
        assert server.errors == []


def merged_with_its_plan(
    github: GitHubServer,
    repository: str,
    number: int,
    *,
    head: str,
    workflow: str,
    plan_run: ActRun,
    started: str,
) -> None:
    """What GitHub holds once pull request number (from feature/change, head fast-forwarded into
    main) is merged: the pull request as the event names it (pull_request_event: head_ref), and
    the run of the workflow that planned it, which its plan comment names."""
    github.add_workflow_run(
        repository,
        plan_run.run_id,
        head,
        path=workflow,
        head_branch="feature/change",
        started_at=started,
    )
    github.add_pull_request(
        repository, number, head, "main", head_ref="feature/change", merge_commit_sha=head
    )


def test_a_service_pull_request_is_planned_in_one_comment_and_the_merge_applies_that_plan(
    stack: flows.Stack, registry: Registry, tmp_path: Path
) -> None:
    github = stack.github
    repository = flows.new_service_repository(tmp_path / flows.SERVICE, stack.bucket)
    deployed = flows.run_service_cli(stack, repository, registry)
    assert deployed.run.exit_code == 0, flows.log(deployed.run)

    def plan(number: int, head: str, action: str) -> ActRun:
        flow = flows.run_service_cli(
            stack,
            repository,
            registry,
            job="plan-dev",
            event=pull_request_event(SERVICE_REPOSITORY, number, head, action=action),
            event_name="pull_request",
            environment="dev-plan",
        )
        assert flow.run.exit_code == 0, flows.log(flow.run)
        assert flows.succeeded(flow.run, SERVICE_PLAN_STEP), flows.log(flow.run)
        assert_nothing_leaked(flow.run, flow.sensitive)
        return flow.run

    # The pull request changes the application: its plan shows the new image's tag, unbuilt.
    first_head = commit(repository, {"app.txt": "expenses, version two\n"}, "Version two")
    github.add_pull_request(SERVICE_REPOSITORY, 7, first_head, "main")
    first = plan(7, first_head, "opened")
    planned_tag = first.outputs()["inputs-tag"]
    assert planned_tag not in flows.registry_tags(
        registry, f"{flows.SERVICE}/dev"
    )  # push: false built nothing
    [comment] = plan_comments(github, SERVICE_REPOSITORY, 7)
    assert comment["body"].startswith(
        f"<!-- toto-actions:plan workspace={flows.SERVICE_WORKSPACE} -->"
    )
    assert "**0 to add, 1 to change, 0 to destroy.**" in comment["body"]
    assert "`terraform_data.deployment`" in comment["body"]
    assert first_head in comment["body"]

    # A second push to the pull request edits that one comment.
    second_head = commit(repository, {"app.txt": "expenses, version three\n"}, "Version three")
    github.add_pull_request(SERVICE_REPOSITORY, 7, second_head, "main")
    started = github.now()  # the plan run's start
    second = plan(7, second_head, "synchronize")
    [edited] = plan_comments(github, SERVICE_REPOSITORY, 7)
    assert edited["id"] == comment["id"]
    assert second_head in edited["body"] and first_head not in edited["body"]
    assert_absent([edited], [*flows.EXPECTED_SECRETS.values(), flows.JOB_TOKEN])

    # The merge (fast-forward: the head is the pushed commit) applies the reviewed plan with
    # the very tag the plan computed; the comment names the plan's run, which GitHub describes.
    merged_with_its_plan(
        github,
        SERVICE_REPOSITORY,
        7,
        head=second_head,
        workflow=flows.SERVICE_WORKFLOW,
        plan_run=second,
        started=started,
    )
    merged = flows.run_service_cli(stack, repository, registry)
    assert merged.run.exit_code == 0, flows.log(merged.run)
    assert "The changes applied are the ones reviewed in #7." in merged.run.output, flows.log(
        merged.run
    )
    inputs_tag = merged.run.outputs()["inputs-tag"]
    assert inputs_tag == second.outputs()["inputs-tag"] != planned_tag
    deployment = flows.state_outputs(stack.state(flows.SERVICE_WORKSPACE, flows.SERVICE_STATE_KEY))[
        "deployment"
    ]
    assert deployment["image_tag"] == inputs_tag

    # A push that leaves the image as it is (the Terraform directory is not in the build
    # context) plans no task definition change: nothing is redeployed.
    commit(repository, {"terraform/notes.tf": "# Deployed by toto-actions.\n"}, "A note")
    unchanged = flows.run_service_cli(stack, repository, registry)
    assert unchanged.run.exit_code == 0, flows.log(unchanged.run)
    outputs = unchanged.run.outputs()
    assert outputs["inputs-tag"] == inputs_tag and outputs["skipped"] == "true"
    assert outputs["status"] == "no-changes"


def test_a_fork_s_pull_request_gets_no_secrets_and_ends_with_a_notice(
    stack: flows.Stack, registry: Registry, tmp_path: Path
) -> None:
    repository = flows.new_service_repository(tmp_path / flows.SERVICE, stack.bucket)
    head = commit(repository, {"app.txt": "expenses, from a fork\n"}, "From a fork")
    stack.github.add_pull_request(
        SERVICE_REPOSITORY, 8, head, "main", head_repo_full_name=f"mallory/{flows.SERVICE}"
    )
    flow = flows.run_service_cli(
        stack,
        repository,
        registry,
        job="plan-dev",
        event=pull_request_event(SERVICE_REPOSITORY, 8, head, fork=True),
        event_name="pull_request",
        environment=None,  # GitHub gives a fork's pull request no secrets
    )
    assert flow.run.exit_code == 0, flows.log(flow.run)
    assert flows.succeeded(flow.run, FORK_STEP), flows.log(flow.run)
    assert "No plan for a fork" in flow.run.output
    assert SERVICE_PLAN_STEP not in flow.run.outcomes()
    assert stack.github.comments(SERVICE_REPOSITORY, 8) == []


class CoreOnCloud(NamedTuple):
    tfc: TfcServer
    github: GitHubServer
    repository: Path  # the core repository, on the cloud engine


@contextmanager
def core_on_cloud(directory: Path) -> Iterator[CoreOnCloud]:
    """The stand-in HCP Terraform serving the core workspace, the stand-in GitHub serving
    GAMES_REPOSITORY, and the core repository (cloud engine, writing into it) in directory."""
    with TfcServer(step_seconds=0.02) as tfc, GitHubServer() as github:
        flows.serve_core_workspace(tfc)
        flows.serve_service_repositories(github, (GAMES_REPOSITORY,))
        repository = flows.new_core_repository(
            directory / flows.CORE_SERVICE, engine="cloud", repositories=(GAMES_REPOSITORY,)
        )
        yield CoreOnCloud(tfc, github, repository)


def run_core_plan(
    act: Act, repository: Path, tfc: TfcServer, github: GitHubServer, **given: Any
) -> ActRun:
    """The core repository's plan-dev job (cloud engine) on a `pull_request` event, with the
    variables every run gets; given: the rest of Act.run's keywords (event, secrets, actor)."""
    return act.run(
        repository,
        flows.CORE_WORKFLOW,
        "plan-dev",
        event_name="pull_request",
        variables={
            "TF_CLOUD_ORGANIZATION": flows.ORG,
            "TF_CLOUD_ADDRESS": tfc.url,
            "TOTO_GITHUB_API_URL": github.url,
        },
        **given,
    )


def core_plan(
    act: Act, repository: Path, tfc: TfcServer, github: GitHubServer, *, number: int, head: str
) -> ActRun:
    """The core repository's plan-dev job (cloud engine) for pull request number."""
    run = run_core_plan(
        act,
        repository,
        tfc,
        github,
        event=pull_request_event(flows.CORE_REPOSITORY, number, head),
        secrets={"TF_API_TOKEN": flows.TF_API_TOKEN, "GITHUB_TOKEN": flows.JOB_TOKEN},
    )
    assert run.exit_code == 0, flows.log(run)
    assert flows.succeeded(run, CORE_PLAN_STEP), flows.log(run)
    assert_nothing_leaked(run, [flows.TF_API_TOKEN, flows.JOB_TOKEN, flows.DB_PASSWORD])
    return run


def test_the_core_pull_request_plan_is_a_speculative_run_linked_from_the_comment(
    act: Act, tmp_path: Path
) -> None:
    with core_on_cloud(tmp_path) as (tfc, github, repository):
        github.add_pull_request(flows.CORE_REPOSITORY, 3, "c0ffee" * 6 + "0000", "main")
        run = core_plan(act, repository, tfc, github, number=3, head="c0ffee" * 6 + "0000")
        [speculative] = tfc.runs(flows.ORG, flows.CORE_WORKSPACE)
        assert speculative.status == "planned_and_finished"
        [comment] = plan_comments(github, flows.CORE_REPOSITORY, 3)
        assert run.outputs()["run-url"] in comment["body"]
        assert "**8 to add, 0 to change, 0 to destroy.**" in comment["body"]
        assert flows.DB_PASSWORD not in comment["body"]
        assert github.secrets(GAMES_REPOSITORY, "dev") == {}  # a plan writes no secret
        assert tfc.errors == [] and github.errors == []


def test_run_source_vcs_follows_the_workspace_s_own_runs_and_drift_is_checked_on_schedule(
    act: Act, tmp_path: Path
) -> None:
    """The core workspace is connected to the repository: HCP Terraform plans a pull request's
    head and applies a push by itself; the workflow follows those runs instead of uploading."""
    with core_on_cloud(tmp_path) as (tfc, github, repository):
        flows.render_core_workflow(repository, "cloud", (GAMES_REPOSITORY,), "--run-source=vcs")
        head = commit(repository, {"terraform/notes.tf": "# Connected to VCS.\n"}, "A note")
        archive = config_archive(repository / "terraform")
        github.add_pull_request(flows.CORE_REPOSITORY, 5, head, "main")
        speculative = tfc.queue_vcs_run(
            flows.ORG, flows.CORE_WORKSPACE, archive, commit_sha=head, pull_request=5
        )
        started = github.now()  # the plan run's start
        run = core_plan(act, repository, tfc, github, number=5, head=head)
        assert run.outputs()["run-id"] == speculative
        assert [r.id for r in tfc.runs(flows.ORG, flows.CORE_WORKSPACE)] == [
            speculative
        ]  # no upload
        [comment] = plan_comments(github, flows.CORE_REPOSITORY, 5)
        assert head in comment["body"]

        # The merge: HCP Terraform starts the run of the pushed commit; the job follows it,
        # confirms the reviewed plan and hands the outputs to the sync.
        merged_with_its_plan(
            github,
            flows.CORE_REPOSITORY,
            5,
            head=head,
            workflow=flows.CORE_WORKFLOW,
            plan_run=run,
            started=started,
        )
        pushed = tfc.queue_vcs_run(flows.ORG, flows.CORE_WORKSPACE, archive, commit_sha=head)
        flow = flows.run_core_cloud(act, repository, tfc, github)
        assert flow.run.exit_code == 0, flows.log(flow.run)
        assert flow.run.outputs()["run-id"] == pushed
        assert tfc.run_status(pushed) == "applied"
        assert "The changes applied are the ones reviewed in #5." in flow.run.output
        assert github.secrets(GAMES_REPOSITORY, "dev") == flows.EXPECTED_SECRETS
        assert github.secrets(GAMES_REPOSITORY, "dev-plan") == flows.PLAN_SECRETS
        assert_nothing_leaked(flow.run, flow.sensitive)

        # The scheduled drift check: a refresh-only speculative upload, nothing drifted.
        drift = act.run(
            repository,
            flows.CORE_WORKFLOW,
            "drift-dev",
            event={"schedule": "23 5 * * *"},
            event_name="schedule",
            secrets={"TF_API_TOKEN": flows.TF_API_TOKEN},
            variables={"TF_CLOUD_ORGANIZATION": flows.ORG, "TF_CLOUD_ADDRESS": tfc.url},
        )
        assert drift.exit_code == 0, flows.log(drift)
        assert flows.succeeded(drift, DRIFT_STEP), flows.log(drift)
        assert "no-changes: 0 changed outside Terraform" in drift.output
        newest = tfc.runs(flows.ORG, flows.CORE_WORKSPACE)[-1]
        assert newest.id not in {speculative, pushed}
        assert tfc.errors == [] and github.errors == []
