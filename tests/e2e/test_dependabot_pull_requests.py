"""Dependabot's pull requests, end to end: the rendered plan jobs under act, started by the actor
`dependabot[bot]` and given what GitHub gives such a run.

GitHub docs, "Troubleshooting Dependabot on GitHub Actions", Restrictions when Dependabot triggers
events (docs.github.com/en/code-security/dependabot/troubleshooting-dependabot/
troubleshooting-dependabot-on-github-actions): "For workflows initiated by Dependabot (github.actor
== 'dependabot[bot]') using the pull_request ... events ... Secrets are populated from Dependabot
secrets. GitHub Actions secrets are not available. ... These restrictions apply even if the
workflow is re-run by a different actor." Environment secrets are Actions secrets, so the run gets
no TF_API_TOKEN and no core value: only the job's GITHUB_TOKEN (read-only unless the job's
`permissions` raise it, which they do) and the Dependabot secrets, of which these repositories have
none. Actions variables do reach it: the docs are silent, GitHub staff said so when they shipped
it (github.com/orgs/community/discussions/44088, "Every workflow triggered by dependabot actor
would have access to Actions Variables"), and github/docs#43950 asks for the sentence; so the role
ARN is there and OIDC would succeed. The job must therefore take no credential at all: no OIDC
exchange, no HCP Terraform request, no comment; it prints a notice and succeeds. The same pull
request from a person (any writer) still plans.

A re-run by someone else keeps github.actor (the contexts reference: "the user that triggered the
initial workflow run"; github.triggering_actor is the one who re-ran it) and keeps the missing
secrets, so it is skipped alike; act starts no re-run, so this file runs first runs only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.github.server import GitHubServer
from testing.local_stack import Registry
from testing.recording_proxy import RecordingProxy
from tests.e2e.act import Act, ActRun, assert_nothing_leaked
from tests.e2e.flows import (
    CORE_REPOSITORY,
    CORE_WORKSPACE,
    JOB_TOKEN,
    ORG,
    PLAN_SECRETS,
    SERVICE,
    TF_API_TOKEN,
    Stack,
    log,
    new_service_repository,
    run_service_cli,
    serve_service_repositories,
    succeeded,
)
from tests.e2e.repositories import commit
from tests.e2e.test_pull_requests import (
    CORE_PLAN_STEP,
    SERVICE_PLAN_STEP,
    core_on_cloud,
    plan_comments,
    pull_request_event,
    run_core_plan,
)

DEPENDABOT = "dependabot[bot]"
WRITER = "octocat"  # a person with write access: the run gets the repository's secrets
SERVICE_REPOSITORY = f"{ORG}/{SERVICE}"
DEPENDABOT_NOTICE = "No plan for a run Dependabot started"
# What a run Dependabot starts gets: its GITHUB_TOKEN and the Dependabot secrets (none here).
DEPENDABOT_SECRETS = {"GITHUB_TOKEN": JOB_TOKEN}
BUMP_BRANCH = "dependabot/github_actions/actions/checkout-4.2.2"


def dependabot_event(repository: str, number: int, head_sha: str) -> dict[str, Any]:
    """The `pull_request` event of a pull request Dependabot opened from its own branch."""
    event = pull_request_event(repository, number, head_sha)
    event["pull_request"]["head"]["ref"] = BUMP_BRANCH
    event["pull_request"]["user"] = {"login": DEPENDABOT, "type": "Bot"}
    event["sender"] = {"login": DEPENDABOT, "type": "Bot"}
    return event


def assert_skipped_with_a_notice(run: ActRun, plan_step: str) -> None:
    assert run.exit_code == 0, log(run)
    assert succeeded(run, DEPENDABOT_NOTICE), log(run)
    assert "No plan for Dependabot" in run.output
    assert plan_step not in run.outcomes(), log(run)


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        serve_service_repositories(server, (SERVICE_REPOSITORY,))
        for name, value in PLAN_SECRETS.items():  # as the core flow writes them
            server.set_secret(SERVICE_REPOSITORY, name, value, "dev-plan")
        yield server
        assert server.errors == []


def test_dependabot_s_service_pull_request_takes_no_aws_credentials_and_ends_with_a_notice(
    stack: Stack, registry: Registry, tmp_path: Path
) -> None:
    """The service's plan (cli engine): OIDC through the stand-in configure-aws-credentials, which
    exchanges its token at STS on moto; a proxy in front of moto records every AWS call."""
    github = stack.github
    repository = new_service_repository(tmp_path / SERVICE, stack.bucket)
    head = commit(repository, {"app.txt": "expenses, bumped\n"}, "Bump actions/checkout")
    github.add_pull_request(SERVICE_REPOSITORY, 21, head, "main")
    with RecordingProxy(stack.moto_server.endpoint_url) as aws:
        machine = {**stack.act.machine, "STAND_IN_AWS_ENDPOINT_URL": aws.url}
        proxied = dataclasses.replace(stack, act=dataclasses.replace(stack.act, machine=machine))
        github.clear_requests()
        bumped = run_service_cli(
            proxied,
            repository,
            registry,
            job="plan-dev",
            event=dependabot_event(SERVICE_REPOSITORY, 21, head),
            event_name="pull_request",
            environment=None,  # no Actions secret reaches a run Dependabot starts
            actor=DEPENDABOT,
        )
        assert_skipped_with_a_notice(bumped.run, SERVICE_PLAN_STEP)
        assert aws.calls == []  # no OIDC exchange, no AWS call at all
        assert github.requests == []  # no comment, not even a look for one

        # A person's push to the same pull request starts a run with the secrets: it plans.
        planned = run_service_cli(
            proxied,
            repository,
            registry,
            job="plan-dev",
            event=pull_request_event(SERVICE_REPOSITORY, 21, head, action="synchronize"),
            event_name="pull_request",
            environment="dev-plan",
            actor=WRITER,
        )
        assert planned.run.exit_code == 0, log(planned.run)
        assert succeeded(planned.run, SERVICE_PLAN_STEP), log(planned.run)
        assert DEPENDABOT_NOTICE not in planned.run.outcomes()
        assert aws.calls  # the OIDC exchange went through the proxy
        assert len(plan_comments(github, SERVICE_REPOSITORY, 21)) == 1
        assert_nothing_leaked(planned.run, planned.sensitive)


def test_dependabot_s_core_pull_request_asks_hcp_terraform_nothing_and_ends_with_a_notice(
    act: Act, tmp_path: Path
) -> None:
    """The core's plan (cloud engine): a speculative run on HCP Terraform and the comment."""
    with core_on_cloud(tmp_path) as (tfc, github, repository):
        head = commit(repository, {"terraform/notes.tf": "# Bumped.\n"}, "Bump an action")
        github.add_pull_request(CORE_REPOSITORY, 22, head, "main")
        tfc.clear_requests()
        github.clear_requests()
        bumped = run_core_plan(
            act,
            repository,
            tfc,
            github,
            event=dependabot_event(CORE_REPOSITORY, 22, head),
            secrets=DEPENDABOT_SECRETS,
            actor=DEPENDABOT,
        )
        assert_skipped_with_a_notice(bumped, CORE_PLAN_STEP)
        assert tfc.requests == [] and tfc.runs(ORG, CORE_WORKSPACE) == []
        assert github.requests == []

        # The same pull request from a writer plans on HCP Terraform and comments.
        planned = run_core_plan(
            act,
            repository,
            tfc,
            github,
            event=pull_request_event(CORE_REPOSITORY, 22, head, action="synchronize"),
            secrets={"TF_API_TOKEN": TF_API_TOKEN, "GITHUB_TOKEN": JOB_TOKEN},
            actor=WRITER,
        )
        assert planned.exit_code == 0, log(planned)
        assert succeeded(planned, CORE_PLAN_STEP), log(planned)
        assert DEPENDABOT_NOTICE not in planned.outcomes()
        [speculative] = tfc.runs(ORG, CORE_WORKSPACE)
        assert speculative.status == "planned_and_finished"
        assert len(plan_comments(github, CORE_REPOSITORY, 22)) == 1
        assert_nothing_leaked(planned, [TF_API_TOKEN, JOB_TOKEN])
        assert tfc.errors == [] and github.errors == []
