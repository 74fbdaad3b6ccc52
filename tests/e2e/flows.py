"""The two Toto flows as the end-to-end tests (and scripts/demo) run them: the repositories a user
would hold, with the workflow `render-workflow` writes, and one act run of a flow's job.

The core repository holds a Terraform configuration of built-in `terraform_data` resources whose
outputs stand for what the real core creates (VPC, subnets, security group, cluster, roles,
listener) and `toto-secrets.yml`; the service repository a `FROM scratch` Dockerfile and a
configuration that deploys the image tag with the core IDs. Everything that points a flow at the
local stack is a knob the rendered workflow already reads (repository variables and secrets, see
its header); see tests/e2e/act.py for the runner itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from testing.github.server import GitHubServer
from testing.local_stack import MOTO_ACCOUNT_ID, MOTO_REGION, MotoServer, Registry
from testing.tfc.server import TfcServer
from tests.e2e.act import Act, ActRun
from tests.e2e.repositories import new_repository, render_workflow
from toto_actions.github.sync_permissions import token_permissions

ORG = "acme"
CORE_SERVICE = "toto-terra-aws"
CORE_REPOSITORY = f"{ORG}/{CORE_SERVICE}"
CORE_WORKSPACE = f"{CORE_SERVICE}-dev"
SERVICE = "toto-ms-expenses"
SERVICE_WORKSPACE = f"{SERVICE}-dev"
SERVICE_REPOSITORIES = (
    f"{ORG}/toto-ms-expenses",
    f"{ORG}/toto-ms-games",
    f"{ORG}/toto-ms-supermarket",
)
ROLE_ARN = f"arn:aws:iam::{MOTO_ACCOUNT_ID}:role/toto-deploy"
BACKEND_CONFIG = "terraform/backend-dev.hcl"
CORE_WORKFLOW = ".github/workflows/toto-core.yml"
SERVICE_WORKFLOW = ".github/workflows/toto-microservice.yml"
CORE_STATE_KEY = "core/terraform.tfstate"
SERVICE_STATE_KEY = f"{SERVICE}/terraform.tfstate"
MAIN = {"ref": "refs/heads/main"}  # the push event's payload: what act needs of it
OnLine = Callable[[str], None]  # handed each line of act's output as it comes

# The GitHub App that writes the services' secrets, installed with every permission the README
# tells users to grant it; the workflow asks for a token with only the ones it renders.
APP_ID = 31337
APP_PERMISSIONS = token_permissions("environment", create_environments=True, dispatch=True)
FINGERPRINT_KEY = "e2e-fingerprint-key-5d1f0c93a7e24b6f"
TF_API_TOKEN = "e2e-team-token.atlasv1.c4f2a7e1"
# github.token: the plan jobs comment with it, the apply jobs read the reviewed plan with it.
JOB_TOKEN = "ghs_e2e_job_token_0a9e"
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
# What their `dev-plan` environment holds: the IDs, no sensitive output (a pull request's
# workflow can read it).
PLAN_SECRETS = {name.upper(): value for name, value in CORE_IDS.items()}


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


def secrets_mapping(repositories: tuple[str, ...], scope: str = "environment") -> str:
    """toto-secrets.yml: every core ID and the password, into each service's environment (or,
    scope organization, organization secrets selecting each service)."""
    lines = ["version: 1", f"owner: {ORG}", f"scope: {scope}", "repositories:"]
    if scope == "organization":
        lines.insert(3, "allow-sensitive: [db_password]")
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
    definition and service) made of the image (by digest, and its tag) and the core IDs, and
    outputs of both. It declares `image`, which the rendered workflow passes: terraform refuses
    a -var it does not declare."""
    names = ["image_tag", "image", *CORE_IDS]
    variables = "".join(f'variable "{name}" {{\n  type = string\n}}\n\n' for name in names)
    deployment = "".join(f"    {name} = var.{name}\n" for name in names)
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
        found = self.moto_server.s3_client().get_object(
            Bucket=self.bucket, Key=f"env:/{workspace}/{key}"
        )
        body: bytes = found["Body"].read()
        return body

    def core_state(self) -> bytes:
        return self.state(CORE_WORKSPACE, CORE_STATE_KEY)

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


