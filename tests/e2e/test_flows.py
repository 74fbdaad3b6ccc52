"""The two Toto flows end to end: the workflows `render-workflow` writes, run unchanged by act.

Each test holds a git repository as a user would (the rendered workflow, a Terraform
configuration of built-in `terraform_data` resources, for the service a `FROM scratch`
Dockerfile) and runs one job of its workflow under act against the local stack: the Docker
engine, the registry, moto (S3 state, STS), the stand-in GitHub and HCP Terraform servers.
Everything that points a flow at the stack is a knob the rendered workflow already reads
(repository variables and secrets, see its header); see tests/e2e/act.py for the runner itself.

The core flow of `dev` on the cli engine runs once per module (`core_dev`), the service flow
after it with the secrets that flow wrote (`service_dev`); the other tests start from there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.act import Act, ActRun, assert_nothing_leaked
from tests.e2e.conftest import s3_client
from tests.e2e.repositories import (
    commit,
    copy_repository,
    head,
    new_repository,
    render_workflow,
)
from tests.github_server import GitHubServer
from tests.local_stack import MOTO_ACCOUNT_ID, MOTO_REGION, MotoServer, Registry
from tests.tfc_server import TfcServer

ORG = "acme"
CORE_REPOSITORY = f"{ORG}/toto-terra-aws"
SERVICE = "toto-ms-expenses"
SERVICE_REPOSITORIES = (
    f"{ORG}/toto-ms-expenses",
    f"{ORG}/toto-ms-games",
    f"{ORG}/toto-ms-supermarket",
)
ROLE_ARN = f"arn:aws:iam::{MOTO_ACCOUNT_ID}:role/toto-deploy"
BACKEND_CONFIG = "terraform/backend-dev.hcl"
CORE_WORKFLOW = ".github/workflows/toto-core.yml"
CORE_STATE_KEY = "core/terraform.tfstate"
SERVICE_STATE_KEY = f"{SERVICE}/terraform.tfstate"
MAIN = {"ref": "refs/heads/main"}  # the push event's payload: what act needs of it

SYNC_TOKEN = "github_pat_e2e_sync_token_8c2b7d41"
FINGERPRINT_KEY = "e2e-fingerprint-key-5d1f0c93"
TF_API_TOKEN = "e2e-team-token.atlasv1.c4f2a7e1"
JOB_TOKEN = "ghs_e2e_job_token_not_used_0a9e"  # github.token; no step of the flows uses it
DB_PASSWORD = "e2e-core-db-password-3f9c1a"

_ACCOUNT, _REGION = MOTO_ACCOUNT_ID, MOTO_REGION
CORE_IDS = {  # the core configuration's outputs, standing for what the real one creates
    "vpc_id": "vpc-0e2e00000000000a1",
    "ecs_subnet_1": "subnet-0e2e0000000000a01",
    "ecs_subnet_2": "subnet-0e2e0000000000a02",
    "ecs_security_group": "sg-0e2e0000000000a01",
    "ecs_cluster_arn": f"arn:aws:ecs:{_REGION}:{_ACCOUNT}:cluster/toto-dev",
    "ecs_task_execution_role_arn": f"arn:aws:iam::{_ACCOUNT}:role/toto-dev-task-execution",
    "ecs_task_role_arn": f"arn:aws:iam::{_ACCOUNT}:role/toto-dev-task",
    "alb_listener_arn": (
        f"arn:aws:elasticloadbalancing:{_REGION}:{_ACCOUNT}:listener/app/toto-dev/0e2e/0e2e"
    ),
}
MOVED_SUBNET = "subnet-0e2e0000000000b02"
# What every service repository's `dev` environment holds after the core flow.
EXPECTED_SECRETS = {
    **{name.upper(): value for name, value in CORE_IDS.items()},
    "DB_PASSWORD": DB_PASSWORD,
}


# ------------------------------------------------------------------------------------------------
# The repositories' files


def core_configuration(ids: Mapping[str, str], *, s3_backend: bool) -> str:
    """A core configuration: one terraform_data per ID and an output of each, a sensitive
    database password; the S3 backend (cli engine) or none (HCP Terraform keeps the state)."""
    blocks = ['terraform {\n  backend "s3" {}\n}\n'] if s3_backend else []
    for name, value in ids.items():
        blocks.append(f'resource "terraform_data" "{name}" {{\n  input = "{value}"\n}}\n')
        blocks.append(f'output "{name}" {{\n  value = terraform_data.{name}.output\n}}\n')
    blocks.append(
        f'output "db_password" {{\n  value     = "{DB_PASSWORD}"\n  sensitive = true\n}}\n'
    )
    return "\n".join(blocks)


def secrets_mapping(repositories: tuple[str, ...]) -> str:
    """toto-secrets.yml: every core ID and the password, into each service's environment."""
    lines = ["version: 1", f"owner: {ORG}", "repositories:"]
    lines += [f"  - {repository.split('/')[1]}" for repository in repositories]
    lines.append("secrets:")
    lines += [f"  {name}: {name.lower()}" for name in EXPECTED_SECRETS]
    return "\n".join(lines) + "\n"


