"""The reusable workflows (.github/workflows/toto-<kind>.yml, `on: workflow_call`): their inputs
and secrets, and the values the shared templates read when they render one.

The templates that render a repository's inline workflow render the reusable one too: where the
inline workflow has one job per environment, the reusable one has one job of each kind, whose
environment a routing job chooses from the `environments` input (route.py). Settings that are
inputs there become expressions (`${{ inputs.service }}`); a setting the inputs cannot express
(organization-scope secrets, other core secrets) keeps a repository on the inline style.
"""

from __future__ import annotations

from dataclasses import dataclass

from toto_actions.workflows.build_settings import BuildSettings
from toto_actions.workflows.environments import CORE_DEFAULT, MICROSERVICE_DEFAULT
from toto_actions.workflows.image_repositories import PER_ENVIRONMENT

# Where every job of a reusable workflow checks the toolkit out, and the repository and tag it
# falls back to where the runner names no workflow commit (GitHub Enterprise Server, act).
TOOLKIT_PATH = ".toto-actions"
PUBLISHED_REPOSITORY = "toto/actions"
MAJOR_TAG = "v1"
# The terraform the workflows set up by default (hashicorp/setup-terraform's terraform_version):
# the version the tests run.
DEFAULT_TERRAFORM_VERSION = "1.11.4"
DEFAULT_RUNS_ON = "ubuntu-latest"

STRING, BOOLEAN = "string", "boolean"
MICROSERVICE, CORE = "microservice", "core"
BOTH = (MICROSERVICE, CORE)


@dataclass(frozen=True)
class WorkflowInput:
    """One `on.workflow_call.inputs` entry: named as the render option (and the action input)."""

    name: str
    description: str
    default: str | bool | None  # None: required
    kinds: tuple[str, ...] = BOTH

    @property
    def type(self) -> str:
        return BOOLEAN if isinstance(self.default, bool) else STRING

    def default_for(self, kind: str) -> str | bool | None:
        if self.name == "environments":
            return MICROSERVICE_DEFAULT if kind == MICROSERVICE else CORE_DEFAULT
        return self.default


# The inputs' defaults, render-workflow's: `service` is required, and an input not named here
# defaults to "" (not given: the jobs read a variable instead, or leave the step out). Its type
# follows: boolean for a boolean default, else string.
INPUT_DEFAULTS: dict[str, str | bool | None] = {
    "service": None,
    "image-repository": PER_ENVIRONMENT,
    "terraform-engine": "cloud",
    "terraform-dir": "terraform",
    "terraform-version": DEFAULT_TERRAFORM_VERSION,
    "runs-on": DEFAULT_RUNS_ON,
    "context": BuildSettings().context,
    "run-source": "upload",
    "sync-auth": "app",
    "create-environments": False,
}


def _described(kinds: tuple[str, ...], descriptions: dict[str, str]) -> list[WorkflowInput]:
    return [
        WorkflowInput(name, description, INPUT_DEFAULTS.get(name, ""), kinds)
        for name, description in descriptions.items()
    ]


# In the order the workflows declare them and a caller passes them.
INPUTS = (
    *_described(
        BOTH,
        {
            "service": "the repository's name: workspaces <service>-<env>",
            "environments": "the environments and their branch patterns, ENV=BRANCH,...;ENV=... "
            "(render-workflow's --environments)",
        },
    ),
    *_described(
        (MICROSERVICE,),
        {
            "image-repository": "environment: each environment pushes to <service>/<env>; "
            "shared: all to <service>",
        },
    ),
    *_described(
        BOTH,
        {
            "terraform-engine": "cloud (HCP Terraform) or cli",
            "terraform-dir": "the Terraform configuration's directory",
            "terraform-version": "cli engine: the terraform hashicorp/setup-terraform installs",
            "tfc-organization": "default: the TF_CLOUD_ORGANIZATION variable",
            "aws-region": "default: the AWS_REGION variable",
            "aws-role-arn": "the deploy role (default: the AWS_ROLE_ARN variable of each "
            "environment)",
            "aws-plan-role-arn": "the read-only role of the plan and drift jobs (default: "
            "AWS_ROLE_ARN of <env>-plan)",
            "require-reviewed-plan": "environments (comma-separated) whose apply takes only the "
            "reviewed plan",
            "runs-on": "the runner: one label, or a JSON list of labels (read with fromJSON)",
        },
    ),
    *_described(
        (MICROSERVICE,),
        {
            "platforms": "build for these platforms, comma-separated",
            "context": "the build context",
            "dockerfile": "the Dockerfile (default CONTEXT/Dockerfile)",
            "build-args": "build arguments, one NAME=VALUE a line",
            "target": "the stage to build",
            "test-command": "run before a deploy, in a job with contents: read only (none: no "
            "test job)",
        },
    ),
    *_described(
        (CORE,),
        {
            "run-source": "cloud engine: upload, or follow the VCS-driven runs",
            "sync-auth": "app (GitHub App) or token",
            "service-repositories": "the service repositories the sync writes to, "
            "comma-separated names",
            "service-owner": "their owner (default: this repository's)",
            "create-environments": "let the sync create a missing environment (Administration: "
            "write)",
            "sync-dispatch": "after a sync, send this repository_dispatch event type (none: empty)",
        },
    ),
)


