"""toto-secrets.yml: which Terraform outputs become secrets and variables of which repositories.

Checked against schemas/toto-secrets.schema.json (errors name the key path), then turned into
plain mappings per repository. Names are checked here with GitHub's rules; the outputs they refer
to are checked by the sync plan, which sees both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from toto_actions.errors import UsageError
from toto_actions.terraform.outputs import TerraformOutput

SCHEMA_FILE = "toto-secrets.schema.json"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The secrets and variables the rendered workflows read by name (workflows-templates/, `secrets.`
# and `vars.`; a test keeps this list equal to what they read). A synced secret or variable of
# one of these names, in an environment, would take the place of the one the user set (GitHub
# reads an environment's before the repository's and the organization's): a Terraform output
# could redirect the next run's token (TF_CLOUD_ADDRESS) or role (AWS_ROLE_ARN). Only the names
# in SYNCED_WORKFLOW_NAMES may be synced.
WORKFLOW_NAMES = frozenset(
    {
        "AWS_REGION",
        "AWS_ROLE_ARN",
        "TF_API_TOKEN",
        "TF_CLOUD_ADDRESS",
        "TF_CLOUD_ORGANIZATION",
        "TOTO_APP_ID",
        "TOTO_APP_PRIVATE_KEY",
        "TOTO_BACKEND_CONFIG",
        "TOTO_FINGERPRINT_KEY",
        "TOTO_GITHUB_API_URL",
        "TOTO_REGISTRY",
        "TOTO_REGISTRY_PASSWORD",
        "TOTO_REGISTRY_USERNAME",
        "TOTO_SYNC_TOKEN",
        "TOTO_WRITE_INTERVAL",
    }
)
# What the README documents as synced from the core (`variables: AWS_REGION: aws_region`): the
# region a service's environment runs in, which carries no credential.
SYNCED_WORKFLOW_NAMES = frozenset({"AWS_REGION"})
# GitHub's OpenAPI description, POST /repos/{owner}/{repo}/dispatches: event_type has
# maxLength 100 ("Must be 100 characters or fewer").
MAX_EVENT_TYPE = 100


class RepositoryMapping(NamedTuple):
    """One repository and the NAME -> output mappings it receives (shared ones included)."""

    full_name: str  # owner/name
    secrets: Mapping[str, str]
    variables: Mapping[str, str]


class SyncConfig(NamedTuple):
    scope: str  # "environment", "repository" or "organization"
    repositories: tuple[RepositoryMapping, ...]
    # scope organization: the sensitive outputs that may still become organization secrets
    allow_sensitive: frozenset[str] = frozenset()
    state_name: str | None = None  # scope organization: this config's own state variable


def load_config(path: Path, default_owner: str | None) -> SyncConfig:
    """Read and check the config; default_owner serves names without one when `owner` is unset."""
    return _build(checked_document(path), default_owner, str(path))


def read_scope(path: Path) -> str:
    """The scope the config syncs into: environment when the file is absent (render-workflow
    reads it to ask for exactly the permissions the sync needs)."""
    if not path.is_file():
        return "environment"
    return str(checked_document(path).get("scope", "environment"))


def checked_document(path: Path) -> dict[str, Any]:
    """The config's YAML, checked against its schema; UsageError naming each problem."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as problem:
        raise UsageError(f"{path}: cannot read it ({problem.strerror})") from problem
    except (yaml.YAMLError, UnicodeDecodeError) as problem:
        raise UsageError(f"{path}: not valid YAML ({problem})".replace("\n", " ")) from problem
    problems = schema_problems(document)
    if problems:
        raise UsageError("\n".join(f"{path}: {problem}" for problem in problems))
    checked: dict[str, Any] = document
    return checked


