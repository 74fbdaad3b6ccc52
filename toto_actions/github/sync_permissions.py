"""The GitHub permissions the sync's token needs: the endpoints sync-secrets calls, each with the
permissions GitHub's permission data files it under (tests/test_sync_permissions.py pins every
entry against the vendored data).

Keys are GitHub's own: the Variables permission is `actions_variables` (a token asked for
`variables` silently lacks it); reading an environment is Actions: read; creating one is
Administration: write, a repository-admin permission asked for only with create-environments.
Organization secrets and variables have keys of their own (`organization_secrets`,
`organization_actions_variables`), which GitHub's settings pages title "Secrets" and "Variables"
like the repository ones, under "Organization permissions".
"""

from __future__ import annotations

from typing import NamedTuple

ENVIRONMENT_SCOPE = "environment"
REPOSITORY_SCOPE = "repository"
ORGANIZATION_SCOPE = "organization"
_REPOSITORY = "/repos/{owner}/{repo}"
_ORGANIZATION = "/orgs/{org}/actions"
_ENVIRONMENT = f"{_REPOSITORY}/environments/{{environment_name}}"
# How GitHub's settings pages title each permission (the data's `title`), for people.
TITLES = {
    "actions": "Actions",
    "actions_variables": "Variables",
    "administration": "Administration",
    "contents": "Contents",
    "environments": "Environments",
    "metadata": "Metadata",
    "organization_actions_variables": "Variables",
    "organization_plan": "Plan",
    "organization_secrets": "Secrets",
    "secrets": "Secrets",
}
# The permissions the settings pages list under "Organization permissions" (the data's
# displayTitle), whose titles alone would read like the repository ones.
ORGANIZATION_PERMISSIONS = frozenset(
    {"organization_actions_variables", "organization_plan", "organization_secrets"}
)
_BOTH = {"environments": "write"}  # environment secrets and variables need it besides their own


class Endpoint(NamedTuple):
    """A call of the sync and the permissions it needs (all of them); `shows`, those it does not
    need but without which part of its answer is left out."""

    method: str
    template: str
    permissions: tuple[tuple[str, str], ...]
    shows: tuple[tuple[str, str], ...] = ()


def _endpoint(method: str, template: str, **permissions: str) -> Endpoint:
    return Endpoint(method, template, tuple(sorted(permissions.items())))


def _secrets_and_variables(scope: str, **extra: str) -> tuple[Endpoint, ...]:
    secrets, variables = f"{scope}/secrets", f"{scope}/variables"
    read = {key: "read" for key in extra}
    return (
        _endpoint("GET", secrets, secrets="read", **read),
        _endpoint("GET", f"{secrets}/public-key", secrets="read", **read),
        _endpoint("PUT", f"{secrets}/{{secret_name}}", secrets="write", **extra),
        _endpoint("DELETE", f"{secrets}/{{secret_name}}", secrets="write", **extra),
        _endpoint("GET", variables, actions_variables="read", **read),
        _endpoint("POST", variables, actions_variables="write", **extra),
        _endpoint("PATCH", f"{variables}/{{name}}", actions_variables="write", **extra),
        _endpoint("DELETE", f"{variables}/{{name}}", actions_variables="write", **extra),
    )


READ_REPOSITORY = _endpoint("GET", _REPOSITORY, metadata="read")
READ_ENVIRONMENT = _endpoint("GET", _ENVIRONMENT, actions="read")
CREATE_ENVIRONMENT = _endpoint("PUT", _ENVIRONMENT, administration="write")
DISPATCH = _endpoint("POST", f"{_REPOSITORY}/dispatches", contents="write")
REPOSITORY_TARGET = _secrets_and_variables(f"{_REPOSITORY}/actions")
ENVIRONMENT_TARGET = _secrets_and_variables(_ENVIRONMENT, **_BOTH)


