"""The two Toto flows end to end: the workflows `render-workflow` writes, run unchanged by act.

Each test holds a git repository as a user would (the rendered workflow, a Terraform
configuration of built-in `terraform_data` resources, for the service a `FROM scratch`
Dockerfile) and runs one job of its workflow under act against the local stack: the Docker
engine, the registry, moto (S3 state, STS), the stand-in GitHub and HCP Terraform servers.
Everything that points a flow at the stack is a knob the rendered workflow already reads
(repository variables and secrets, see its header). The repositories, their files and the act
run of each flow are in tests/e2e/flows.py (shared with scripts/demo); the runner itself is in
tests/e2e/act.py.

The core flow of `dev` on the cli engine runs once per module (`core_dev`), the service flow
after it with the secrets that flow wrote (`service_dev`); the other tests start from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from testing.github.server import GitHubServer
from testing.local_stack import Registry
from testing.tfc.server import TfcServer
from tests.conftest import CliRunner
from tests.e2e import flows
from tests.e2e.act import Act, assert_nothing_leaked
from tests.e2e.repositories import commit, copy_repository, git, head
from toto_actions.github.sync_permissions import token_permissions

ACCESS_TOKENS = "/app/installations/{installation_id}/access_tokens"


def rendered_token_permissions(repository: Path) -> dict[str, str]:
    """The permission-* inputs the rendered core workflow gives create-github-app-token, as the
    action turns them into GitHub's keys."""
    workflow = yaml.safe_load((repository / flows.CORE_WORKFLOW).read_text(encoding="utf-8"))
    steps = workflow["jobs"]["apply-dev"]["steps"]
    inputs = next(s["with"] for s in steps if "create-github-app-token" in s.get("uses", ""))
    return {
        key.removeprefix("permission-").replace("-", "_"): value
        for key, value in inputs.items()
        if key.startswith("permission-")
    }


def minted_permissions(github: GitHubServer) -> list[dict[str, str]]:
    """The permissions of each installation token the app was given, as GitHub granted them."""
    return [
        dict(r.body["permissions"])
        for r in github.requests
        if r.route == ACCESS_TOKENS and r.status == 201
    ]


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        flows.serve_service_repositories(server, flows.SERVICE_REPOSITORIES)
        yield server
        assert server.errors == []


@pytest.fixture(scope="module")
def core_dev(stack: flows.Stack, tmp_path_factory: pytest.TempPathFactory) -> flows.Flow:
    """The core repository, its workflow rendered for the cli engine with a token for the sync,
    and the first push to main run: tf-apply of toto-terra-aws-dev, then sync-secrets."""
    repository = flows.new_core_repository(
        tmp_path_factory.mktemp("core") / "toto-terra-aws", engine="cli", bucket=stack.bucket
    )
    return flows.run_core_cli(stack, repository)


@pytest.fixture(scope="module")
def service_dev(
    core_dev: flows.Flow,
    stack: flows.Stack,
    registry: Registry,
    tmp_path_factory: pytest.TempPathFactory,
) -> flows.Flow:
    """The service repository, its workflow rendered for the cli engine, and a push to main run
    with the secrets the core flow wrote into its `dev` environment."""
    assert core_dev.run.exit_code == 0, flows.log(core_dev.run)
    repository = flows.new_service_repository(
        tmp_path_factory.mktemp("service") / flows.SERVICE, stack.bucket
    )
    return flows.run_service_cli(stack, repository, registry)


# ------------------------------------------------------------------------------------------------
# Tests


def test_the_core_flow_applies_then_writes_the_ids_into_every_service_repository(
    core_dev: flows.Flow, stack: flows.Stack
) -> None:
    run = core_dev.run
    flows.assert_green(
        run,
        "Check out the core infrastructure",
        "Configure AWS credentials (OIDC)",
        "Set up Terraform",
        "Apply the core Terraform",
        "Write the core outputs as secrets of the service repositories",
        "Write them into the plan environment dev-plan too",
    )
    assert flows.state_outputs(stack.core_state()) == {
        **flows.CORE_IDS,
        "db_password": flows.DB_PASSWORD,
    }
    for repository in flows.SERVICE_REPOSITORIES:
        assert stack.github.secrets(repository, "dev") == flows.EXPECTED_SECRETS, repository
        # The pull requests' plans read the same IDs in their own environment, no secret.
        assert stack.github.secrets(repository, "dev-plan") == flows.PLAN_SECRETS, repository
        assert stack.github.secrets(repository) == {}  # the environment's, not the repository's
        assert stack.github.dispatches(repository) == []  # rendered without a dispatch
    # The sync ran on a token with exactly the permissions the workflow asks for, and the
    # stand-in refused nothing it did (errors are checked when the module ends).
    rendered = rendered_token_permissions(core_dev.repository)
    assert rendered == token_permissions("environment", create_environments=False, dispatch=False)
    assert minted_permissions(stack.github) == [rendered]
    assert_nothing_leaked(run, core_dev.sensitive)


