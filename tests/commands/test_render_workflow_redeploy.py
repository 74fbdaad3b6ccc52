"""The service workflow's redeploy on a core change (issue 28 point 1, interface of
/work/briefs/interface28.md): the repository_dispatch handler `redeploy-dispatch` (default branch,
no environment) starts the workflow with the input `redeploy` on the branch that holds the commit
the environment runs; the `redeploy-<env>` job of that run, on a branch the environment's policy
admits, applies the image the environment runs now, never a build (tests/e2e/test_flows.py runs
both under act).

GitHub's documentation followed: "Events that trigger workflows" (workflow_dispatch `inputs`,
`type: boolean`, read as `inputs.<name>`, a boolean); the REST endpoint POST
/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches takes "the workflow file name"
as workflow_id and needs Actions: write (github/docs' server-to-server permission data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from testing.actions_metadata import metadata
from tests.commands.test_render_workflow import load, microservice_named
from tests.conftest import CliRunner, write_toto_yml

MICROSERVICE = Path(".github/workflows/toto-microservice.yml")
MS = microservice_named("toto-ms-expenses")
ENVIRONMENTS = "dev=main,feature/**;qa=qa/**;prod=release/**"
API = "${{ vars.TOTO_GITHUB_API_URL || github.api_url }}"
JOB_CONDITIONS = {
    "dev": "github.ref == 'refs/heads/main' || startsWith(github.ref, 'refs/heads/feature/')",
    "qa": "startsWith(github.ref, 'refs/heads/qa/')",
    "prod": "startsWith(github.ref, 'refs/heads/release/')",
}
PATTERNS = {"dev": "main,feature/**", "qa": "qa/**", "prod": "release/**"}


def render(inline_cli: CliRunner, tmp_path: Path, *options: str) -> dict[Any, Any]:
    result = inline_cli("render-workflow", *MS, *options)
    assert (result.exit_code, result.stderr) == (0, ""), result.stdout
    return load(tmp_path / MICROSERVICE)


def test_the_workflow_takes_a_redeploy_input_and_the_core_event(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    workflow = render(inline_cli, tmp_path, "--environments", ENVIRONMENTS)
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    assert workflow[True]["repository_dispatch"] == {"types": ["toto-core-changed"]}
    redeploy = workflow[True]["workflow_dispatch"]["inputs"]["redeploy"]
    assert (redeploy["type"], redeploy["default"]) == ("boolean", False)


def test_the_handler_names_no_environment_and_starts_the_workflow_on_the_environment_branch(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    workflow = render(inline_cli, tmp_path, "--environments", ENVIRONMENTS)
    handler = workflow["jobs"]["redeploy-dispatch"]
    assert handler["if"] == "github.event_name == 'repository_dispatch'"
    # No environment: a repository_dispatch run is on the default branch, which a protected
    # environment's branch policy may refuse; and no environment secret is within its reach.
    assert "environment" not in handler
    assert handler["permissions"] == {
        "actions": "write",
        "contents": "read",
        "deployments": "read",
    }
    refuse, *starts = handler["steps"]
    assert refuse["if"] == (
        '!contains(fromJSON(\'["dev", "qa", "prod"]\'), github.event.client_payload.environment)'
    )
    # The payload reaches the script through env only.
    assert refuse["env"] == {"ENVIRONMENT": "${{ github.event.client_payload.environment }}"}
    assert "${{" not in refuse["run"] and "exit 1" in refuse["run"]
    assert [step["if"] for step in starts] == [
        f"github.event.client_payload.environment == '{name}'" for name in PATTERNS
    ]
    for step, (name, patterns) in zip(starts, PATTERNS.items(), strict=True):
        assert step["uses"] == "toto/actions/actions/deployed-commit@v1"
        assert step["with"] == {
            "environment": name,
            "branches": patterns,
            "dispatch-workflow": MICROSERVICE.name,
            "github-api-url": API,
        }


def test_each_environment_redeploys_on_a_workflow_dispatch_with_redeploy_on_its_branches(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    workflow = render(inline_cli, tmp_path, "--environments", ENVIRONMENTS)
    jobs = workflow["jobs"]
    redeploys = [
        name for name in jobs if name.startswith("redeploy-") and name != "redeploy-dispatch"
    ]
    assert redeploys == ["redeploy-dev", "redeploy-qa", "redeploy-prod"]
    for environment, condition in JOB_CONDITIONS.items():
        job, deploy = jobs[f"redeploy-{environment}"], jobs[f"deploy-{environment}"]
        assert job["if"] == (
            f"github.event_name == 'workflow_dispatch' && inputs.redeploy == true && ({condition})"
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
        assert job["concurrency"] == deploy["concurrency"]
        # The deploy job runs on a push or a workflow_dispatch without redeploy, never both.
        assert deploy["if"] == (
            "(github.event_name == 'push' || (github.event_name == 'workflow_dispatch' && "
            f"inputs.redeploy != true)) && ({condition})"
        )


def test_the_redeploy_applies_the_running_image_at_the_deployed_commit_and_never_builds(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    workflow = render(inline_cli, tmp_path, "--terraform-engine", "cli")
    job, deploy = workflow["jobs"]["redeploy-dev"], workflow["jobs"]["deploy-dev"]
    steps = job["steps"]
    assert [s.get("uses", "run").split("@")[0] for s in steps] == [
        "actions/checkout",
        "aws-actions/configure-aws-credentials",
        "hashicorp/setup-terraform",
        "toto/actions/actions/tf-apply",
        "toto/actions/actions/deployed-commit",
        "run",
        "toto/actions/actions/tf-apply",
        "toto/actions/actions/deployed-commit",
    ]
    checkout, current, found, switch, apply, record = (steps[i] for i in (0, 3, 4, 5, 6, 7))
    assert checkout["with"] == {"persist-credentials": False, "fetch-depth": 0}
    deploy_steps = {s["name"]: s for s in deploy["steps"]}
    deployed = deploy_steps["Deploy the new image with the service's Terraform"]
    # The outputs of what dev runs now: no plan, no apply; and no core value within reach.
    assert current["id"] == "current"
    assert current["with"] == {
        **{k: v for k, v in deployed["with"].items() if k not in DEPLOY_ONLY_INPUTS},
        "outputs-only": True,
    }
    assert "env" not in current
    assert found["id"] == "deployed"
    assert found["with"] == {
        "environment": "dev",
        "branches": "feature/**,main",  # the default environments: dev=feature/**,main
        "outputs-file": "${{ steps.current.outputs.outputs-file }}",
        "image-repository": "toto-ms-expenses/dev",
        "registry": "${{ vars.TOTO_REGISTRY }}",
        "registry-username": "${{ vars.TOTO_REGISTRY_USERNAME }}",
        "registry-password": "${{ secrets.TOTO_REGISTRY_PASSWORD }}",
        "github-api-url": API,
    }
    # The SHA reaches git through the environment, never interpolated into the script.
    assert switch["env"] == {"DEPLOYED_SHA": "${{ steps.deployed.outputs.sha }}"}
    assert switch["run"] == 'git checkout --quiet --detach "$DEPLOYED_SHA"'
    # The apply takes the image found, by digest, and its tag; the deploy's other inputs.
    assert apply["with"] == {
        **{
            k: v
            for k, v in deployed["with"].items()
            if k not in {"var", "require-reviewed-plan", "reviewed-as"}
        },
        "var": (
            "image_tag=${{ steps.deployed.outputs.image-tag }}\n"
            "image=${{ steps.deployed.outputs.image }}\n"
        ),
    }
    assert apply["env"] == deployed["env"]
    # After the apply (only when it succeeded: no `if`), the applied commit is recorded.
    assert "if" not in record and "env" not in record
    assert record["with"] == {
        "environment": "dev",
        "record": "${{ steps.deployed.outputs.sha }}",
        "github-api-url": API,
    }


# The deploy job's tf-apply inputs a read of the current outputs has no use for.
DEPLOY_ONLY_INPUTS = frozenset(
    {"var", "wait-for-services", "require-reviewed-plan", "reviewed-as", "message"}
)


def test_on_the_cloud_engine_the_run_names_the_deployed_commit(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    workflow = render(inline_cli, tmp_path)
    steps = workflow["jobs"]["redeploy-prod"]["steps"]
    current, apply = steps[2], steps[-2]  # the last records the commit
    assert current["env"] == {"TF_API_TOKEN": "${{ secrets.TF_API_TOKEN }}"}
    assert apply["with"]["message"] == (
        "Redeploy ${{ steps.deployed.outputs.sha }} with the new core values"
    )
    assert apply["env"]["TF_API_TOKEN"] == "${{ secrets.TF_API_TOKEN }}"


def test_every_input_the_redeploy_jobs_give_a_toto_action_is_one_of_its_inputs(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    """Fails until running-image's branch (tf-apply outputs-only; deployed-commit outputs-file,
    image-repository, registry, registry-username, registry-password) is merged."""
    workflow = render(inline_cli, tmp_path, "--terraform-engine", "cli")
    unknown = []
    for name, job in workflow["jobs"].items():
        if not name.startswith("redeploy-"):
            continue
        for step in job["steps"]:
            uses = step.get("uses", "")
            if uses.startswith("toto/actions/actions/"):
                action = uses.removeprefix("toto/actions/actions/").split("@")[0]
                inputs = metadata(action)["inputs"]
                unknown += [f"{name}: {action} {key}" for key in step["with"] if key not in inputs]
    assert unknown == []


@pytest.mark.parametrize(
    ("options", "event_type"),
    [
        (("--sync-dispatch", "core: moved"), "core: moved"),
        (("--sync-dispatch", "none"), None),
    ],
)
def test_the_event_type_is_a_setting_and_none_renders_no_redeploy(
    inline_cli: CliRunner, tmp_path: Path, options: tuple[str, ...], event_type: str | None
) -> None:
    workflow = render(inline_cli, tmp_path, *options)
    jobs = list(workflow["jobs"])
    if event_type is None:
        assert "repository_dispatch" not in workflow[True]
        assert workflow[True]["workflow_dispatch"] is None  # no redeploy input either
        assert not [name for name in jobs if name.startswith("redeploy-")]
        assert workflow["jobs"]["deploy-dev"]["if"].startswith(
            "(github.event_name == 'push' || github.event_name == 'workflow_dispatch') && ("
        )
    else:
        assert workflow[True]["repository_dispatch"] == {"types": [event_type]}
        assert {"redeploy-dispatch", "redeploy-dev"} <= set(jobs)


def test_the_event_type_can_come_from_toto_yml(inline_cli: CliRunner, tmp_path: Path) -> None:
    write_toto_yml(tmp_path, "sync-dispatch: core-updated\n")
    workflow = render(inline_cli, tmp_path)
    assert workflow[True]["repository_dispatch"] == {"types": ["core-updated"]}
