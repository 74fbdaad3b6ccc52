"""`sync-secrets` at `scope: organization`: the variables that reach a repository must fit in
GitHub's per-run budget, or GitHub silently drops organization variables.

github/docs, content/actions/reference/variables-reference.md, "Limits for configuration
variables": "The total combined size limit for organization and repository variables is 256 KB
per workflow run" (10 MB on GitHub Enterprise Server); past it, "only the organization variables
that fall below that limit will be available (after accounting for repository variables and as
sorted alphabetically by variable name)"; environment variables do not count. So the pre-flight
adds up, for each configured repository, its own variables (read from the repository) and the
organization variables that reach it once the sync is applied, and refuses past the budget
(exit 2, one line per repository, nothing written).

Where the docs are silent the reading is the safe one: a variable's size is its name and its
value in UTF-8 bytes, and KB is 1,024 bytes as in the 48 KB of one value (sync_plan).
"""

from __future__ import annotations

import re

from testing.github.server import GitHubServer
from tests.commands.test_sync_secrets import TOKEN, Sync
from tests.commands.test_sync_secrets_organization import (
    ORGANIZATION,
    PERMISSIONS,
    github,
    sync,
)

__all__ = ["github", "sync"]  # the organization sync's fixtures, used here

KB = 1024
GAMES = "acme/toto-ms-games"


def fill(github: GitHubServer, repository: str, total: int) -> None:
    """Repository variables of about `total` bytes, each within GitHub's 48 KB."""
    number = 0
    while total > 0:
        size = min(total, 40 * KB)
        github.set_variable(repository, f"OWN_{number:02}", "v" * size)
        total -= size
        number += 1


def test_the_rendered_token_reads_the_repositories_variables() -> None:
    assert PERMISSIONS["actions_variables"] == "read"


def test_a_repository_past_the_budget_is_refused_before_any_write(
    sync: Sync, github: GitHubServer
) -> None:
    fill(github, GAMES, 220 * KB)  # with the 40 KB below, past 256 KB
    # Reaches every repository (visibility all): counts for each, as the sync's own do.
    github.set_organization_entry(
        ORGANIZATION, "variables", "SHARED", "s" * (40 * KB), visibility="all"
    )
    github.set_organization_entry(  # selects another repository only: does not count
        ORGANIZATION, "variables", "ELSEWHERE", "e" * (40 * KB), repositories=["acme/toto-ms-auth"]
    )
    github.clear_requests()
    result = sync()
    assert result.exit_code == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    line = result.stderr.strip()
    found = re.fullmatch(
        r"error: acme/toto-ms-games: would get (?P<total>[\d,]+) bytes of variables in each "
        r"workflow run \(its own (?P<own>[\d,]+), the organization's (?P<shared>[\d,]+)\), "
        r"more than GitHub's 262,144 \(256 KB\): organization variables past it, by name, "
        r"would be missing",
        line,
    )
    assert found, line
    total, own, organization = (
        int(found[group].replace(",", "")) for group in ("total", "own", "shared")
    )
    assert total == own + organization
    assert own > 220 * KB and 40 * KB < organization < 41 * KB  # not ELSEWHERE's 40 KB
    assert github.writes() == []


def test_within_the_budget_the_sync_goes_on(sync: Sync, github: GitHubServer) -> None:
    fill(github, GAMES, 200 * KB)  # with the 40 KB below, 240 KB
    github.set_organization_entry(
        ORGANIZATION, "variables", "SHARED", "s" * (40 * KB), visibility="all"
    )
    result = sync()
    assert result.exit_code == 0, result.stderr
    assert "DEV_AWS_REGION" in github.organization_variables(ORGANIZATION)


def test_a_token_that_cannot_read_a_repositorys_variables_is_one_warning(
    sync: Sync, github: GitHubServer
) -> None:
    without = {k: v for k, v in PERMISSIONS.items() if k != "actions_variables"}
    github.add_token(TOKEN, permissions=without)
    result = sync()
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "Variables: read" in line]
    assert warnings == [
        "warning: cannot read the variables of acme/toto-ms-expenses, acme/toto-ms-games, "
        "acme/toto-ms-supermarket: the token needs Variables: read (actions_variables); their "
        "own variables count towards GitHub's 262,144 bytes (256 KB) of variables a run gets, "
        "so only the organization's are counted"
    ], result.stderr