def schema_problems(document: object) -> list[str]:
    """Every way the document breaks the schema, each as `key.path: what is wrong`."""
    import jsonschema

    schema = json.loads(resources.files("toto_actions.schemas").joinpath(SCHEMA_FILE).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{_key_path(error.absolute_path)}: {error.message}" for error in errors]


def _key_path(parts: Any) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or "(top level)"


def _build(document: dict[str, Any], default_owner: str | None, source: str) -> SyncConfig:
    owner = document.get("owner", default_owner)
    scope = document.get("scope", "environment")
    problems: list[str] = []
    for key in ("allow-sensitive", "state-name"):
        if key in document and scope != "organization":
            problems.append(f"{key}: a setting of scope organization only")
    shared_secrets = _names(problems, "secrets", document.get("secrets", {}))
    shared_variables = _names(problems, "variables", document.get("variables", {}))
    repositories: dict[str, RepositoryMapping] = {}
    for index, entry in enumerate(document["repositories"]):
        key = f"repositories[{index}]"
        name = entry if isinstance(entry, str) else entry["name"]
        if "/" not in name and owner is None:
            problems.append(f"{key}: {name!r} names no owner and the config has no `owner`")
            continue
        full_name = name if "/" in name else f"{owner}/{name}"
        if full_name.lower() in (existing.lower() for existing in repositories):
            problems.append(f"{key}: {full_name} is listed twice")
            continue
        extra = {} if isinstance(entry, str) else entry
        repositories[full_name] = RepositoryMapping(
            full_name,
            {**shared_secrets, **_names(problems, f"{key}.secrets", extra.get("secrets", {}))},
            {
                **shared_variables,
                **_names(problems, f"{key}.variables", extra.get("variables", {})),
            },
        )
    if problems:
        raise UsageError("\n".join(f"{source}: {problem}" for problem in problems))
    allowed = frozenset(document.get("allow-sensitive", ()))
    return SyncConfig(scope, tuple(repositories.values()), allowed, document.get("state-name"))


def _names(problems: list[str], key: str, mapping: Mapping[str, str]) -> dict[str, str]:
    """Upper-case the names (GitHub's are case-insensitive) and check them against its rules."""
    checked: dict[str, str] = {}
    for name, output in mapping.items():
        problem = name_problem(name) or shadow_problem(name)
        if problem:
            problems.append(f"{key}: {problem}")
        elif name.upper() in checked:
            problems.append(f"{key}: {name!r} is given twice (names are case-insensitive)")
        else:
            checked[name.upper()] = output
    return checked


def name_problem(name: str) -> str | None:
    """Why GitHub would refuse name as a secret or variable name, or None."""
    if not _NAME.fullmatch(name):
        return (
            f"{name!r} is not a valid secret or variable name: letters, digits and '_', "
            "not starting with a digit"
        )
    if name.upper().startswith("GITHUB_"):
        return f"{name!r} starts with GITHUB_, which GitHub reserves"
    return None


def shadow_problem(name: str) -> str | None:
    """Why toto-secrets.yml may not sync a secret or variable of this name (one the rendered
    workflows read: WORKFLOW_NAMES), or None."""
    if name.upper() in WORKFLOW_NAMES - SYNCED_WORKFLOW_NAMES:
        return (
            f"{name!r} is a name the rendered workflows read (their own setting): a synced "
            "value would take its place; choose another name"
        )
    return None


def event_type_problem(event_type: object) -> str | None:
    """Why a repository_dispatch event type will not do (GitHub refuses more than 100
    characters; a blank, padded or unprintable one no workflow's `types:` can name), or None.
    The one rule of render-workflow's sync-dispatch and sync-secrets' --dispatch."""
    if (
        isinstance(event_type, str)
        and 0 < len(event_type) <= MAX_EVENT_TYPE
        and event_type.isprintable()
        and event_type == event_type.strip()
    ):
        return None
    return (
        f"{event_type!r} is not a repository_dispatch event type: 1 to {MAX_EVENT_TYPE} "
        "printable characters"
    )


def without_sensitive(
    config: SyncConfig, outputs: Mapping[str, TerraformOutput]
) -> tuple[SyncConfig, set[str]]:
    """The config without the mappings of sensitive outputs, and the names left out: what a
    plan environment, which a pull request's workflow can read, may hold."""

    def kept(mapping: Mapping[str, str]) -> dict[str, str]:
        keep = {}
        for name, output in mapping.items():
            found = outputs.get(output)
            if found is not None and found.sensitive:
                left_out.add(name)
            else:
                keep[name] = output
        return keep

    left_out: set[str] = set()
    repositories = tuple(
        repository._replace(secrets=kept(repository.secrets), variables=kept(repository.variables))
        for repository in config.repositories
    )
    return config._replace(repositories=repositories), left_out
