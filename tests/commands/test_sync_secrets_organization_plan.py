"""`sync-secrets` at `scope: organization` on GitHub Free: organization secrets and variables do
not reach private repositories, so a sync that selects one is refused before any write.

github/docs, "Using secrets in GitHub Actions" (Creating secrets for an organization):
"Organization-level secrets and variables are not accessible by private repositories for GitHub
Free." GitHub's OpenAPI description, GET /orgs/{org}: "To see information about an
organization's GitHub plan, GitHub Apps need the `Organization plan` permission": the stand-in
leaves `plan` out for a token without it, and the sync then warns once, naming the permission,
and goes on.

Internal repositories exist only in an enterprise's organizations, which are not on Free; the docs
are silent on them here, so the safe reading counts every repository that is not public.
"""

from __future__ import annotations

import pytest

from testing.github.server import GitHubServer
from tests.commands.test_sync_secrets import TOKEN, Sync
from tests.commands.test_sync_secrets_organization import (
    ORGANIZATION,
    PERMISSIONS,
    github,
    sync,
)

__all__ = ["github", "sync"]  # the organization sync's fixtures, used here

PLAN_WARNING = (
    "warning: cannot read the plan of organization acme: the token needs Organization plan: "
    "read (organization_plan)"
)


def test_the_rendered_token_asks_for_the_plan() -> None:
    assert PERMISSIONS["organization_plan"] == "read"


@pytest.mark.parametrize("arguments", [(), ("--dry-run",)])
def test_free_with_private_repositories_is_refused_before_any_write(
    sync: Sync, github: GitHubServer, arguments: tuple[str, ...]
) -> None:
    github.set_plan(ORGANIZATION, "free")
    github.set_visibility("acme/toto-ms-games", "public")
    result = sync(*arguments)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.splitlines() == [
        "error: organization acme is on GitHub's free plan, where organization secrets and "
        "variables do not reach private repositories: acme/toto-ms-expenses, "
        "acme/toto-ms-supermarket would read them empty (make them public, move the "
        "organization to a paid plan, or sync with scope environment or repository)"
    ]
    assert github.writes() == []
    assert github.organization_secrets(ORGANIZATION) == {}


def test_free_with_public_repositories_only_syncs(sync: Sync, github: GitHubServer) -> None:
    github.set_plan(ORGANIZATION, "free")
    for repository in ("acme/toto-ms-expenses", "acme/toto-ms-games", "acme/toto-ms-supermarket"):
        github.set_visibility(repository, "public")
    result = sync()
    assert result.exit_code == 0, result.stderr
    assert "DEV_ECS_SUBNET_1" in github.organization_secrets(ORGANIZATION)
    assert "plan" not in result.stderr


def test_a_paid_plan_reaches_private_repositories(sync: Sync, github: GitHubServer) -> None:
    github.set_plan(ORGANIZATION, "team")
    result = sync()
    assert result.exit_code == 0, result.stderr
    assert "plan" not in result.stderr


def test_a_plan_the_token_may_not_read_is_one_warning_and_the_sync_goes_on(
    sync: Sync, github: GitHubServer
) -> None:
    github.set_plan(ORGANIZATION, "free")
    without_plan = {k: v for k, v in PERMISSIONS.items() if k != "organization_plan"}
    github.add_token(TOKEN, permissions=without_plan)
    result = sync()
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "plan" in line]
    assert len(warnings) == 1 and warnings[0].startswith(PLAN_WARNING), result.stderr
    assert "DEV_ECS_SUBNET_1" in github.organization_secrets(ORGANIZATION)