def backend_config(bucket: str, key: str) -> str:
    return (
        f'bucket = "{bucket}"\n'
        f'key    = "{key}"\n'
        f'region = "{MOTO_REGION}"\n'
        "use_path_style              = true\n"
        "use_lockfile                = true\n"
        "skip_credentials_validation = true\n"
        "skip_requesting_account_id  = true\n"
        "skip_metadata_api_check     = true\n"
        "skip_region_validation      = true\n"
    )


def service_configuration() -> str:
    """A service configuration: the deployment (a terraform_data standing for the task
    definition and service) made of the image tag and the core IDs, and outputs of both."""
    names = list(CORE_IDS)
    variables = "".join(
        f'variable "{name}" {{\n  type = string\n}}\n\n' for name in ["image_tag", *names]
    )
    deployment = "".join(f"    {name} = var.{name}\n" for name in ["image_tag", *names])
    return (
        'terraform {\n  backend "s3" {}\n}\n\n'
        f"{variables}"
        'resource "terraform_data" "deployment" {\n  input = {\n'
        f"{deployment}"
        "  }\n}\n\n"
        'output "deployment" {\n  value = terraform_data.deployment.output\n}\n'
    )


SERVICE_FILES = {
    "Dockerfile": "FROM scratch\nCOPY app.txt /app.txt\n",
    "app.txt": "expenses, version one\n",
    "package.json": json.dumps({"name": SERVICE, "version": "1.0.0"}) + "\n",
    ".dockerignore": ".git\n.github\nterraform\n",
    "terraform/main.tf": service_configuration(),
}


# ------------------------------------------------------------------------------------------------
# The stack and the flows


@dataclass(frozen=True)
class Stack:
    """What the module's flows run on: act, the stand-in GitHub, moto and the state bucket."""

    act: Act
    github: GitHubServer
    moto_server: MotoServer
    bucket: str

    def state(self, workspace: str, key: str) -> bytes:
        """The raw state of a workspace in the S3 backend (workspace_key_prefix `env:`)."""
        found = s3_client(self.moto_server).get_object(
            Bucket=self.bucket, Key=f"env:/{workspace}/{key}"
        )
        body: bytes = found["Body"].read()
        return body

    def core_state(self) -> bytes:
        return self.state("toto-terra-aws-dev", CORE_STATE_KEY)

    def secret_puts(self) -> list[str]:
        """The secret writes the stand-in GitHub accepted since it last forgot its requests."""
        return sorted(
            r.path for r in self.github.writes() if r.method == "PUT" and "/secrets/" in r.path
        )


@dataclass(frozen=True)
class Flow:
    """One act run of a flow, and what it was given."""

    repository: Path
    run: ActRun
    secrets: Mapping[str, str]  # what act was given with --secret-file
    sensitive: frozenset[str]  # values that must never appear in act's output


