"""Render a workflow template into the file a repository commits: plain values in, text out.

The templates use [[ ]] and [% %] as Jinja delimiters, so that GitHub's own `${{ }}` expressions
stand in them as they will in the rendered file.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

import jinja2

from toto_actions.github.sync_organization import organization_name
from toto_actions.github.sync_permissions import (
    ENVIRONMENT_SCOPE,
    ORGANIZATION_SCOPE,
    describe,
    token_permissions,
)
from toto_actions.workflows.action_pins import pinned
from toto_actions.workflows.caller import (
    CALLER_PERMISSIONS,
    caller_inputs,
    caller_secrets,
)
from toto_actions.workflows.environments import Environment, on_events, trigger_branches
from toto_actions.workflows.reusable import (
    MAJOR_TAG,
    MATRIX,
    PUBLISHED_REPOSITORY,
    ROUTED,
    TOOLKIT_PATH,
    ReusableSettings,
    app_token_permissions,
    inputs_of,
    job_condition,
    secrets_of,
)
from toto_actions.workflows.settings import DEFAULT_CORE_SECRETS, WorkflowSettings
from toto_actions.workflows.yaml_text import plain_condition, yaml_scalar

WORKFLOWS_DIR = PurePosixPath(".github/workflows")
_TEMPLATE_FILES = {"microservice": "microservice.yml.j2", "core": "core.yml.j2"}


@dataclass(frozen=True)
class RenderedWorkflow:
    """One rendered workflow: its path relative to the repository root and its text."""

    path: PurePosixPath
    content: str


def templates_dir() -> Path:
    """The workflow templates: shipped inside the package, or at the top of a source checkout."""
    shipped = Path(str(resources.files("toto_actions"))) / "workflows_templates"
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[2] / "workflows-templates"


def workflow_path(kind: str) -> PurePosixPath:
    return WORKFLOWS_DIR / f"toto-{kind}.yml"


def render(settings: WorkflowSettings) -> RenderedWorkflow:
    """Render the inline workflow of settings.kind: every job of every environment."""
    environments = settings.environments
    values = {
        "settings": settings,
        "kind": settings.kind,
        "reusable": False,
        "environments": environments,
        "drift_environments": environments,
        "job_if": lambda job, environment: inline_condition(settings, job, environment),
        "reviewed": lambda e: "true" if e.name in settings.reviewed_environments else None,
        "runs_on": runs_on(settings.runs_on),
        "cli_only": None,
        "dispatch_workflow": workflow_path(settings.kind).name,
        "action": lambda name: f"{settings.actions_repo}/actions/{name}@{settings.actions_ref}",
        "third_party": pinned if settings.pin_actions else str,
    }
    content = _template_environment(settings).get_template(_TEMPLATE_FILES[settings.kind])
    return RenderedWorkflow(workflow_path(settings.kind), content.render(values))


def render_caller(settings: WorkflowSettings) -> RenderedWorkflow:
    """Render the short caller of the reusable workflow of settings.kind (the reusable style)."""
    kind = settings.kind
    values = {
        "settings": settings,
        "called_workflow": (
            f"{settings.actions_repo}/{workflow_path(kind).as_posix()}@{settings.actions_ref}"
        ),
        "caller_permissions": CALLER_PERMISSIONS[kind],
        "caller_inputs": caller_inputs(settings),
        "caller_secrets": caller_secrets(settings),
    }
    template = _template_environment(settings).get_template("caller.yml.j2")
    return RenderedWorkflow(workflow_path(kind), template.render(values))


def render_reusable(kind: str) -> RenderedWorkflow:
    """Render this repository's reusable workflow of kind (.github/workflows/toto-<kind>.yml)."""
    settings = reusable_settings(kind)
    test_job = bool(settings.test_command)
    values = {
        "settings": settings,
        "kind": kind,
        "reusable": True,
        "environments": (ROUTED,),
        "drift_environments": (MATRIX,),
        "job_if": lambda job, environment: job_condition(job, test_job=test_job),
        "reviewed": lambda e: "${{ needs.route.outputs.reviewed == 'true' }}",
        "runs_on": "${{ startsWith(inputs.runs-on, '[') && fromJSON(inputs.runs-on) || "
        "inputs.runs-on }}",
        "cli_only": "inputs.terraform-engine == 'cli'",
        "dispatch_workflow": "${{ needs.route.outputs.workflow-file }}",
        # zizmor flags every `./` action in a workflow (self-repository): here the path is the
        # toolkit's own checkout at job.workflow_sha, the one reference actionlint and act take.
        "action": lambda name: (
            f"./{TOOLKIT_PATH}/actions/{name}  "
            "# zizmor: ignore[self-repository] the toolkit at this workflow's commit"
        ),
        "third_party": pinned,
        "inputs": inputs_of(kind),
        "secrets": secrets_of(kind, settings.core_secrets),
    }
    template = _template_environment(settings).get_template(f"reusable-{kind}.yml.j2")
    return RenderedWorkflow(workflow_path(kind), template.render(values))


