"""Render a workflow template into the file a repository commits: plain values in, text out.

The templates use [[ ]] and [% %] as Jinja delimiters, so that GitHub's own `${{ }}` expressions
stand in them as they will in the rendered file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

import jinja2

from toto_actions.github.sync_organization import organization_name
from toto_actions.github.sync_permissions import ORGANIZATION_SCOPE, describe
from toto_actions.workflows.action_pins import pinned
from toto_actions.workflows.environments import on_events, trigger_branches
from toto_actions.workflows.settings import WorkflowSettings

WORKFLOWS_DIR = PurePosixPath(".github/workflows")
_TEMPLATE_FILES = {"microservice": "microservice.yml.j2", "core": "core.yml.j2"}
_PLAIN_SCALAR = re.compile(r"[A-Za-z_][A-Za-z0-9._/-]*")
# Words YAML 1.1 readers take for booleans or null when unquoted.
_YAML_SPECIAL_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


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
    """Render the workflow of settings.kind."""
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
    # `name | in_environment(env)`: the secret an environment's jobs read a core value from.
    environment.filters["in_environment"] = lambda secret, name: core_secret(settings, name, secret)
    template = environment.get_template(_TEMPLATE_FILES[settings.kind])
    content = template.render(
        settings=settings,
        workflow_file=workflow_path(settings.kind).name,
        trigger_branches=trigger_branches(settings.environments),
        action=lambda name: f"{settings.actions_repo}/actions/{name}@{settings.actions_ref}",
        third_party=pinned if settings.pin_actions else str,
        tf_variable=lambda secret: f"TF_VAR_{secret.lower()}",
        describe=describe,
        on_events=on_events,
    )
    return RenderedWorkflow(workflow_path(settings.kind), content)


def core_secret(settings: WorkflowSettings, environment: str, name: str) -> str:
    """The secret a service's job for environment reads the core value name from."""
    if settings.secrets_scope == ORGANIZATION_SCOPE:
        return organization_name(environment, name)
    return name


def yaml_scalar(value: str) -> str:
    """A YAML scalar for value: plain when it reads back as the same string, else double-quoted."""
    if _PLAIN_SCALAR.fullmatch(value) and value.lower() not in _YAML_SPECIAL_WORDS:
        return value
    return json.dumps(value)