def state_outputs(state: bytes) -> dict[str, Any]:
    outputs: dict[str, Any] = json.loads(state)["outputs"]
    return {name: output["value"] for name, output in outputs.items()}


def registry_tags(registry: Registry, repository: str) -> list[str]:
    answer = requests.get(f"{registry.url}/v2/{repository}/tags/list", timeout=10)
    answer.raise_for_status()
    tags: list[str] = answer.json()["tags"]
    return sorted(tags)


def succeeded(run: ActRun, step: str) -> bool:
    return run.outcomes().get(step) == "Success"


def log(run: ActRun) -> str:
    """The end of act's output, for an assertion's message."""
    return "\n".join(run.output.splitlines()[-80:])


def run_core_cli(stack: Stack, repository: Path) -> Flow:
    """A push to main of the core repository (cli engine): the job apply-dev under act."""
    secrets = {
        "TOTO_SYNC_TOKEN": SYNC_TOKEN,
        "TOTO_FINGERPRINT_KEY": FINGERPRINT_KEY,
        "GITHUB_TOKEN": JOB_TOKEN,
    }
    run = stack.act.run(
        repository,
        CORE_WORKFLOW,
        "apply-dev",
        event=MAIN,
        secrets=secrets,
        variables={
            "AWS_ROLE_ARN": ROLE_ARN,
            "AWS_REGION": MOTO_REGION,
            "TOTO_BACKEND_CONFIG": BACKEND_CONFIG,
            "TOTO_GITHUB_API_URL": stack.github.url,
        },
    )
    return Flow(repository, run, secrets, frozenset({*secrets.values(), DB_PASSWORD}))


@pytest.fixture(scope="module")
def github() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        for repository in SERVICE_REPOSITORIES:
            server.add_repository(repository)
        server.add_token(SYNC_TOKEN, SERVICE_REPOSITORIES)
        yield server
        assert server.errors == []


@pytest.fixture(scope="module")
def stack(act: Act, github: GitHubServer, moto_server: MotoServer, state_bucket: str) -> Stack:
    return Stack(act, github, moto_server, state_bucket)