def assert_green(run: ActRun, *steps: str) -> None:
    """act exited 0 and each of these main steps succeeded; else the end of act's output."""
    assert run.exit_code == 0, log(run)
    failed = [step for step in steps if not succeeded(run, step)]
    assert not failed, f"{failed} did not succeed:\n{log(run)}"


def log(run: ActRun) -> str:
    """The end of act's output, for an assertion's message."""
    return "\n".join(run.output.splitlines()[-80:])


def app_secrets(github: GitHubServer) -> dict[str, str]:
    """The app's private key as a secret holds it on one line (escaped newlines, which the
    action accepts), and the other secrets of the core repository's sync."""
    return {
        "TOTO_APP_PRIVATE_KEY": github.app_private_key(APP_ID).replace("\n", "\\n"),
        "TOTO_FINGERPRINT_KEY": FINGERPRINT_KEY,
        "GITHUB_TOKEN": JOB_TOKEN,
    }


def apply_core_dev(
    act: Act,
    repository: Path,
    github: GitHubServer,
    *,
    engine_secrets: Mapping[str, str],
    engine_variables: Mapping[str, str],
    on_line: OnLine | None,
    job: str = "apply-dev",
) -> Flow:
    """A push to main of the core repository: the job apply-dev (or job: toto, a caller's)
    under act, with the app's secrets and variables and those of the engine."""
    secrets = {**engine_secrets, **app_secrets(github)}
    run = act.run(
        repository,
        CORE_WORKFLOW,
        job,
        event=MAIN,
        secrets=secrets,
        variables={
            **engine_variables,
            "TOTO_GITHUB_API_URL": github.url,
            "TOTO_APP_ID": str(APP_ID),
            # The stand-in GitHub has no rate limit to respect: no pause between the sync's writes
            # (the pacing itself: tests/test_http_retry.py; test_vcs_no_run keeps the default).
            "TOTO_WRITE_INTERVAL": "0",
        },
        on_line=on_line,
    )
    return Flow(repository, run, secrets, frozenset({*secrets.values(), DB_PASSWORD}))


def run_core_cli(stack: Stack, repository: Path, on_line: OnLine | None = None) -> Flow:
    """A push to main of the core repository (cli engine): the job apply-dev under act."""
    variables = {
        "AWS_ROLE_ARN": ROLE_ARN,
        "AWS_REGION": MOTO_REGION,
        "TOTO_BACKEND_CONFIG": BACKEND_CONFIG,
    }
    return apply_core_dev(
        stack.act,
        repository,
        stack.github,
        engine_secrets={},
        engine_variables=variables,
        on_line=on_line,
    )


# ------------------------------------------------------------------------------------------------
# The repositories and the runs of their flows


def serve_service_repositories(github: GitHubServer, repositories: tuple[str, ...]) -> None:
    """The service repositories on the stand-in GitHub, each with its `dev` environment and the
    plan environment `dev-plan` (which the sync needs, not being asked to create environments),
    and the app installed on them."""
    for repository in repositories:
        github.add_repository(repository)
        github.add_environment(repository, "dev")
        github.add_environment(repository, "dev-plan")
    github.add_app(APP_ID, repositories, APP_PERMISSIONS)
    serve_job_token(github, (CORE_REPOSITORY, *repositories))


def serve_job_token(github: GitHubServer, repositories: tuple[str, ...]) -> None:
    """The repositories, and the job's token (github.token) on them with the most the rendered
    jobs ask for: contents read, pull-requests write, deployments write (a redeploy's lookup and
    record), actions write (the redeploy handler's workflow dispatch; write includes read: the run
    a reviewed plan's comment names)."""
    for repository in repositories:
        github.add_repository(repository)
    github.add_token(
        JOB_TOKEN,
        repositories,
        {"contents": "read", "pull_requests": "write", "deployments": "write", "actions": "write"},
    )


def serve_core_workspace(tfc: TfcServer) -> None:
    """The organization, the core workspace of dev and the team token on the stand-in HCP
    Terraform."""
    tfc.add_organization(ORG)
    tfc.add_workspace(ORG, CORE_WORKSPACE)
    tfc.add_token(TF_API_TOKEN, "team")


