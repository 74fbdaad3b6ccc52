"""Where the core secrets live, as the rendered workflows see them: each service repository's
environment (or repository) secrets named NAME, or organization secrets named <ENV>_<NAME>,
selected for the service repositories (toto-secrets.yml `scope: organization`).

The core workflow syncs into the scope its toto-secrets.yml declares, so there a secrets-scope
can only agree with the file; a service has no such file, and secrets-scope tells it the names
to read.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from toto_actions.errors import UsageError
from toto_actions.github.sync_config import name_problem, read_scope
from toto_actions.github.sync_organization import organization_name
from toto_actions.github.sync_permissions import ENVIRONMENT_SCOPE, ORGANIZATION_SCOPE
from toto_actions.workflows.environments import Environment

SECRETS_SCOPES = (ENVIRONMENT_SCOPE, ORGANIZATION_SCOPE)  # what secrets-scope may name


def core_scope(sync_config: Path, scope: str | None) -> str:
    """The scope of the core workflow's sync: the one sync_config declares, which a given scope
    must match; without the file, the given scope (default environment)."""
    if not sync_config.is_file():
        return scope or ENVIRONMENT_SCOPE
    declared = read_scope(sync_config)
    if scope is not None and declared != scope:
        raise UsageError(
            f"secrets-scope {scope} does not match scope {declared} of {sync_config.name}: "
            "make them the same"
        )
    return declared


def check_organization_names(environments: Iterable[Environment], names: Iterable[str]) -> None:
    """Refuse an environment whose prefix spoils a name: `dev-eu` gives DEV-EU_X (a hyphen),
    `github` the reserved GITHUB_X."""
    listed = tuple(names)
    for environment in environments:
        for name in listed:
            problem = name_problem(organization_name(environment.name, name))
            if problem is not None:
                raise UsageError(
                    f"environment {environment.name!r} cannot prefix organization secret "
                    f"names: {problem}"
                )