def test_a_second_core_apply_that_moves_a_subnet_rewrites_one_secret_per_repository(
    core_dev: flows.Flow, stack: flows.Stack, tmp_path: Path
) -> None:
    assert core_dev.run.exit_code == 0, flows.log(core_dev.run)
    repository = copy_repository(core_dev.repository, tmp_path / "toto-terra-aws")
    moved = {**flows.CORE_IDS, "ecs_subnet_2": flows.MOVED_SUBNET}
    commit(
        repository,
        {"terraform/main.tf": flows.core_configuration(moved, s3_backend=True)},
        "Move the second ECS subnet",
    )
    flows.render_core_workflow(
        repository, "cli", flows.SERVICE_REPOSITORIES, "--sync-dispatch=toto-core-changed"
    )
    stack.github.clear_requests()
    flow = flows.run_core_cli(stack, repository)
    assert flow.run.exit_code == 0, flows.log(flow.run)
    assert minted_permissions(stack.github) == [rendered_token_permissions(repository)]
    assert minted_permissions(stack.github)[0]["contents"] == "write"  # for the dispatch
    assert stack.secret_puts() == sorted(
        f"/repos/{service}/environments/{environment}/secrets/ECS_SUBNET_2"
        for service in flows.SERVICE_REPOSITORIES
        for environment in ("dev", "dev-plan")
    )
    for service in flows.SERVICE_REPOSITORIES:
        assert stack.github.secrets(service, "dev") == {
            **flows.EXPECTED_SECRETS,
            "ECS_SUBNET_2": flows.MOVED_SUBNET,
        }
        # Rendered with --sync-dispatch: each repository that changed hears of it, names only.
        assert stack.github.dispatches(service) == [
            {
                "event_type": "toto-core-changed",
                "client_payload": {"environment": "dev", "changed": ["ECS_SUBNET_2"]},
            }
        ]
    assert flows.state_outputs(stack.core_state())["ecs_subnet_2"] == flows.MOVED_SUBNET
    assert_nothing_leaked(flow.run, flow.sensitive)


def test_a_core_plan_that_destroys_a_resource_fails_the_workflow_and_destroys_nothing(
    core_dev: flows.Flow, stack: flows.Stack, tmp_path: Path
) -> None:
    assert core_dev.run.exit_code == 0, flows.log(core_dev.run)
    repository = copy_repository(core_dev.repository, tmp_path / "toto-terra-aws")
    without_listener = {k: v for k, v in flows.CORE_IDS.items() if k != "alb_listener_arn"}
    commit(
        repository,
        {"terraform/main.tf": flows.core_configuration(without_listener, s3_backend=True)},
        "Remove the listener",
    )
    before = stack.core_state()
    stack.github.clear_requests()
    flow = flows.run_core_cli(stack, repository)
    assert flow.run.exit_code != 0, flows.log(flow.run)
    assert "terraform_data.alb_listener_arn (delete): not applied" in flow.run.output
    assert flow.run.outcomes().get("Apply the core Terraform") == "Failure"
    assert "Write the core outputs as secrets of the service repositories" not in (
        flow.run.outcomes()
    )
    assert stack.core_state() == before  # not a byte of the state changed
    assert stack.github.writes() == []
    assert_nothing_leaked(flow.run, flow.sensitive)


