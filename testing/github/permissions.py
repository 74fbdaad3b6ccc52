"""What a GitHub token may do, from GitHub's own endpoint -> permission data.

testing/vendor/github-permissions.json is the part of github/docs' server-to-server permission data
that covers the endpoints this project calls or serves (scripts/refresh-github-permissions
refreshes it; the file names its commit). An endpoint is listed under every permission it needs:
environment secrets under both `environments` and `secrets`, as GitHub's REST reference states
("Secrets: write" and "Environments: write"), so a request needs all of its entries. `write`
includes `read`, and every installation token has `metadata: read`.

Token permission keys are the data's keys (GitHub's own: the Variables permission is
`actions_variables`). A key GitHub does not know is ignored when a token is made, as GitHub does:
a token asked for `variables` silently lacks the Variables permission and then answers 403
(fullsend-ai/fullsend#997).

The data does not say whether an endpoint listed under several permissions needs all of them or
any one: its REST reference does. Issue comments take "at least one of" Issues or Pull requests
(a comment on a pull request with `pull-requests: write` alone, as a plan job has it): those are
listed in ANY_ONE_OF; every other endpoint needs all of its entries.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

VENDORED = Path(__file__).resolve().parent.parent / "vendor" / "github-permissions.json"
ACCESS_LEVELS = ("read", "write")
IMPLICIT = {"metadata": "read"}
_REPOSITORY = "/repos/{owner}/{repo}"
ANY_ONE_OF = frozenset(
    {
        ("GET", f"{_REPOSITORY}/issues/{{issue_number}}/comments"),
        ("POST", f"{_REPOSITORY}/issues/{{issue_number}}/comments"),
        ("GET", f"{_REPOSITORY}/issues/comments"),
        ("GET", f"{_REPOSITORY}/issues/comments/{{comment_id}}"),
        ("PATCH", f"{_REPOSITORY}/issues/comments/{{comment_id}}"),
        ("DELETE", f"{_REPOSITORY}/issues/comments/{{comment_id}}"),
    }
)


# Endpoints GitHub's data files under no permission, which every token may call: the
# organization's public profile. What such an answer shows can depend on a permission the data
# does not list (FIELD_PERMISSIONS).
OPEN_ENDPOINTS = frozenset({("GET", "/orgs/{org}")})
# Permissions that gate part of an answer, not an endpoint, so the data has no entry for them:
# GitHub's OpenAPI description of GET /orgs/{org}: "To see information about an organization's
# GitHub plan, GitHub Apps need the `Organization plan` permission" (key organization_plan, as
# in the description's app-permissions schema and actions/create-github-app-token's
# permission-organization-plan input).
FIELD_PERMISSIONS = frozenset({"organization_plan"})


class Requirement(NamedTuple):
    """One permission an endpoint needs, at an access level."""

    permission: str
    access: str

    def __str__(self) -> str:
        return f"{self.permission}={self.access}"


@functools.cache
def _endpoints() -> dict[tuple[str, str], frozenset[Requirement]]:
    data = json.loads(VENDORED.read_text(encoding="utf-8"))
    endpoints: dict[tuple[str, str], set[Requirement]] = {}
    for key, permission in data["permissions"].items():
        for entry in permission["permissions"]:
            if not entry["server-to-server"]:
                continue
            endpoint = (entry["verb"].upper(), entry["requestPath"])
            endpoints.setdefault(endpoint, set()).add(Requirement(key, entry["access"]))
    return {endpoint: frozenset(needs) for endpoint, needs in endpoints.items()}


def known_permissions() -> frozenset[str]:
    """The permission keys of the data, and those that gate a field (a token asked for another
    key does not get it)."""
    listed = {need.permission for needs in _endpoints().values() for need in needs}
    return frozenset(listed | FIELD_PERMISSIONS)


def required(method: str, template: str) -> frozenset[Requirement]:
    """What a token needs to call the endpoint (nothing for an open one); KeyError when the
    data does not list it."""
    if (method.upper(), template) in OPEN_ENDPOINTS:
        return frozenset()
    return _endpoints()[(method.upper(), template)]


def missing(granted: Mapping[str, str], needs: Iterable[Requirement]) -> list[Requirement]:
    """The requirements a token with these permissions does not meet."""
    held = {**IMPLICIT, **granted}
    return [need for need in needs if not _meets(held.get(need.permission), need.access)]


def refused(granted: Mapping[str, str], method: str, template: str) -> list[Requirement]:
    """What a token with these permissions lacks for the endpoint ([] when it may call it): all
    of the endpoint's requirements, or for an ANY_ONE_OF endpoint, all when it meets none."""
    needs = required(method, template)
    lacking = missing(granted, needs)
    if (method.upper(), template) in ANY_ONE_OF and len(lacking) < len(needs):
        return []
    return lacking


def accepted_header(method: str, template: str) -> str:
    """X-Accepted-GitHub-Permissions: a set's permissions joined by commas; alternative sets
    (ANY_ONE_OF) by semicolons."""
    needs = sorted(str(need) for need in required(method, template))
    return ("; " if (method.upper(), template) in ANY_ONE_OF else ",").join(needs)


def _meets(level: str | None, access: str) -> bool:
    return level in ACCESS_LEVELS and ACCESS_LEVELS.index(level) >= ACCESS_LEVELS.index(access)


def granted(requested: Mapping[str, str]) -> dict[str, str]:
    """The permissions a token asked for these gets: unknown keys and levels dropped."""
    known = known_permissions()
    return {
        key: level for key, level in requested.items() if key in known and level in ACCESS_LEVELS
    }
