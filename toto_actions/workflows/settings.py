"""The settings of a rendered workflow: from options, the target repository's toto.yml, defaults.

Precedence: a flag, then its INPUT_ variable (both arrive as `given`), then toto.yml, then the
default. Everything is validated here, before anything is rendered or written.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from toto_actions.errors import UsageError
from toto_actions.github.sync_config import event_type_problem, name_problem
from toto_actions.github.sync_permissions import (
    ENVIRONMENT_SCOPE,
    ORGANIZATION_SCOPE,
    token_permissions,
)
from toto_actions.images.names import is_repository_name, platform_problem
from toto_actions.options import GivenOptions, OptionValue
from toto_actions.service_project import service_name
from toto_actions.workflows.aws_roles import role_arns
from toto_actions.workflows.build_settings import (
    BuildSettings,
    build_settings,
    runner_labels,
)
from toto_actions.workflows.build_settings import (
    microservice_only as _microservice_only,
)
from toto_actions.workflows.core_sync import SYNC_CONFIG_FILE, core_repositories
from toto_actions.workflows.cron import drift_schedule
from toto_actions.workflows.environments import (
    CORE_DEFAULT,
    MICROSERVICE_DEFAULT,
    Environment,
    parse_environments,
    parse_spec,
)
from toto_actions.workflows.github_names import (
    actions_repo,
    git_ref,
    is_github_name,
    listed,
    relative_dir,
    service_repositories,
)
from toto_actions.workflows.image_repositories import (
    IMAGE_REPOSITORY_CHOICES,
    PER_ENVIRONMENT,
    with_image_repositories,
)
from toto_actions.workflows.kind_settings import one_environments_form, refuse_other_kind
from toto_actions.workflows.reusable import DEFAULT_RUNS_ON, DEFAULT_TERRAFORM_VERSION
from toto_actions.workflows.secrets_scope import (
    SECRETS_SCOPES,
    check_organization_names,
    core_scope,
)
from toto_actions.workflows.settings_file import SETTINGS_FILE, read_settings_file

# The event type a service workflow listens to unless told otherwise: what the README tells the
# core workflow to send, so that turning the dispatch on in the core is the only step.
DEFAULT_DISPATCH_EVENT = "toto-core-changed"

KINDS = ("microservice", "core")
ENGINES = ("cloud", "cli")
SYNC_AUTHS = ("app", "token")
RUN_SOURCES = ("upload", "vcs")

# The secrets the core flow writes into each service repository by default (see DESIGN.md); a
# service's Terraform reads each as TF_VAR_<lower-case name>.
DEFAULT_CORE_SECRETS = (
    "VPC_ID",
    "ECS_SUBNET_1",
    "ECS_SUBNET_2",
    "ECS_SECURITY_GROUP",
    "ECS_CLUSTER_ARN",
    "ECS_TASK_EXECUTION_ROLE_ARN",
    "ECS_TASK_ROLE_ARN",
    "ALB_LISTENER_ARN",
)

_WORKSPACE_MAX = 90  # HCP Terraform's limit for a workspace name
_WORKSPACE_SAFE = re.compile(r"[A-Za-z0-9_-]+")
_AWS_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d")
_TFC_ORGANIZATION = re.compile(r"[A-Za-z0-9_-]{1,40}")
_TERRAFORM_VERSION = re.compile(r"latest|\d+\.\d+\.\d+(?:-[a-z0-9]+)?")
STYLES = ("reusable", "inline")


class NoServiceRepositories(UsageError):
    """A core render with the app token and no service repositories to scope it to."""


@dataclass(frozen=True)
class WorkflowSettings:
    """Everything a workflow template needs, validated. None means: read a repository variable."""

    kind: str
    service: str
    environments: tuple[Environment, ...]
    terraform_engine: str
    terraform_dir: str
    actions_repo: str
    actions_ref: str
    aws_region: str | None
    aws_role_arn: str | None  # deploy, apply and redeploy jobs only
    aws_plan_role_arn: str | None  # plan and drift jobs; None: their plan environment's variable
    tfc_organization: str | None
    core_secrets: tuple[str, ...]
    platforms: tuple[str, ...]  # microservice: build for these (QEMU and buildx are set up)
    service_owner: str | None
    service_repositories: tuple[str, ...]
    sync_auth: str
    # core: the repository_dispatch event sent after a sync; microservice: the one that
    # redeploys an environment; None: neither
    sync_dispatch: str | None
    create_environments: bool  # core: the sync may create a missing GitHub environment
    sync_permissions: dict[str, str]  # core: what the sync's token needs, GitHub's keys
    sync_plan_environments: bool  # core: the sync writes into each <env>-plan environment too
    # where the core secrets live: environment (or repository) secrets of each service named
    # NAME, or organization secrets named <ENV>_<NAME> (see organization_secret)
    secrets_scope: str
    drift_schedule: str | None  # the drift check's cron; None: no drift check
    run_source: str  # core, cloud: upload the configuration, or follow the VCS-driven run
    pin_actions: bool  # third-party actions by commit SHA (action_pins.json)
    reviewed_environments: tuple[str, ...] = ()  # their applies require the reviewed plan
    runs_on: tuple[str, ...] = (DEFAULT_RUNS_ON,)  # one label, or the labels of a list
    terraform_version: str = DEFAULT_TERRAFORM_VERSION  # cli engine: what setup-terraform installs
    test_command: str | None = None  # microservice: run in a job of its own before a deploy
    build: BuildSettings = field(default_factory=BuildSettings)  # microservice: context, ...
    # reusable (a caller of the toolkit's reusable workflow) or inline (the whole pipeline);
    # None: not given anywhere (render decides: see commands/render_workflow.py)
    style: str | None = None


def load_settings(
    given: GivenOptions, repo_dir: Path, known_keys: Collection[str]
) -> WorkflowSettings:
    """Merge the given options over the repository's toto.yml and the defaults, and validate.

    known_keys are the settings toto.yml may hold: the render options' names.
    """
    file_settings = one_environments_form(read_settings_file(repo_dir, known_keys), SETTINGS_FILE)
    given_settings = one_environments_form(given, "options")
    if "environments" in given_settings:  # given either way, it replaces toto.yml's either way
        file_settings.pop("environments", None)
    merged: dict[str, Any] = {**file_settings, **given_settings}

    kind = _choice(merged, "kind", KINDS, default=None)
    refuse_other_kind(kind, merged, given)
    engine = _choice(merged, "terraform-engine", ENGINES, default="cloud")
    sync_auth = _choice(merged, "sync-auth", SYNC_AUTHS, default="app")
    service_source = "--service" if "service" in given else SETTINGS_FILE
    service = _service_name(merged.get("service"), service_source, repo_dir, kind, engine)
    listed = merged.get("service-repositories")
    if kind == "core":
        listed = core_repositories(listed, repo_dir / SYNC_CONFIG_FILE)
    owner, repositories = service_repositories(listed)
    if kind == "core" and sync_auth == "app" and not repositories:
        raise NoServiceRepositories(
            "the core workflow needs the service repositories its GitHub App token "
            f"is scoped to: list them in {SYNC_CONFIG_FILE} (or --service-repositories a,b,c)"
        )
    default_environments = MICROSERVICE_DEFAULT if kind == "microservice" else CORE_DEFAULT
    environments = _environments(merged.get("environments", default_environments))
    if kind == "microservice":
        choice = _choice(merged, "image-repository", IMAGE_REPOSITORY_CHOICES, PER_ENVIRONMENT)
        environments = with_image_repositories(environments, service, choice)
    roles = role_arns(
        _text(merged, "aws-role-arn") or None, _text(merged, "aws-plan-role-arn") or None
    )
    default_dispatch = DEFAULT_DISPATCH_EVENT if kind == "microservice" else None
    sync_dispatch = _event_type(merged.get("sync-dispatch", default_dispatch))
    create_environments = _switch(merged, "create-environments")
    scope = _secrets_scope(merged, kind, repo_dir, create_environments)
    core_secrets = _secret_names(merged.get("core-secrets", DEFAULT_CORE_SECRETS))
    if scope == ORGANIZATION_SCOPE:
        # The core workflow's names are in toto-secrets.yml, checked by the sync: its prefixes here.
        check_organization_names(environments, core_secrets if kind == "microservice" else ["X"])
    permissions = (
        token_permissions(
            scope, create_environments=create_environments, dispatch=sync_dispatch is not None
        )
        if kind == "core"
        else {}
    )
    longest = max(environments, key=lambda e: len(e.name)).name
    if len(f"{service}-{longest}") > _WORKSPACE_MAX:
        raise UsageError(
            f"workspace name {service}-{longest!s} is longer than "
            f"{_WORKSPACE_MAX} characters: pass a shorter --service"
        )
    return WorkflowSettings(
        kind=kind,
        service=service,
        environments=environments,
        terraform_engine=engine,
        terraform_dir=relative_dir(merged.get("terraform-dir", "terraform")),
        actions_repo=actions_repo(merged.get("actions-repo", "toto/actions")),
        actions_ref=git_ref(merged.get("actions-ref", "v1")),
        aws_region=_matching(merged, "aws-region", _AWS_REGION, None, "an AWS region (eu-west-1)"),
        aws_role_arn=roles.deploy,
        aws_plan_role_arn=roles.plan,
        tfc_organization=_matching(
            merged,
            "tfc-organization",
            _TFC_ORGANIZATION,
            None,
            "an HCP Terraform organization name",
        ),
        core_secrets=core_secrets,
        platforms=_platforms(merged.get("platforms")),
        service_owner=owner,
        service_repositories=repositories,
        sync_auth=sync_auth,
        sync_dispatch=sync_dispatch,
        create_environments=create_environments,
        sync_permissions=permissions,
        sync_plan_environments=scope == ENVIRONMENT_SCOPE,
        secrets_scope=scope,
        drift_schedule=drift_schedule(merged.get("drift-schedule")),
        run_source=_run_source(merged, kind, engine),
        pin_actions=_switch(merged, "pin-actions"),
        reviewed_environments=_reviewed_environments(
            merged.get("require-reviewed-plan"), environments
        ),
        runs_on=runner_labels(merged.get("runs-on", DEFAULT_RUNS_ON)),
        terraform_version=_matching(
            merged,
            "terraform-version",
            _TERRAFORM_VERSION,
            DEFAULT_TERRAFORM_VERSION,
            "a terraform version (1.11.4, or latest)",
        )
        or DEFAULT_TERRAFORM_VERSION,
        test_command=_microservice_only(kind, "test-command", _text(merged, "test-command")),
        build=build_settings(merged, kind),
        style=_optional_choice(merged, "style", STYLES),
    )


def _text(merged: Mapping[str, Any], key: str) -> str | None:
    value = merged.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(f"{key}: expected a string, found {value!r}")
    return value


def _switch(merged: Mapping[str, Any], key: str) -> bool:
    value = merged.get(key, False)
    if not isinstance(value, bool):
        raise UsageError(f"{key}: expected true or false, found {value!r}")
    return value


def _event_type(value: object) -> str | None:
    """A repository_dispatch event type; None for none (no dispatch, no redeploy trigger)."""
    if value is None or value == "none":
        return None
    problem = event_type_problem(value)
    if problem or not isinstance(value, str):
        raise UsageError(f"sync-dispatch {problem}")
    return value


def _choice(
    merged: Mapping[str, Any], key: str, choices: tuple[str, ...], default: str | None
) -> str:
    value = _text(merged, key) or default
    if value is None:
        raise UsageError(
            f"--{key} is required (or {key} in {SETTINGS_FILE}): one of {', '.join(choices)}"
        )
    if value not in choices:
        raise UsageError(f"{key} {value!r} is not one of {', '.join(choices)}")
    return value


def _secrets_scope(
    merged: Mapping[str, Any], kind: str, repo_dir: Path, create_environments: bool
) -> str:
    """The scope of the core secrets: the core's toto-secrets.yml's, else secrets-scope."""
    given = _choice(merged, "secrets-scope", SECRETS_SCOPES, default=ENVIRONMENT_SCOPE)
    if kind == "core":
        given_or_none = given if merged.get("secrets-scope") is not None else None
        scope = core_scope(repo_dir / SYNC_CONFIG_FILE, given_or_none)
    else:
        scope = given
    if scope == ORGANIZATION_SCOPE and create_environments:
        raise UsageError(
            "create-environments has no use in scope organization (organization secrets "
            "belong to no environment): leave it out"
        )
    return scope


def _run_source(merged: Mapping[str, Any], kind: str, engine: str) -> str:
    """How the core workflow's runs start on HCP Terraform: an upload, or the workspace's own
    VCS-driven run (only there: a service's apply passes the image tag as a variable)."""
    if merged.get("run-source") is None:
        return "upload"
    run_source = _choice(merged, "run-source", RUN_SOURCES, default=None)
    if (kind, engine) != ("core", "cloud"):
        raise UsageError("run-source is a setting of the core workflow on the cloud engine")
    return run_source


def _optional_choice(merged: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str | None:
    if merged.get(key) is None:
        return None
    return _choice(merged, key, choices, default=None)


def _matching(
    merged: Mapping[str, Any],
    key: str,
    pattern: re.Pattern[str],
    default: str | None,
    expected: str,
) -> str | None:
    value = _text(merged, key) or default
    if value is not None and not pattern.fullmatch(value):
        raise UsageError(f"{key} {value!r} is not {expected}")
    return value


def _service_name(
    given: OptionValue | None, given_source: str, repo_dir: Path, kind: str, engine: str
) -> str:
    """The service's name: given (from given_source), else the project's or directory's name."""
    name, source = (given, given_source) if given is not None else service_name(repo_dir)
    if not isinstance(name, str) or not is_github_name(name):
        raise UsageError(
            f"service name {name!r} (from {source}) is not a valid repository name; "
            "pass --service NAME"
        )
    if kind == "microservice" and not is_repository_name(name, ecr=True):
        raise UsageError(
            f"service name {name!r} (from {source}) is not a valid image repository "
            "name: lowercase letters and digits, with '.', '_' or '-' between them; "
            "pass --service NAME"
        )
    if engine == "cloud" and not _WORKSPACE_SAFE.fullmatch(name):
        raise UsageError(
            f"service name {name!r} (from {source}) cannot name an HCP Terraform "
            "workspace: letters, digits, '-' and '_' only; pass --service NAME"
        )
    return name


def _environments(value: object) -> tuple[Environment, ...]:
    if isinstance(value, str):
        return parse_environments(parse_spec(value))
    if isinstance(value, dict) and value:
        mapping = {
            str(name): listed(branches, f"environments.{name}") for name, branches in value.items()
        }
        return parse_environments(mapping)
    raise UsageError(
        f"environments: expected 'dev=main,feature/**;prod=release/**' or a mapping "
        f"of environment to branches, found {value!r}"
    )


def _reviewed_environments(value: object, environments: tuple[Environment, ...]) -> tuple[str, ...]:
    if value is None:
        return ()
    names = {e.name: e.name for e in environments}
    reviewed = listed(value, "require-reviewed-plan")
    for name in reviewed:
        if name not in names:
            raise UsageError(
                f"require-reviewed-plan: {name!r} is not one of the environments "
                f"({', '.join(names)})"
            )
    return tuple(dict.fromkeys(reviewed))


def _platforms(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    platforms = listed(value, "platforms")
    for platform in platforms:
        problem = platform_problem(platform)
        if problem:
            raise UsageError(f"platforms: {problem}")
    return tuple(dict.fromkeys(platforms))


def _secret_names(value: object) -> tuple[str, ...]:
    names: list[str] = []
    for name in listed(value, "core-secrets"):
        if name_problem(name) is not None:
            raise UsageError(
                f"core secret name {name!r} is not a valid GitHub secret name: "
                "letters, digits and '_', not starting with a digit or GITHUB_"
            )
        if name.upper() in (known.upper() for known in names):
            raise UsageError(
                f"core secret {name!r} is given twice (secret names are case-insensitive)"
            )
        names.append(name)
    return tuple(names)
