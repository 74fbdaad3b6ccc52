"""The service workflow's redeploy on a core change: the repository_dispatch trigger of the
event type the core workflow's sync sends, and one job per environment that applies the commit
the environment runs now (tests/e2e/test_flows.py runs it under act)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.commands.test_render_workflow import load, microservice_named
from tests.conftest import CliRunner

MICROSERVICE = Path(".github/workflows/toto-microservice.yml")
MS = microservice_named("toto-ms-expenses")


def render(cli: CliRunner, tmp_path: Path, *options: str) -> dict[Any, Any]:
    result = cli("render-workflow", *MS, *options)
    assert (result.exit_code, result.stderr) == (0, ""), result.stdout
    return load(tmp_path / MICROSERVICE)


def test_the_workflow_listens_to_the_core_event_and_redeploys_each_environment(
    cli: CliRunner, tmp_path: Path
) -> None:
    workflow = render(cli, tmp_path, "--environments", "dev=main;qa=qa/**;prod=release/**")
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    assert workflow[True]["repository_dispatch"] == {"types": ["toto-core-changed"]}
    redeploys = {name: job for name, job in workflow["jobs"].items() if name.startswith("re")}
    assert list(redeploys) == ["redeploy-dev", "redeploy-qa", "redeploy-prod"]
    for environment in ("dev", "qa", "prod"):
        job = redeploys[f"redeploy-{environment}"]
        assert job["if"] == (
            "github.event_name == 'repository_dispatch' && "
            f"github.event.client_payload.environment == '{environment}'"
        )
        assert job["environment"] == environment
        assert job["permissions"] == {
            "contents": "read",
            # write: the job records the commit it applied (GitHub's own record of the job
            # names the run's commit).
            "deployments": "write",
            "id-token": "write",
        }
        # The deploy job's group: a redeploy waits for a deploy in progress, and the reverse.
        deploy = workflow["jobs"][f"deploy-{environment}"]
        assert job["concurrency"] == deploy["concurrency"]
        assert "repository_dispatch" not in deploy["if"]


def test_the_redeploy_checks_out_the_deployed_commit_then_builds_and_applies_as_a_deploy(
    cli: CliRunner, tmp_path: Path
) -> None:
    workflow = render(cli, tmp_path, "--terraform-engine", "cli")
    job, deploy = workflow["jobs"]["redeploy-dev"], workflow["jobs"]["deploy-dev"]
    steps = job["steps"]
    assert [s.get("uses", "run").split("@")[0] for s in steps] == [
        "toto/actions/actions/deployed-commit",
        "actions/checkout",
        "run",
        "aws-actions/configure-aws-credentials",
        "hashicorp/setup-terraform",
        "toto/actions/actions/build-push",
        "toto/actions/actions/tf-apply",
        "toto/actions/actions/deployed-commit",
    ]
    lookup, checkout, switch = steps[0], steps[1], steps[2]
    assert lookup["id"] == "deployed"
    assert lookup["with"] == {
        "environment": "dev",
        "github-api-url": "${{ vars.TOTO_GITHUB_API_URL || github.api_url }}",
    }
    assert checkout["with"] == {"persist-credentials": False, "fetch-depth": 0}
    # The SHA reaches git through the environment, never interpolated into the script.
    assert switch["env"] == {"DEPLOYED_SHA": "${{ steps.deployed.outputs.sha }}"}
    assert switch["run"] == 'git checkout --quiet --detach "$DEPLOYED_SHA"'
    # build-push and tf-apply get what the deploy job gives them: the build finds the image
    # the deployed commit's inputs name, and the apply reads the environment's secrets.
    build, apply = steps[5], steps[6]
    deploy_steps = {s["name"]: s for s in deploy["steps"]}
    assert build["with"] == deploy_steps["Build the image and push it"]["with"]
    deployed = deploy_steps["Deploy the new image with the service's Terraform"]
    # All but `var`: the deploy passes `image` too (issue 28 point 3), which the redeploy's
    # rewrite (issue 28 point 1) takes from the running image.
    assert {k: v for k, v in apply["with"].items() if k != "var"} == {
        k: v for k, v in deployed["with"].items() if k != "var"
    }
    assert apply["env"] == deployed["env"]
    # After the apply (only when it succeeded: no `if`), the applied commit is recorded as what
    # dev runs, the job's token and the run's URL from the action's defaults.
    record = steps[7]
    assert "if" not in record and "env" not in record
    assert record["with"] == {
        "environment": "dev",
        "record": "${{ steps.deployed.outputs.sha }}",
        "github-api-url": "${{ vars.TOTO_GITHUB_API_URL || github.api_url }}",
    }


def test_on_the_cloud_engine_the_run_names_the_deployed_commit(
    cli: CliRunner, tmp_path: Path
) -> None:
    workflow = render(cli, tmp_path)
    apply = workflow["jobs"]["redeploy-prod"]["steps"][-2]  # the last records the commit
    assert apply["with"]["message"] == (
        "Redeploy ${{ steps.deployed.outputs.sha }} with the new core values"
    )
    assert apply["env"]["TF_API_TOKEN"] == "${{ secrets.TF_API_TOKEN }}"


@pytest.mark.parametrize(
    ("options", "event_type"),
    [
        (("--sync-dispatch", "core: moved"), "core: moved"),
        (("--sync-dispatch", "none"), None),
    ],
)
def test_the_event_type_is_a_setting_and_none_renders_no_redeploy(
    cli: CliRunner, tmp_path: Path, options: tuple[str, ...], event_type: str | None
) -> None:
    workflow = render(cli, tmp_path, *options)
    jobs = list(workflow["jobs"])
    if event_type is None:
        assert "repository_dispatch" not in workflow[True]
        assert not [name for name in jobs if name.startswith("redeploy-")]
    else:
        assert workflow[True]["repository_dispatch"] == {"types": [event_type]}
        assert "redeploy-dev" in jobs


def test_the_event_type_can_come_from_toto_yml(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "toto.yml").write_text("sync-dispatch: core-updated\n", encoding="utf-8")
    workflow = render(cli, tmp_path)
    assert workflow[True]["repository_dispatch"] == {"types": ["core-updated"]}
