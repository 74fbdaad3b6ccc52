"""The caller a repository commits in the reusable style: its triggers, the permissions the called
jobs need, and the settings that differ from the reusable workflow's defaults as inputs."""

from __future__ import annotations

from toto_actions.errors import UsageError
from toto_actions.github.sync_permissions import ENVIRONMENT_SCOPE
from toto_actions.workflows.image_repositories import SHARED
from toto_actions.workflows.reusable import inputs_of, secrets_of
from toto_actions.workflows.settings import DEFAULT_CORE_SECRETS, WorkflowSettings
from toto_actions.workflows.yaml_text import yaml_scalar

# (permission, access, why): the union of what the called workflow's jobs ask for. GitHub
# checks every called job against the caller's grant, the jobs an event skips included.
CALLER_PERMISSIONS = {
    "microservice": (
        ("contents", "read", "to check out the service and the toolkit"),
        ("id-token", "write", "to take AWS credentials through OIDC"),
        ("pull-requests", "write", "to comment the plan, and read the reviewed one"),
        ("actions", "write", "to start a redeploy on its branch, and read plan runs"),
        ("deployments", "write", "to find and record the commit an environment runs"),
    ),
    "core": (
        ("contents", "read", "to check out the configuration and the toolkit"),
        ("id-token", "write", "to take AWS credentials through OIDC (cli engine)"),
        ("pull-requests", "write", "to comment the plan, and read the reviewed one"),
        ("actions", "read", "to check the run that wrote the reviewed plan's comment"),
    ),
}


def inline_only(settings: WorkflowSettings) -> str | None:
    """Why the reusable workflow cannot run these settings (None: it can)."""
    if settings.secrets_scope != ENVIRONMENT_SCOPE:
        return (
            "secrets-scope organization: a called workflow reads only the secrets its caller "
            "passes or its environments hold, and the organization secrets' names vary with the "
            "environments"
        )
    if settings.kind == "microservice" and settings.core_secrets != DEFAULT_CORE_SECRETS:
        return (
            "core-secrets other than the default ones: the reusable workflow declares those by name"
        )
    expressions = sorted(
        name for name, value in _input_values(settings).items() if "${{" in str(value or "")
    )
    if expressions:
        return (
            f"an expression in {', '.join(expressions)}: a caller's with: cannot read the "
            "secrets context, and passes other values as text"
        )
    return None


def caller_inputs(settings: WorkflowSettings) -> dict[str, str]:
    """The `with:` of the caller: service, and each setting that differs from the reusable
    workflow's default, as YAML scalars; refused (UsageError) when one is not an input of it
    or a required input has no value."""
    values = _input_values(settings)
    declared = {entry.name: entry for entry in inputs_of(settings.kind)}
    undeclared = sorted(set(values) - set(declared))
    if undeclared:
        raise UsageError(
            f"toto-{settings.kind}.yml declares no input {', '.join(undeclared)}: render with "
            "--style inline"
        )
    chosen: dict[str, str] = {}
    for name, entry in declared.items():
        value = values.get(name)
        default = entry.default_for(settings.kind)
        if default is None and value in (None, ""):
            raise UsageError(f"toto-{settings.kind}.yml requires input {name}: none was given")
        if value is None or value == default:
            continue
        chosen[name] = _scalar(value)
    return chosen


def caller_secrets(settings: WorkflowSettings) -> list[str]:
    return [
        secret.name for secret in secrets_of(settings.kind, settings.core_secrets) if secret.passed
    ]


def _input_values(settings: WorkflowSettings) -> dict[str, str | bool | None]:
    values: dict[str, str | bool | None] = {
        "service": settings.service,
        "environments": ";".join(f"{e.name}={','.join(e.branches)}" for e in settings.environments),
        "terraform-engine": settings.terraform_engine,
        "terraform-dir": settings.terraform_dir,
        "terraform-version": settings.terraform_version,
        "tfc-organization": settings.tfc_organization,
        "aws-region": settings.aws_region,
        "aws-role-arn": settings.aws_role_arn,
        "aws-plan-role-arn": settings.aws_plan_role_arn,
        "require-reviewed-plan": ",".join(settings.reviewed_environments) or None,
        "runs-on": settings.runs_on[0]
        if len(settings.runs_on) == 1
        else '["' + '", "'.join(settings.runs_on) + '"]',
    }
    if settings.kind == "microservice":
        shared = settings.environments[0].image_repository == settings.service
        values.update(
            {
                "image-repository": SHARED if shared else None,
                "platforms": ",".join(settings.platforms) or None,
                "context": settings.build.context,
                "dockerfile": settings.build.dockerfile,
                "build-args": "\n".join(settings.build.build_args) or None,
                "target": settings.build.target,
                "test-command": settings.test_command,
            }
        )
    else:
        values.update(
            {
                "run-source": settings.run_source,
                "sync-auth": settings.sync_auth,
                "service-repositories": ",".join(settings.service_repositories) or None,
                "service-owner": settings.service_owner,
                "create-environments": settings.create_environments,
                "sync-dispatch": settings.sync_dispatch,
            }
        )
    return values


def _scalar(value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if "\n" in value:
        return "|\n" + "".join(f"        {line}\n" for line in value.splitlines()).rstrip("\n")
    return yaml_scalar(value)