def _template_environment(settings: WorkflowSettings | ReusableSettings) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - the output is YAML; values are quoted by the yaml filter
    )
    environment.filters["yaml"] = yaml_scalar
    environment.filters["condition"] = plain_condition
    # `name | in_environment(env)`: the secret an environment's jobs read a core value from.
    environment.filters["in_environment"] = lambda secret, name: core_secret(settings, name, secret)
    environment.globals.update(
        workflow_file="",
        trigger_branches=[],
        tf_variable=lambda secret: f"TF_VAR_{secret.lower()}",
        describe=describe,
        on_events=on_events,
        toolkit_repository=PUBLISHED_REPOSITORY,
        toolkit_ref=MAJOR_TAG,
        toolkit_path=TOOLKIT_PATH,
    )
    if isinstance(settings, WorkflowSettings):
        environment.globals.update(
            workflow_file=workflow_path(settings.kind).name,
            trigger_branches=trigger_branches(settings.environments),
        )
    return environment


def reusable_settings(kind: str) -> ReusableSettings:
    permissions = {
        (create, dispatch): token_permissions(
            ENVIRONMENT_SCOPE, create_environments=create, dispatch=dispatch
        )
        for create in (False, True)
        for dispatch in (False, True)
    }
    return ReusableSettings(
        kind=kind,
        sync_permissions=app_token_permissions(permissions) if kind == "core" else {},
        core_secrets=DEFAULT_CORE_SECRETS,
    )


def inline_condition(settings: WorkflowSettings, job: str, environment: Environment | None) -> str:
    """The `if:` of an inline workflow's job: the event, and the environment's branches."""
    deploying = (
        "github.event_name == 'push' || (github.event_name == 'workflow_dispatch' && "
        "inputs.redeploy != true)"
        if settings.sync_dispatch
        else "github.event_name == 'push' || github.event_name == 'workflow_dispatch'"
    )
    without_environment = {
        "test": deploying,
        "redeploy-dispatch": "github.event_name == 'repository_dispatch'",
        "drift": "github.event_name == 'schedule'",
    }
    if job in without_environment:
        return without_environment[job]
    if environment is None:
        raise ValueError(f"job {job} needs an environment")
    pushed = environment.job_condition
    return {
        "deploy": f"({deploying}) && ({pushed})"
        if settings.sync_dispatch
        else on_events(["push", "workflow_dispatch"], pushed),
        "redeploy": "github.event_name == 'workflow_dispatch' && inputs.redeploy == true && "
        f"({pushed})",
        "plan": on_events(["pull_request"], environment.base_condition),
        "apply": on_events(["push"], pushed),
    }[job]


def runs_on(labels: tuple[str, ...]) -> str:
    """runs-on as YAML: one label, or a flow sequence of them."""
    if len(labels) == 1:
        return yaml_scalar(labels[0])
    return "[" + ", ".join(yaml_scalar(label) for label in labels) + "]"


def core_secret(settings: WorkflowSettings | ReusableSettings, environment: str, name: str) -> str:
    """The secret a service's job for environment reads the core value name from."""
    if settings.secrets_scope == ORGANIZATION_SCOPE:
        return organization_name(environment, name)
    return name