def test_the_service_flow_pushes_the_image_and_deploys_its_tag_with_the_core_ids(
    service_dev: flows.Flow, stack: flows.Stack, registry: Registry
) -> None:
    run = service_dev.run
    assert run.exit_code == 0, flows.log(run)
    assert flows.succeeded(run, "Build the image and push it"), flows.log(run)
    assert flows.succeeded(run, "Deploy the new image with the service's Terraform"), flows.log(run)
    tag = head(service_dev.repository)[:7]  # build-push's default tag: the short commit
    inputs_tag = run.outputs()["inputs-tag"]
    assert inputs_tag.startswith("toto-inputs-"), inputs_tag
    # dev's images go to dev's own repository (issue 28 point 3).
    tags = flows.registry_tags(registry, f"{flows.SERVICE}/dev")
    assert {tag, "1.0.0", inputs_tag} <= set(tags), tags
    # The content-addressed tag is deployed (an unchanged image never redeploys); the short
    # commit stays a tag for people. The image goes beside it, by digest.
    deployment = flows.state_outputs(stack.state(flows.SERVICE_WORKSPACE, flows.SERVICE_STATE_KEY))[
        "deployment"
    ]
    assert deployment["image_tag"] == inputs_tag
    assert deployment["image"] == f"{registry.host}/{flows.SERVICE}/dev@{run.outputs()['digest']}"
    assert {name: deployment[name] for name in flows.CORE_IDS} == {
        name: service_dev.secrets[name.upper()] for name in flows.CORE_IDS
    }
    assert_nothing_leaked(run, service_dev.sensitive)


def test_the_core_flow_on_the_cloud_engine(act: Act, tmp_path: Path) -> None:
    """tf-apply as an API-driven run on the stand-in HCP Terraform, then the sync (into one
    service repository: the sync paces its writes one second apart)."""
    service = f"{flows.ORG}/toto-ms-games"
    with (
        TfcServer(step_seconds=0.02, state_processing_seconds=0.3) as tfc,
        GitHubServer() as github,
    ):
        flows.serve_core_workspace(tfc)
        flows.serve_service_repositories(github, (service,))
        repository = flows.new_core_repository(
            tmp_path / "toto-terra-aws", engine="cloud", repositories=(service,)
        )
        flow = flows.run_core_cloud(act, repository, tfc, github)
        run = flow.run
        assert run.exit_code == 0, flows.log(run)
        assert [r.status for r in tfc.runs(flows.ORG, flows.CORE_WORKSPACE)] == ["applied"]
        outputs = tfc.workspace_state_outputs(flows.ORG, flows.CORE_WORKSPACE)
        assert {name: output["value"] for name, output in outputs.items()} == {
            **flows.CORE_IDS,
            "db_password": flows.DB_PASSWORD,
        }
        assert github.secrets(service, "dev") == flows.EXPECTED_SECRETS
        assert tfc.errors == [] and github.errors == []
    assert_nothing_leaked(run, flow.sensitive)


MOVED_SECURITY_GROUP = "sg-0e2e0000000000b01"


def seed_branch(github: GitHubServer, service: str, repository: Path, branch: str) -> None:
    """The stand-in GitHub's branch, as the real repository holds it (its first-parent line of
    commits, oldest first: the repositories here have no merges)."""
    commits = git(repository, "rev-list", "--first-parent", "--reverse", branch).split()
    github.add_branch(service, branch, commits)