# The organization: GitHub's data files GET /orgs/{org} under no permission, but its OpenAPI
# description shows the plan "only with the Organization plan permission" (on GitHub Free,
# organization secrets and variables do not reach private repositories).
READ_ORGANIZATION = Endpoint("GET", "/orgs/{org}", (), (("organization_plan", "read"),))


def _organization_target() -> tuple[Endpoint, ...]:
    """The organization's plan; organization secrets and variables, and the repositories each
    is selected for."""
    secrets, variables = f"{_ORGANIZATION}/secrets", f"{_ORGANIZATION}/variables"
    secret, variable = f"{secrets}/{{secret_name}}", f"{variables}/{{name}}"
    return (
        READ_ORGANIZATION,
        # Each repository's own variables count towards the same per-run budget as the
        # organization's that reach it (256 KB on GitHub.com).
        _endpoint("GET", f"{_REPOSITORY}/actions/variables", actions_variables="read"),
        _endpoint("GET", secrets, organization_secrets="read"),
        _endpoint("GET", f"{secrets}/public-key", organization_secrets="read"),
        _endpoint("PUT", secret, organization_secrets="write"),
        _endpoint("DELETE", secret, organization_secrets="write"),
        _endpoint("GET", f"{secret}/repositories", organization_secrets="read"),
        _endpoint("PUT", f"{secret}/repositories", organization_secrets="write"),
        _endpoint("GET", variables, organization_actions_variables="read"),
        _endpoint("POST", variables, organization_actions_variables="write"),
        _endpoint("PATCH", variable, organization_actions_variables="write"),
        _endpoint("DELETE", variable, organization_actions_variables="write"),
        _endpoint("GET", f"{variable}/repositories", organization_actions_variables="read"),
        _endpoint("PUT", f"{variable}/repositories", organization_actions_variables="write"),
    )


ORGANIZATION_TARGET = _organization_target()
ALL_ENDPOINTS = (
    READ_REPOSITORY,
    READ_ENVIRONMENT,
    CREATE_ENVIRONMENT,
    DISPATCH,
    *REPOSITORY_TARGET,
    *ENVIRONMENT_TARGET,
    *ORGANIZATION_TARGET,
)


def sync_endpoints(scope: str, *, create_environments: bool, dispatch: bool) -> list[Endpoint]:
    """Every endpoint a sync with these settings may call (environments are created in the
    environment scope only)."""
    endpoints = [READ_REPOSITORY]
    if scope == ENVIRONMENT_SCOPE:
        endpoints += [READ_ENVIRONMENT, *ENVIRONMENT_TARGET]
        if create_environments:
            endpoints.append(CREATE_ENVIRONMENT)
    elif scope == ORGANIZATION_SCOPE:
        endpoints += ORGANIZATION_TARGET
    else:
        endpoints += REPOSITORY_TARGET
    if dispatch:
        endpoints.append(DISPATCH)
    return endpoints


def token_permissions(scope: str, *, create_environments: bool, dispatch: bool) -> dict[str, str]:
    """permission -> read or write: exactly what the sync's token needs, nothing more."""
    needed: dict[str, str] = {}
    endpoints = sync_endpoints(scope, create_environments=create_environments, dispatch=dispatch)
    for endpoint in endpoints:
        for permission, access in (*endpoint.permissions, *endpoint.shows):
            if needed.get(permission) != "write":
                needed[permission] = access
    return dict(sorted(needed.items()))


def title(key: str) -> str:
    """The permission as a person finds it on GitHub's settings pages: its title, with
    `Organization` before those listed under Organization permissions (`Organization secrets`)."""
    if key in ORGANIZATION_PERMISSIONS:
        return f"Organization {TITLES[key].lower()}"
    return TITLES[key]


def describe(permissions: dict[str, str]) -> str:
    """The permissions as GitHub's settings pages name them: `Secrets: write, Metadata: read`."""
    return ", ".join(f"{title(key)}: {access}" for key, access in permissions.items())
