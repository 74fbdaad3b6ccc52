"""render-workflow's pull-request plans when Dependabot opens the pull request (issue 27, item 3).

GitHub docs, "Troubleshooting Dependabot on GitHub Actions" (docs.github.com/en/code-security/
dependabot/troubleshooting-dependabot/troubleshooting-dependabot-on-github-actions), "Restrictions
when Dependabot triggers events": "For workflows initiated by Dependabot (github.actor ==
'dependabot[bot]') using the pull_request ... events ... Secrets are populated from Dependabot
secrets. GitHub Actions secrets are not available. ... These restrictions apply even if the
workflow is re-run by a different actor." A plan job's environment secrets (TF_API_TOKEN, the core
values) are Actions secrets, so they are empty there, while the job's `permissions` still give it
an OIDC token. So every step that takes a credential is skipped for Dependabot as for a fork, and
a notice says why.

The condition is `github.actor`, not `github.triggering_actor`: the contexts reference says
github.actor is "the user that triggered the initial workflow run ... Any workflow re-runs will use
the privileges of github.actor, even if the actor initiating the re-run (github.triggering_actor)
has different privileges" (docs.github.com/en/actions/reference/workflows-and-actions/contexts),
so a re-run by a person still has github.actor == 'dependabot[bot]' and still no secrets. Not the
pull request's author either: a person who pushes to Dependabot's branch starts a run of their own,
which gets the secrets and should plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.commands.test_render_workflow import CORE, MICROSERVICE, load
from tests.commands.test_render_workflow_plans import (
    COMBINATIONS,
    DEPENDABOT,
    FORK,
    PLANNED,
    Combination,
)
from tests.conftest import CliRunner

FORK_NOTICE = "No plan for a pull request from a fork"
DEPENDABOT_NOTICE = "No plan for a run Dependabot started"


def render(inline_cli: CliRunner, tmp_path: Path, combination: Combination) -> dict[str, Any]:
    """The jobs of the workflow rendered for combination."""
    kind, engine, drift, run_source = combination
    arguments = [f"--kind={kind}", "--service=toto-x", f"--terraform-engine={engine}"]
    arguments += ["--sync-auth=token"] if kind == "core" else []
    arguments += ["--drift-schedule=none"] if drift == "none" else []
    arguments += [f"--run-source={run_source}"] if run_source != "default" else []
    assert inline_cli("render-workflow", *arguments).exit_code == 0
    path = tmp_path / (CORE if kind == "core" else MICROSERVICE)
    jobs: dict[str, Any] = load(path)["jobs"]
    return jobs


@pytest.mark.parametrize("combination", COMBINATIONS, ids="-".join)
def test_every_plan_job_skips_each_credentialed_step_for_dependabot_with_a_notice(
    inline_cli: CliRunner, tmp_path: Path, combination: Combination
) -> None:
    jobs = render(inline_cli, tmp_path, combination)
    plans = {name: job for name, job in jobs.items() if name.startswith("plan-")}
    assert list(plans) == ["plan-dev", "plan-prod"]
    for name, plan in plans.items():
        fork, dependabot, *steps = plan["steps"]
        assert (fork["name"], fork["if"]) == (FORK_NOTICE, FORK), name
        assert (dependabot["name"], dependabot["if"]) == (DEPENDABOT_NOTICE, DEPENDABOT), name
        assert dependabot["run"] == (
            'echo "::notice title=No plan for Dependabot::GitHub gives the runs Dependabot '
            'starts, re-runs included, only Dependabot secrets, so its pull request gets no plan."'
        )
        # Checkout, OIDC, setup-terraform, build-push, tf-apply (HCP Terraform, the comment).
        assert steps and all("uses" in step for step in steps), name
        assert [step["if"] for step in steps] == [PLANNED] * len(steps), name


@pytest.mark.parametrize("combination", COMBINATIONS[:2], ids="-".join)
def test_the_jobs_no_pull_request_starts_are_left_alone(
    inline_cli: CliRunner, tmp_path: Path, combination: Combination
) -> None:
    """Dependabot pushes to its own dependabot/... branches and opens pull requests: the push,
    dispatch and schedule jobs never name it."""
    for name, job in render(inline_cli, tmp_path, combination).items():
        if not name.startswith("plan-"):
            assert all("dependabot" not in str(step.get("if", "")) for step in job["steps"]), name