def test_a_core_change_redeploys_the_commit_dev_runs_with_the_moved_id(
    service_dev: flows.Flow, stack: flows.Stack, registry: Registry, tmp_path: Path, cli: CliRunner
) -> None:
    """The core's sync moved one secret of the service's dev environment and sent the dispatch
    (seeded here: the core flow's own dispatch is test_a_second_core_apply...). The service's
    main has moved on to a commit that was never deployed (its deploy failed). Two runs, as on
    GitHub: the repository_dispatch handler (default branch, no environment) finds the commit dev
    runs and starts the workflow with redeploy on the branch that holds it; that
    workflow_dispatch run's redeploy-dev applies the image dev runs, at that commit, with the
    moved ID, and records it, so that the next core change finds it again rather than GitHub's
    record of the redeploy job (a deployment of the run's commit, main's newest: act makes none,
    so it is seeded)."""
    assert service_dev.run.exit_code == 0, flows.log(service_dev.run)
    service = f"{flows.ORG}/{flows.SERVICE}"
    deployed, deployed_tag = head(service_dev.repository), service_dev.run.outputs()["inputs-tag"]
    repository = copy_repository(service_dev.repository, tmp_path / flows.SERVICE)
    newer = commit(repository, {"app.txt": "expenses, version two\n"}, "Version two")
    seed_branch(stack.github, service, repository, "main")
    stack.github.add_deployment(service, "dev", deployed, ["queued", "in_progress", "success"])
    stack.github.add_deployment(service, "dev", newer, ["queued", "in_progress", "failure"])
    stack.github.set_secret(service, "ECS_SECURITY_GROUP", MOVED_SECURITY_GROUP, "dev")
    stack.github.clear_requests()
    handler = flows.run_service_cli(
        stack,
        repository,
        registry,
        job="redeploy-dispatch",
        event={
            "action": "toto-core-changed",
            "client_payload": {"environment": "dev", "changed": ["ECS_SECURITY_GROUP"]},
        },
        event_name="repository_dispatch",
        environment=None,  # the handler names no environment: none of its secrets
    )
    assert handler.run.exit_code == 0, flows.log(handler.run)
    assert flows.succeeded(handler.run, "Start the redeploy of dev on its branch"), flows.log(
        handler.run
    )
    [dispatch] = stack.github.workflow_dispatches(service)
    assert dispatch == {
        "workflow_id": "toto-microservice.yml",
        "ref": "main",
        "inputs": {"redeploy": "true"},
    }
    # GitHub's record of the redeploy job, made as it starts: of the run's commit (main's).
    job = stack.github.add_deployment(service, "dev", newer, ["queued", "in_progress"])
    stack.github.advance_clock(5)  # the job runs after GitHub made that record
    stack.github.clear_requests()
    flow = flows.run_service_cli(
        stack,
        repository,
        registry,
        job="redeploy-dev",
        # The workflow_dispatch event GitHub makes of that dispatch: its inputs, as strings.
        event={"inputs": dispatch["inputs"], "ref": f"refs/heads/{dispatch['ref']}"},
        event_name="workflow_dispatch",
    )
    run = flow.run
    flows.assert_green(
        run,
        "Read the outputs of what dev runs now",
        "Find the image and the commit dev runs now",
        "Switch to the deployed commit",
        "Apply the deployed image with the new core values",
    )
    assert run.outputs()["sha"] == deployed
    assert not [step for step in run.outcomes() if "Build" in step]  # never a build
    deployment = flows.state_outputs(stack.state(flows.SERVICE_WORKSPACE, flows.SERVICE_STATE_KEY))[
        "deployment"
    ]
    assert deployment["image_tag"] == deployed_tag  # the deployed commit's, not main's newer one
    assert deployment["ecs_security_group"] == MOVED_SECURITY_GROUP
    assert {name: deployment[name] for name in flows.CORE_IDS} == {
        name: flow.secrets[name.upper()] for name in flows.CORE_IDS
    }
    assert flows.succeeded(run, "Record the deployed commit as what dev runs"), flows.log(run)
    record = stack.github.deployments(service)[-1]
    assert (record.sha, record.environment) == (deployed, "dev")
    [status] = record.statuses
    assert status.state == "success"
    assert status.log_url.startswith(f"https://github.com/{service}/actions/runs/"), status
    assert_nothing_leaked(run, flow.sensitive)
    # The job ends: GitHub marks its record success. The next core change's lookup still
    # finds the deployed commit, through the record made after GitHub's.
    stack.github.add_deployment_status(service, job, "success")
    again = cli(
        "deployed-commit",
        "--environment",
        "dev",
        "--branches",
        "feature/**,main",
        env={
            "GITHUB_REPOSITORY": service,
            "GITHUB_TOKEN": flows.JOB_TOKEN,
            "GITHUB_API_URL": stack.github.url,
            "GITHUB_REF_NAME": "main",
        },
    )
    assert again.exit_code == 0, again.stderr
    assert f"sha={deployed}" in again.stdout.splitlines(), again.stdout


def test_no_secret_or_sensitive_value_appears_in_act_output(
    core_dev: flows.Flow, service_dev: flows.Flow
) -> None:
    """The secrets act was given and the core's sensitive output, which went through every step
    of both flows (they arrived: see the tests above), are nowhere in act's output; act's
    output is the whole log (each step's lines), masked where the values were."""
    for flow in (core_dev, service_dev):
        assert flow.run.exit_code == 0, flows.log(flow.run)
        assert "***" in flow.run.output
        assert_nothing_leaked(flow.run, flow.sensitive)
    assert flows.DB_PASSWORD in service_dev.secrets.values()  # it did travel to the service