def new_core_repository(
    root: Path,
    *,
    engine: str,
    repositories: tuple[str, ...] = SERVICE_REPOSITORIES,
    bucket: str | None = None,
    scope: str = "environment",
    style: str = "inline",
) -> Path:
    """The core repository at root, its workflow rendered in style for engine (cli: the S3
    backend in bucket) with the GitHub App's token for the sync into repositories (scope: as
    toto-secrets.yml's), and committed."""
    files = {
        "terraform/main.tf": core_configuration(CORE_IDS, s3_backend=engine == "cli"),
        "toto-secrets.yml": secrets_mapping(repositories, scope),
    }
    if engine == "cli":
        if bucket is None:
            raise ValueError("the cli engine keeps the state in a bucket")
        files[BACKEND_CONFIG] = backend_config(bucket, CORE_STATE_KEY)
    repository = new_repository(root, CORE_REPOSITORY, files)
    render_core_workflow(repository, engine, repositories, f"--style={style}")
    return repository


def render_core_workflow(
    repository: Path, engine: str, repositories: tuple[str, ...], *options: str
) -> None:
    """Render the core workflow into the repository and commit it."""
    workflow = render_workflow(
        repository,
        "--kind=core",
        f"--service={CORE_SERVICE}",
        f"--terraform-engine={engine}",
        "--sync-auth=app",
        f"--service-repositories={','.join(repositories)}",
        *options,
    )
    assert workflow == Path(CORE_WORKFLOW)


def run_core_cloud(
    act: Act,
    repository: Path,
    tfc: TfcServer,
    github: GitHubServer,
    on_line: OnLine | None = None,
    *,
    job: str = "apply-dev",
) -> Flow:
    """A push to main of the core repository (cloud engine): the job apply-dev (or job) under
    act."""
    secrets = {"TF_API_TOKEN": TF_API_TOKEN}
    variables = {"TF_CLOUD_ORGANIZATION": ORG, "TF_CLOUD_ADDRESS": tfc.url}
    return apply_core_dev(
        act,
        repository,
        github,
        engine_secrets=secrets,
        engine_variables=variables,
        on_line=on_line,
        job=job,
    )


def new_service_repository(root: Path, bucket: str, *options: str, style: str = "inline") -> Path:
    """The service repository at root, its workflow rendered in style for the cli engine (the
    S3 backend in bucket) and options, and committed."""
    repository = new_repository(
        root,
        f"{ORG}/{SERVICE}",
        {**SERVICE_FILES, BACKEND_CONFIG: backend_config(bucket, SERVICE_STATE_KEY)},
    )
    workflow = render_workflow(
        repository,
        "--kind=microservice",
        f"--service={SERVICE}",
        "--terraform-engine=cli",
        f"--style={style}",
        *options,
    )
    assert workflow == Path(SERVICE_WORKFLOW)
    return repository


def run_service_cli(
    stack: Stack,
    repository: Path,
    registry: Registry,
    on_line: OnLine | None = None,
    *,
    job: str = "deploy-dev",
    event: Mapping[str, object] = MAIN,
    event_name: str = "push",
    environment: str | None = "dev",
    organization_secrets: bool = False,
    actor: str | None = None,
) -> Flow:
    """A push to main of the service repository (cli engine): the job deploy-dev under act, with
    the secrets the core flow wrote into the service's `dev` environment (or, with
    organization_secrets, the organization secrets that select it); or another job and event,
    with the secrets of environment (None: none, as a fork's pull request gets), started by
    actor (github.actor)."""
    if organization_secrets:  # what GitHub hands a workflow: those that select its repository
        given = {
            name: value
            for name, (value, _, selected) in stack.github.organization_secrets(ORG).items()
            if f"{ORG}/{SERVICE}" in selected
        }
    else:
        given = stack.github.secrets(f"{ORG}/{SERVICE}", environment) if environment else {}
    secrets = {**given, "GITHUB_TOKEN": JOB_TOKEN}
    run = stack.act.run(
        repository,
        SERVICE_WORKFLOW,
        job,
        event=event,
        event_name=event_name,
        secrets=secrets,
        variables={
            "AWS_ROLE_ARN": ROLE_ARN,
            "AWS_REGION": MOTO_REGION,
            "TOTO_BACKEND_CONFIG": BACKEND_CONFIG,
            "TOTO_REGISTRY": registry.host,
            "TOTO_GITHUB_API_URL": stack.github.url,
        },
        actor=actor,
        on_line=on_line,
    )
    return Flow(repository, run, secrets, frozenset(secrets.values()))