@pytest.fixture(scope="module")
def core_dev(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Flow:
    """The core repository, its workflow rendered for the cli engine with a token for the sync,
    and the first push to main run: tf-apply of toto-terra-aws-dev, then sync-secrets."""
    repository = new_repository(
        tmp_path_factory.mktemp("core") / "toto-terra-aws",
        CORE_REPOSITORY,
        {
            "terraform/main.tf": core_configuration(CORE_IDS, s3_backend=True),
            BACKEND_CONFIG: backend_config(stack.bucket, CORE_STATE_KEY),
            "toto-secrets.yml": secrets_mapping(SERVICE_REPOSITORIES),
        },
    )
    workflow = render_workflow(
        repository,
        "--kind=core",
        "--service=toto-terra-aws",
        "--terraform-engine=cli",
        "--sync-auth=token",
    )
    assert workflow == Path(CORE_WORKFLOW)
    return run_core_cli(stack, repository)


@pytest.fixture(scope="module")
def service_dev(
    core_dev: Flow, stack: Stack, registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Flow:
    """The service repository, its workflow rendered for the cli engine, and a push to main run
    with the secrets the core flow wrote into its `dev` environment."""
    assert core_dev.run.exit_code == 0, log(core_dev.run)
    repository = new_repository(
        tmp_path_factory.mktemp("service") / SERVICE,
        f"{ORG}/{SERVICE}",
        {**SERVICE_FILES, BACKEND_CONFIG: backend_config(stack.bucket, SERVICE_STATE_KEY)},
    )
    workflow = render_workflow(
        repository, "--kind=microservice", f"--service={SERVICE}", "--terraform-engine=cli"
    )
    secrets = {**stack.github.secrets(f"{ORG}/{SERVICE}", "dev"), "GITHUB_TOKEN": JOB_TOKEN}
    run = stack.act.run(
        repository,
        str(workflow),
        "deploy-dev",
        event=MAIN,
        secrets=secrets,
        variables={
            "AWS_ROLE_ARN": ROLE_ARN,
            "AWS_REGION": MOTO_REGION,
            "TOTO_BACKEND_CONFIG": BACKEND_CONFIG,
            "TOTO_REGISTRY": registry.host,
        },
    )
    return Flow(repository, run, secrets, frozenset(secrets.values()))


# ------------------------------------------------------------------------------------------------
# Tests


def test_the_core_flow_applies_then_writes_the_ids_into_every_service_repository(
    core_dev: Flow, stack: Stack
) -> None:
    run = core_dev.run
    assert run.exit_code == 0, log(run)
    for step in (
        "Check out the core infrastructure",
        "Configure AWS credentials (OIDC)",
        "Set up Terraform",
        "Apply the core Terraform",
        "Write the core outputs as secrets of the service repositories",
    ):
        assert succeeded(run, step), log(run)
    assert state_outputs(stack.core_state()) == {**CORE_IDS, "db_password": DB_PASSWORD}
    for repository in SERVICE_REPOSITORIES:
        assert stack.github.secrets(repository, "dev") == EXPECTED_SECRETS, repository
        assert stack.github.secrets(repository) == {}  # the environment's, not the repository's
    assert_nothing_leaked(run, core_dev.sensitive)


def test_a_second_core_apply_that_moves_a_subnet_rewrites_one_secret_per_repository(
    core_dev: Flow, stack: Stack, tmp_path: Path
) -> None:
    assert core_dev.run.exit_code == 0, log(core_dev.run)
    repository = copy_repository(core_dev.repository, tmp_path / "toto-terra-aws")
    moved = {**CORE_IDS, "ecs_subnet_2": MOVED_SUBNET}
    commit(
        repository,
        {"terraform/main.tf": core_configuration(moved, s3_backend=True)},
        "Move the second ECS subnet",
    )
    stack.github.clear_requests()
    flow = run_core_cli(stack, repository)
    assert flow.run.exit_code == 0, log(flow.run)
    assert stack.secret_puts() == sorted(
        f"/repos/{service}/environments/dev/secrets/ECS_SUBNET_2"
        for service in SERVICE_REPOSITORIES
    )
    for service in SERVICE_REPOSITORIES:
        assert stack.github.secrets(service, "dev") == {
            **EXPECTED_SECRETS,
            "ECS_SUBNET_2": MOVED_SUBNET,
        }
        # The rendered workflow offers no knob for sync-secrets' `dispatch`: no event is sent.
        assert stack.github.dispatches(service) == []
    assert state_outputs(stack.core_state())["ecs_subnet_2"] == MOVED_SUBNET
    assert_nothing_leaked(flow.run, flow.sensitive)


def test_a_core_plan_that_destroys_a_resource_fails_the_workflow_and_destroys_nothing(
    core_dev: Flow, stack: Stack, tmp_path: Path
) -> None:
    assert core_dev.run.exit_code == 0, log(core_dev.run)
    repository = copy_repository(core_dev.repository, tmp_path / "toto-terra-aws")
    without_listener = {k: v for k, v in CORE_IDS.items() if k != "alb_listener_arn"}
    commit(
        repository,
        {"terraform/main.tf": core_configuration(without_listener, s3_backend=True)},
        "Remove the listener",
    )
    before = stack.core_state()
    stack.github.clear_requests()
    flow = run_core_cli(stack, repository)
    assert flow.run.exit_code != 0, log(flow.run)
    assert "terraform_data.alb_listener_arn (delete): not applied" in flow.run.output
    assert flow.run.outcomes().get("Apply the core Terraform") == "Failure"
    assert "Write the core outputs as secrets of the service repositories" not in (
        flow.run.outcomes()
    )
    assert stack.core_state() == before  # not a byte of the state changed
    assert stack.github.writes() == []
    assert_nothing_leaked(flow.run, flow.sensitive)


def test_the_service_flow_pushes_the_image_and_deploys_its_tag_with_the_core_ids(
    service_dev: Flow, stack: Stack, registry: Registry
) -> None:
    run = service_dev.run
    assert run.exit_code == 0, log(run)
    assert succeeded(run, "Build the image and push it"), log(run)
    assert succeeded(run, "Deploy the new image with the service's Terraform"), log(run)
    tag = head(service_dev.repository)[:7]  # build-push's default tag: the short commit
    tags = registry_tags(registry, SERVICE)
    assert tag in tags and "1.0.0" in tags, tags
    deployment = state_outputs(stack.state(f"{SERVICE}-dev", SERVICE_STATE_KEY))["deployment"]
    assert deployment["image_tag"] == tag
    assert {name: deployment[name] for name in CORE_IDS} == {
        name: service_dev.secrets[name.upper()] for name in CORE_IDS
    }
    assert_nothing_leaked(run, service_dev.sensitive)


def test_the_core_flow_on_the_cloud_engine(act: Act, tmp_path: Path) -> None:
    """tf-apply as an API-driven run on the stand-in HCP Terraform, then the sync (into one
    service repository: the sync paces its writes one second apart)."""
    service = f"{ORG}/toto-ms-games"
    with (
        TfcServer(step_seconds=0.02, state_processing_seconds=0.3) as tfc,
        GitHubServer() as github,
    ):
        tfc.add_organization(ORG)
        tfc.add_workspace(ORG, "toto-terra-aws-dev")
        tfc.add_token(TF_API_TOKEN, "team")
        github.add_repository(service)
        github.add_token(SYNC_TOKEN, [service])
        repository = new_repository(
            tmp_path / "toto-terra-aws",
            CORE_REPOSITORY,
            {
                "terraform/main.tf": core_configuration(CORE_IDS, s3_backend=False),
                "toto-secrets.yml": secrets_mapping((service,)),
            },
        )
        workflow = render_workflow(
            repository,
            "--kind=core",
            "--service=toto-terra-aws",
            "--terraform-engine=cloud",
            "--sync-auth=token",
        )
        secrets = {
            "TF_API_TOKEN": TF_API_TOKEN,
            "TOTO_SYNC_TOKEN": SYNC_TOKEN,
            "TOTO_FINGERPRINT_KEY": FINGERPRINT_KEY,
            "GITHUB_TOKEN": JOB_TOKEN,
        }
        run = act.run(
            repository,
            str(workflow),
            "apply-dev",
            event=MAIN,
            secrets=secrets,
            variables={
                "TF_CLOUD_ORGANIZATION": ORG,
                "TF_CLOUD_ADDRESS": tfc.url,
                "TOTO_GITHUB_API_URL": github.url,
            },
        )
        assert run.exit_code == 0, log(run)
        assert [r.status for r in tfc.runs(ORG, "toto-terra-aws-dev")] == ["applied"]
        outputs = tfc.workspace_state_outputs(ORG, "toto-terra-aws-dev")
        assert {name: output["value"] for name, output in outputs.items()} == {
            **CORE_IDS,
            "db_password": DB_PASSWORD,
        }
        assert github.secrets(service, "dev") == EXPECTED_SECRETS
        assert tfc.errors == [] and github.errors == []
    assert_nothing_leaked(run, {*secrets.values(), DB_PASSWORD})


def test_no_secret_or_sensitive_value_appears_in_act_output(
    core_dev: Flow, service_dev: Flow
) -> None:
    """The secrets act was given and the core's sensitive output, which went through every step
    of both flows (they arrived: see the tests above), are nowhere in act's output; act's
    output is the whole log (each step's lines), masked where the values were."""
    for flow in (core_dev, service_dev):
        assert flow.run.exit_code == 0, log(flow.run)
        assert "***" in flow.run.output
        assert_nothing_leaked(flow.run, flow.sensitive)
    assert DB_PASSWORD in service_dev.secrets.values()  # it did travel to the service