def inputs_of(kind: str) -> tuple[WorkflowInput, ...]:
    return tuple(entry for entry in INPUTS if kind in entry.kinds)


@dataclass(frozen=True)
class WorkflowSecret:
    """One `on.workflow_call.secrets` entry; passed: the caller maps it by name (no environment
    holds it, or a repository may), else an environment of the called job holds it."""

    name: str
    description: str
    passed: bool = False


def secrets_of(kind: str, core_secrets: tuple[str, ...]) -> tuple[WorkflowSecret, ...]:
    if kind == CORE:
        return (
            WorkflowSecret("TF_API_TOKEN", "cloud engine: an HCP Terraform team token"),
            WorkflowSecret("TOTO_APP_PRIVATE_KEY", "sync-auth app: the GitHub App's key"),
            WorkflowSecret("TOTO_SYNC_TOKEN", "sync-auth token: the fine-grained token"),
            WorkflowSecret("TOTO_FINGERPRINT_KEY", "keys the sync's fingerprints"),
        )
    return (
        WorkflowSecret("TF_API_TOKEN", "cloud engine: an HCP Terraform team token"),
        WorkflowSecret(
            "TOTO_REGISTRY_PASSWORD", "the password of the TOTO_REGISTRY variable's registry", True
        ),
        *(WorkflowSecret(name, "written by the core flow's sync") for name in core_secrets),
    )


@dataclass(frozen=True)
class RoutedEnvironment:
    """The environment of a reusable workflow's job: expressions the routing job's outputs (or
    the drift matrix) give, with the attributes the templates read of an Environment."""

    name: str
    plan_name: str
    image_repository: str
    branches: tuple[str, ...]
    job_suffix: str = ""


ROUTED = RoutedEnvironment(
    name="${{ needs.route.outputs.environment }}",
    plan_name="${{ needs.route.outputs.plan-environment }}",
    image_repository="${{ needs.route.outputs.image-repository }}",
    branches=("${{ needs.route.outputs.branches }}",),
)
MATRIX = RoutedEnvironment(
    name="${{ matrix.environment.name }}",
    plan_name="${{ matrix.environment.plan }}",
    image_repository="${{ matrix.environment.image-repository }}",
    branches=(),
)


def job_condition(job: str, *, test_job: bool) -> str:
    """The `if:` of a reusable workflow's job: what the routing job chose."""
    chosen = f"needs.route.outputs.run == '{'deploy' if job == 'test' else job}'"
    if job == "test":
        return f"{chosen} && inputs.test-command != ''"
    if job == "deploy" and test_job:
        # The test job is skipped without a test command: the deploy still runs then.
        return (
            f"!cancelled() && {chosen} && "
            "(needs.test.result == 'success' || needs.test.result == 'skipped')"
        )
    return chosen


@dataclass(frozen=True)
class ReusableSettings:
    """What the templates read of the settings when they render a reusable workflow: the
    inputs' expressions; "input" for a choice the workflow makes at run time, so that the
    templates write both branches, each step conditioned on its input."""

    kind: str
    sync_permissions: dict[str, str]
    core_secrets: tuple[str, ...]
    service: str = "${{ inputs.service }}"
    terraform_engine: str = "input"
    run_source: str = "input"
    sync_auth: str = "input"
    aws_role_arn: str = "${{ inputs.aws-role-arn || vars.AWS_ROLE_ARN }}"
    aws_plan_role_arn: str = "${{ inputs.aws-plan-role-arn || vars.AWS_ROLE_ARN }}"
    aws_region: str = "${{ inputs.aws-region || vars.AWS_REGION }}"
    terraform_version: str = "${{ inputs.terraform-version }}"
    platforms: tuple[str, ...] = ("${{ inputs.platforms }}",)
    sync_dispatch: str = "${{ inputs.sync-dispatch }}"
    drift_schedule: str = "input"
    secrets_scope: str = "environment"
    sync_plan_environments: bool = True

    @property
    def test_command(self) -> str:
        return "${{ inputs.test-command }}" if self.kind == MICROSERVICE else ""


def app_token_permissions(variants: dict[tuple[bool, bool], dict[str, str]]) -> dict[str, str]:
    """The sync token's permission inputs for every (create-environments, sync-dispatch): a key
    every variant asks alike stays a value; another is an expression of the inputs that ask it,
    empty otherwise (create-github-app-token passes only non-empty permission-* inputs)."""
    keys = sorted({key for permissions in variants.values() for key in permissions})
    merged: dict[str, str] = {}
    for key in keys:
        values = {variant: permissions.get(key, "") for variant, permissions in variants.items()}
        if len(set(values.values())) == 1:
            merged[key] = next(iter(values.values()))
            continue
        asked = {variant for variant, value in values.items() if value}
        access = {value for value in values.values() if value}
        if len(access) != 1:
            raise ValueError(f"permission {key} varies in access: {values}")
        merged[key] = f"${{{{ {_when(asked, set(values))} && '{access.pop()}' || '' }}}}"
    return merged


def _when(asked: set[tuple[bool, bool]], every: set[tuple[bool, bool]]) -> str:
    create = "inputs.create-environments"
    dispatch = "inputs.sync-dispatch != ''"
    if asked == {v for v in every if v[0]}:
        return create
    if asked == {v for v in every if v[1]}:
        return f"({dispatch})"
    raise ValueError(f"no expression for the variants {sorted(asked)}")
