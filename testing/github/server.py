"""A stateful stand-in for the GitHub REST API, listening on loopback.

It serves the routes the sync uses (repository and environment secrets and variables, environments,
the repository, repository dispatches) with the paths, status codes and JSON documents of GitHub's
published OpenAPI description (tests/test_github_server.py checks them against it). Each secret
target has a real libsodium key pair and the server decrypts what it receives, so a test asserts
the plaintext that arrived, never an opaque blob. Faults, latency and per-token visibility are
injected through the public API; every request is logged.

    with GitHubServer() as server:
        server.add_repository("acme/toto-ms-x")
        server.add_token("t0ken")
        github = Github(base_url=server.url, auth=Auth.Token("t0ken"))
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, Self
from urllib.parse import parse_qsl, quote, unquote, urlencode

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox

from testing.github import permissions as github_permissions
from testing.github.apps import (
    App,
    claimed_app_id,
    installation_document,
    jwt_problem,
    new_app,
    token_document,
)
from testing.github.openapi import load_openapi

# Every timestamp comes from a logical clock: deterministic, and distinct for every write.
CLOCK_START = datetime(2024, 1, 1, tzinfo=UTC)
RATE_LIMIT = 5000
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_FAULT_STATUSES = (502, 503, 429, 403)
SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID 0000:0000."
)
DOCUMENTATION_URL = "https://docs.github.com/rest"
# Statuses any route may answer before its own handler runs: 400 for a body that is not JSON,
# 401 for a missing or unknown token, 403 for a token without the permission the route needs,
# 404 for a repository (or environment) the token cannot see, 422 for a body the description
# does not allow.
COMMON_STATUSES = frozenset({400, 401, 403, 404, 422})
FORBIDDEN_MESSAGE = "Resource not accessible by integration"
ACCEPTED_PERMISSIONS_HEADER = "X-Accepted-GitHub-Permissions"
INSTALLATION_TOKEN_SECONDS = 3600

# Secret and variable names: letters, digits and underscores, not starting with a digit.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED_PREFIX = "GITHUB_"
_MAX_REVIEWERS = 6
_MAX_WAIT_TIMER_MINUTES = 43_200
_MAX_EVENT_TYPE_LENGTH = 100
_MAX_CLIENT_PAYLOAD_PROPERTIES = 10
_FIRST_KEY_ID = 568_250_167_242_549_743  # the shape of GitHub's key ids: a number as a string


class LoggedRequest(NamedTuple):
    """One request as the server answered it."""

    method: str
    path: str  # as sent (percent-encoded), without the query string
    status: int
    body: Any  # the request's JSON body; None when it had none
    query: str = ""
    route: str | None = None  # the OpenAPI path template that matched, if any


class RouteSpec(NamedTuple):
    """A route the server serves and the statuses its handler can answer (besides COMMON_STATUSES
    and injected faults)."""

    method: str
    template: str  # the path as GitHub's OpenAPI description spells it
    statuses: frozenset[int]


# ---------------------------------------------------------------------------------------------
# State


class _Clock:
    """A clock that moves only when something is written: one second per write."""

    def __init__(self) -> None:
        self._ticks = 0

    def tick(self) -> str:
        self._ticks += 1
        return _iso(CLOCK_START + timedelta(seconds=self._ticks))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Entry:
    """A secret (its decrypted plaintext) or a variable, with its timestamps."""

    value: str
    created_at: str
    updated_at: str


@dataclass
class _Target:
    """What holds secrets and variables: a repository or one of its environments."""

    key_id: str
    private_key: PrivateKey
    secrets: dict[str, _Entry] = field(default_factory=dict)
    variables: dict[str, _Entry] = field(default_factory=dict)


@dataclass(frozen=True)
class _Token:
    """What a token may reach: its repositories (None: all) and its permissions (None: a classic
    token with the `repo` scope, which every route accepts)."""

    repositories: frozenset[str] | None
    permissions: dict[str, str] | None


@dataclass
class _Environment:
    id: int
    name: str
    created_at: str
    updated_at: str
    target: _Target
    # Protection in the shape of the PUT body: wait_timer, prevent_self_review, reviewers
    # ([{"type": "User"|"Team", "id": n}]), deployment_branch_policy.
    protection: dict[str, Any]


@dataclass
class _Repository:
    id: int
    full_name: str
    created_at: str
    target: _Target
    environments: dict[str, _Environment] = field(default_factory=dict)  # by casefolded name
    dispatches: list[dict[str, Any]] = field(default_factory=list)


class _State:
    """Repositories, tokens and the clock. Every method runs under the server's lock."""

    def __init__(self) -> None:
        self.clock = _Clock()
        self.repositories: dict[str, _Repository] = {}  # by lower-cased full name
        self.tokens: dict[str, _Token] = {}
        self.apps: dict[int, App] = {}  # by app ID
        self._last_id = 0

    def next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def new_target(self) -> _Target:
        return _Target(str(_FIRST_KEY_ID + self.next_id()), PrivateKey.generate())

    def repository(self, full_name: str) -> _Repository:
        repository = self.repositories.get(full_name.lower())
        if repository is None:
            raise KeyError(f"no repository {full_name!r}: add_repository() it first")
        return repository

    def environment(self, full_name: str, name: str) -> _Environment:
        environment = self.repository(full_name).environments.get(name.casefold())
        if environment is None:
            raise KeyError(f"no environment {name!r} in {full_name}: add_environment() it first")
        return environment

    def target(self, full_name: str, environment: str | None) -> _Target:
        if environment is None:
            return self.repository(full_name).target
        return self.environment(full_name, environment).target

    def visible_repository(self, token: str, full_name: str) -> _Repository | None:
        repository = self.repositories.get(full_name.lower())
        allowed = self.tokens[token].repositories
        if repository is None or (allowed is not None and full_name.lower() not in allowed):
            return None
        return repository

    def put_environment(self, repository: _Repository, name: str) -> tuple[_Environment, bool]:
        """The environment, created (unprotected) when missing; and whether it was created."""
        existing = repository.environments.get(name.casefold())
        if existing is not None:
            return existing, False
        now = self.clock.tick()
        created = _Environment(
            id=self.next_id(),
            name=name,
            created_at=now,
            updated_at=now,
            target=self.new_target(),
            protection={
                "wait_timer": 0,
                "prevent_self_review": False,
                "reviewers": [],
                "deployment_branch_policy": None,
            },
        )
        repository.environments[name.casefold()] = created
        return created, True

    def protect(
        self, environment: _Environment, protection: Mapping[str, Any], created: bool
    ) -> None:
        """Replace the protection settings named in `protection`; keep the others."""
        environment.protection.update(copy.deepcopy(dict(protection)))
        if not created:  # a creation already took its own timestamp
            environment.updated_at = self.clock.tick()

    def put_entry(self, entries: dict[str, _Entry], name: str, value: str) -> bool:
        """Create or update an entry; True when it was created."""
        now = self.clock.tick()
        existing = entries.get(name)
        if existing is None:
            entries[name] = _Entry(value, now, now)
            return True
        existing.value = value
        existing.updated_at = now
        return False


# ---------------------------------------------------------------------------------------------
# Replies and the documents GitHub answers with


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Any = None  # a JSON document, or None for no body at all
    headers: tuple[tuple[str, str], ...] = ()


class _Answer(Exception):  # not an error: a handler's early reply
    """Raised by a handler to answer at once (a 404, a 422...)."""

    def __init__(self, reply: _Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _error(status: int, message: str | None = None) -> _Answer:
    """GitHub's error document (basic-error, which validation-error extends)."""
    return _Answer(
        _Reply(
            status,
            {
                "message": message or HTTPStatus(status).phrase,
                "documentation_url": DOCUMENTATION_URL,
                "status": str(status),
            },
        )
    )


def _entry_document(name: str, entry: _Entry, with_value: bool) -> dict[str, Any]:
    document: dict[str, Any] = {"name": name}
    if with_value:  # variables show their value; secrets never do
        document["value"] = entry.value
    document.update(created_at=entry.created_at, updated_at=entry.updated_at)
    return document


def _account_document(login: str, account_id: int, kind: str) -> dict[str, Any]:
    """simple-user: a user or organization."""
    api = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": account_id,
        "node_id": _node_id(kind, account_id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{account_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"https://github.com/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def _team_document(organization: str, team_id: int) -> dict[str, Any]:
    slug = f"team-{team_id}"
    url = f"https://api.github.com/organizations/{organization}/team/{team_id}"
    return {
        "id": team_id,
        "node_id": _node_id("Team", team_id),
        "url": url,
        "html_url": f"https://github.com/orgs/{organization}/teams/{slug}",
        "name": slug,
        "slug": slug,
        "description": None,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": f"{url}/members{{/member}}",
        "repositories_url": f"{url}/repos",
        "parent": None,
        "type": "organization",
    }


def _node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0:{kind}{number}".encode()).decode()


def _repository_document(api_url: str, repository: _Repository) -> dict[str, Any]:
    """full-repository, as GET /repos/{owner}/{repo} answers it."""
    owner, name = repository.full_name.split("/")
    api = f"{api_url}/repos/{repository.full_name}"
    html = f"https://github.com/{repository.full_name}"
    document: dict[str, Any] = {
        "id": repository.id,
        "node_id": _node_id("Repository", repository.id),
        "name": name,
        "full_name": repository.full_name,
        "owner": _account_document(owner, repository.id + 1_000_000, "Organization"),
        "private": True,
        "visibility": "private",
        "html_url": html,
        "description": None,
        "fork": False,
        "url": api,
        "homepage": None,
        "language": None,
        "mirror_url": None,
        "license": None,
        "default_branch": "main",
        "archived": False,
        "disabled": False,
        "clone_url": f"{html}.git",
        "git_url": f"git://github.com/{repository.full_name}.git",
        "ssh_url": f"git@github.com:{repository.full_name}.git",
        "svn_url": html,
        "created_at": repository.created_at,
        "updated_at": repository.created_at,
        "pushed_at": repository.created_at,
        "permissions": {
            "admin": True,
            "maintain": True,
            "push": True,
            "triage": True,
            "pull": True,
        },
    }
    document.update({key: f"{api}/{suffix}" for key, suffix in _REPOSITORY_URLS.items()})
    document.update(dict.fromkeys(_REPOSITORY_COUNTS, 0))
    document.update(_REPOSITORY_FEATURES)
    return document


_REPOSITORY_URLS = {
    "archive_url": "{archive_format}{/ref}",
    "assignees_url": "assignees{/user}",
    "blobs_url": "git/blobs{/sha}",
    "branches_url": "branches{/branch}",
    "collaborators_url": "collaborators{/collaborator}",
    "comments_url": "comments{/number}",
    "commits_url": "commits{/sha}",
    "compare_url": "compare/{base}...{head}",
    "contents_url": "contents/{+path}",
    "contributors_url": "contributors",
    "deployments_url": "deployments",
    "downloads_url": "downloads",
    "events_url": "events",
    "forks_url": "forks",
    "git_commits_url": "git/commits{/sha}",
    "git_refs_url": "git/refs{/sha}",
    "git_tags_url": "git/tags{/sha}",
    "hooks_url": "hooks",
    "issue_comment_url": "issues/comments{/number}",
    "issue_events_url": "issues/events{/number}",
    "issues_url": "issues{/number}",
    "keys_url": "keys{/key_id}",
    "labels_url": "labels{/name}",
    "languages_url": "languages",
    "merges_url": "merges",
    "milestones_url": "milestones{/number}",
    "notifications_url": "notifications{?since,all,participating}",
    "pulls_url": "pulls{/number}",
    "releases_url": "releases{/id}",
    "stargazers_url": "stargazers",
    "statuses_url": "statuses/{sha}",
    "subscribers_url": "subscribers",
    "subscription_url": "subscription",
    "tags_url": "tags",
    "teams_url": "teams",
    "trees_url": "git/trees{/sha}",
}
_REPOSITORY_COUNTS = (
    "forks",
    "forks_count",
    "open_issues",
    "open_issues_count",
    "size",
    "stargazers_count",
    "watchers",
    "watchers_count",
    "network_count",
    "subscribers_count",
)
_REPOSITORY_FEATURES = {
    "has_issues": True,
    "has_projects": False,
    "has_wiki": False,
    "has_pages": False,
    "has_discussions": False,
}


def _environment_document(
    api_url: str, repository: _Repository, environment: _Environment
) -> dict[str, Any]:
    """environment, as GET and PUT /repos/{owner}/{repo}/environments/{name} answer it."""
    quoted = quote(environment.name, safe="")
    return {
        "id": environment.id,
        "node_id": _node_id("Environment", environment.id),
        "name": environment.name,
        "url": f"{api_url}/repos/{repository.full_name}/environments/{quoted}",
        "html_url": (
            f"https://github.com/{repository.full_name}/deployments/activity_log"
            f"?environments_filter={quoted}"
        ),
        "created_at": environment.created_at,
        "updated_at": environment.updated_at,
        "protection_rules": _protection_rules(repository, environment),
        "deployment_branch_policy": environment.protection["deployment_branch_policy"],
    }


def _protection_rules(repository: _Repository, environment: _Environment) -> list[dict[str, Any]]:
    """The rules GitHub lists for an environment's protection (only those that are set)."""
    protection = environment.protection
    rule_id = environment.id * 10
    rules: list[dict[str, Any]] = []
    if protection["wait_timer"]:
        rules.append(
            {
                "id": rule_id + 1,
                "node_id": _node_id("Gate", rule_id + 1),
                "type": "wait_timer",
                "wait_timer": protection["wait_timer"],
            }
        )
    if protection["reviewers"]:
        organization = repository.full_name.split("/")[0]
        rules.append(
            {
                "id": rule_id + 2,
                "node_id": _node_id("Gate", rule_id + 2),
                "prevent_self_review": protection["prevent_self_review"],
                "type": "required_reviewers",
                "reviewers": [
                    {
                        "type": reviewer["type"],
                        "reviewer": _account_document(
                            f"user-{reviewer['id']}", reviewer["id"], "User"
                        )
                        if reviewer["type"] == "User"
                        else _team_document(organization, reviewer["id"]),
                    }
                    for reviewer in protection["reviewers"]
                ],
            }
        )
    if protection["deployment_branch_policy"] is not None:
        rules.append(
            {"id": rule_id + 3, "node_id": _node_id("Gate", rule_id + 3), "type": "branch_policy"}
        )
    return rules


# ---------------------------------------------------------------------------------------------
# Route handlers: each takes one call and returns a reply, or raises _Answer.


@dataclass(frozen=True)
class _Call:
    state: _State
    repository: _Repository
    params: dict[str, str]  # path parameters, percent-decoded
    query: dict[str, str]
    body: Any
    path: str  # as sent, to build pagination links
    api_url: str

    def target(self) -> _Target:
        """The repository's, or the environment's when the path names one."""
        return (
            self.environment().target
            if "environment_name" in self.params
            else self.repository.target
        )

    def environment(self) -> _Environment:
        environment = self.repository.environments.get(self.params["environment_name"].casefold())
        if environment is None:
            raise _error(404, "Not Found")
        return environment


class _PageSize(NamedTuple):
    default: int
    maximum: int


# The description's `per-page` parameter, and its `variables-per-page` (GitHub lists variables
# ten at a time unless asked, thirty at most).
_PAGE = _PageSize(30, 100)
_VARIABLES_PAGE = _PageSize(10, 30)


def _paginated(call: _Call, key: str, items: list[Any], size: _PageSize) -> _Reply:
    """One page of items, with `total_count` and the Link header GitHub sends."""
    per_page = min(max(_int_or(call.query.get("per_page"), size.default), 1), size.maximum)
    page = max(_int_or(call.query.get("page"), 1), 1)
    last_page = max((len(items) + per_page - 1) // per_page, 1)
    start = (page - 1) * per_page
    body = {"total_count": len(items), key: items[start : start + per_page]}
    links = _page_links(call, page, last_page)
    return _Reply(200, body, (("Link", links),) if links else ())


def _page_links(call: _Call, page: int, last_page: int) -> str:
    def url(number: int) -> str:
        query = {**call.query, "page": str(number)}
        return f"<{call.api_url}{call.path}?{urlencode(query)}>"

    relations = []
    if page > 1:
        relations += [f'{url(page - 1)}; rel="prev"', f'{url(1)}; rel="first"']
    if page < last_page:
        relations += [f'{url(page + 1)}; rel="next"', f'{url(last_page)}; rel="last"']
    return ", ".join(relations)


def _int_or(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _valid_name(name: str, kind: str) -> str:
    """The name upper-cased as GitHub stores it; 422 when GitHub would refuse it."""
    if not _NAME.fullmatch(name) or name.upper().startswith(_RESERVED_PREFIX):
        raise _error(
            422,
            f"{kind} names can only contain alphanumeric characters ([a-z], [A-Z], [0-9]) or "
            f"underscores (_), must not start with a number or with {_RESERVED_PREFIX}.",
        )
    return name.upper()


def _string_field(body: Any, key: str) -> str:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, str):
        raise _error(422, f'Invalid request.\n\n"{key}" wasn\'t supplied.')
    return value


def _get_repository(call: _Call) -> _Reply:
    return _Reply(200, _repository_document(call.api_url, call.repository))


def _create_dispatch(call: _Call) -> _Reply:
    event_type = call.body.get("event_type") if isinstance(call.body, dict) else None
    payload = call.body.get("client_payload", {}) if isinstance(call.body, dict) else None
    if not isinstance(event_type, str) or not 0 < len(event_type) <= _MAX_EVENT_TYPE_LENGTH:
        raise _error(422, "Invalid request.\n\nFor 'properties/event_type', nil is not a string.")
    if not isinstance(payload, dict) or len(payload) > _MAX_CLIENT_PAYLOAD_PROPERTIES:
        raise _error(
            422, "Invalid request.\n\nclient_payload must be an object of 10 keys or fewer."
        )
    call.state.clock.tick()
    call.repository.dispatches.append({"event_type": event_type, "client_payload": payload})
    return _Reply(204)


def _list_environments(call: _Call) -> _Reply:
    environments = sorted(call.repository.environments.values(), key=lambda e: e.name.casefold())
    documents = [_environment_document(call.api_url, call.repository, e) for e in environments]
    return _paginated(call, "environments", documents, _PAGE)


def _get_environment(call: _Call) -> _Reply:
    return _Reply(200, _environment_document(call.api_url, call.repository, call.environment()))


def _put_environment(call: _Call) -> _Reply:
    """Create the environment; the protection settings in the body replace the stored ones, and
    those the body leaves out stay as they were (as GitHub does)."""
    changes = _protection_changes(call.body)
    environment, created = call.state.put_environment(
        call.repository, call.params["environment_name"]
    )
    if changes:
        call.state.protect(environment, changes, created)
    return _Reply(200, _environment_document(call.api_url, call.repository, environment))


def _protection_changes(body: Any) -> dict[str, Any]:
    """The protection settings a PUT body sets; 422 for what GitHub would refuse."""
    if body is None:
        return {}
    if not isinstance(body, dict) or set(body) - _PROTECTION_KEYS:
        raise _error(422, f"Invalid request.\n\nOnly {sorted(_PROTECTION_KEYS)} are allowed.")
    changes = dict(body)
    if changes.get("reviewers") is None and "reviewers" in changes:
        changes["reviewers"] = []
    _check_protection(changes)
    return changes


_PROTECTION_KEYS = frozenset(
    {"wait_timer", "prevent_self_review", "reviewers", "deployment_branch_policy"}
)


def _check_protection(changes: Mapping[str, Any]) -> None:
    wait_timer = changes.get("wait_timer", 0)
    if not isinstance(wait_timer, int) or not 0 <= wait_timer <= _MAX_WAIT_TIMER_MINUTES:
        raise _error(422, "Invalid request.\n\nwait_timer must be between 0 and 43200.")
    reviewers = changes.get("reviewers", [])
    if not isinstance(reviewers, list) or len(reviewers) > _MAX_REVIEWERS:
        raise _error(422, "Invalid request.\n\nAt most 6 reviewers are allowed.")
    for reviewer in reviewers:
        if not (
            isinstance(reviewer, dict)
            and reviewer.get("type") in {"User", "Team"}
            and isinstance(reviewer.get("id"), int)
        ):
            raise _error(422, "Invalid request.\n\nA reviewer is {type: User|Team, id: integer}.")
    policy = changes.get("deployment_branch_policy")
    if policy is not None and (
        not isinstance(policy, dict)
        or policy.get("protected_branches") == policy.get("custom_branch_policies")
    ):
        raise _error(
            422,
            "Invalid request.\n\nExactly one of protected_branches and custom_branch_policies "
            "must be true.",
        )


def _list_secrets(call: _Call) -> _Reply:
    secrets = sorted(call.target().secrets.items())
    documents = [_entry_document(name, entry, with_value=False) for name, entry in secrets]
    return _paginated(call, "secrets", documents, _PAGE)


def _get_public_key(call: _Call) -> _Reply:
    target = call.target()
    key = base64.b64encode(bytes(target.private_key.public_key)).decode()
    return _Reply(200, {"key_id": target.key_id, "key": key})


def _get_secret(call: _Call) -> _Reply:
    name = call.params["secret_name"].upper()
    entry = call.target().secrets.get(name)
    if entry is None:
        raise _error(404, "Not Found")
    return _Reply(200, _entry_document(name, entry, with_value=False))


def _put_secret(call: _Call) -> _Reply:
    target = call.target()
    name = _valid_name(call.params["secret_name"], "Secret")
    plaintext = _decrypt(target, call.body)
    if call.state.put_entry(target.secrets, name, plaintext):
        return _Reply(201, {})  # the description's empty-object
    return _Reply(204)


def _decrypt(target: _Target, body: Any) -> str:
    """The plaintext of a sealed-box `encrypted_value` made with the target's current key."""
    encrypted_value = _string_field(body, "encrypted_value")
    key_id = _string_field(body, "key_id")
    improper = _error(422, "Bad request - validation failed due to an improperly encrypted secret")
    if key_id != target.key_id:
        raise improper
    try:
        sealed = base64.b64decode(encrypted_value, validate=True)
        return SealedBox(target.private_key).decrypt(sealed).decode()
    except (ValueError, CryptoError) as failure:  # binascii.Error and UnicodeError are ValueErrors
        raise improper from failure


def _delete_secret(call: _Call) -> _Reply:
    target = call.target()
    if target.secrets.pop(call.params["secret_name"].upper(), None) is None:
        raise _error(404, "Not Found")
    call.state.clock.tick()
    return _Reply(204)


def _list_variables(call: _Call) -> _Reply:
    variables = sorted(call.target().variables.items())
    documents = [_entry_document(name, entry, with_value=True) for name, entry in variables]
    return _paginated(call, "variables", documents, _VARIABLES_PAGE)


def _create_variable(call: _Call) -> _Reply:
    target = call.target()
    name = _valid_name(_string_field(call.body, "name"), "Variable")
    value = _string_field(call.body, "value")
    if name in target.variables:
        raise _error(409, "Already exists - Variable already exists")
    call.state.put_entry(target.variables, name, value)
    return _Reply(201, {})  # the description's empty-object


def _get_variable(call: _Call) -> _Reply:
    name = call.params["name"].upper()
    entry = call.target().variables.get(name)
    if entry is None:
        raise _error(404, "Not Found")
    return _Reply(200, _entry_document(name, entry, with_value=True))


def _update_variable(call: _Call) -> _Reply:
    """Change the value and, when the body names it differently, rename it."""
    target = call.target()
    name = call.params["name"].upper()
    entry = target.variables.get(name)
    if entry is None:
        raise _error(404, "Not Found")
    body = call.body if isinstance(call.body, dict) else {}
    new_name = _valid_name(_string_field(body, "name"), "Variable") if "name" in body else name
    value = _string_field(body, "value") if "value" in body else entry.value
    if new_name != name and new_name in target.variables:
        raise _error(409, "Already exists - Variable already exists")
    entry.value = value
    entry.updated_at = call.state.clock.tick()
    target.variables[new_name] = target.variables.pop(name)
    return _Reply(204)


def _delete_variable(call: _Call) -> _Reply:
    if call.target().variables.pop(call.params["name"].upper(), None) is None:
        raise _error(404, "Not Found")
    call.state.clock.tick()
    return _Reply(204)


def _permission_problem(token: _Token, spec: RouteSpec) -> _Reply | None:
    """403 when a fine-grained token lacks a permission GitHub's data says the route needs, with
    the header GitHub sends to say which."""
    if token.permissions is None:
        return None
    needs = github_permissions.required(spec.method, spec.template)
    if not github_permissions.missing(token.permissions, needs):
        return None
    accepted = ",".join(sorted(str(need) for need in needs))
    forbidden = _error(403, FORBIDDEN_MESSAGE).reply
    return _Reply(403, forbidden.body, ((ACCEPTED_PERMISSIONS_HEADER, accepted),))


@dataclass(frozen=True)
class _AppCall:
    """A call an app makes as itself (JWT): its installation and what it asks."""

    state: _State
    app: App
    params: dict[str, str]
    body: Any
    api_url: str


def _get_repository_installation(call: _AppCall) -> _Reply:
    full_name = f"{call.params['owner']}/{call.params['repo']}"
    if full_name.lower() not in call.app.repositories:
        raise _error(404, "Not Found")
    account = _account_document(
        call.app.owner, call.app.installation_id + 2_000_000, "Organization"
    )
    return _Reply(200, installation_document(call.app, call.api_url, account))


def _create_installation_token(call: _AppCall) -> _Reply:
    """A token for some of the installation's repositories, with some of its permissions: a key
    GitHub does not know is dropped, a permission the installation lacks is refused."""
    if call.params["installation_id"] != str(call.app.installation_id):
        raise _error(404, "Not Found")
    body = call.body or {}
    names = body.get("repositories")
    repositories = (
        call.app.repositories
        if names is None
        else frozenset(f"{call.app.owner}/{name}".lower() for name in names)
    )
    if not repositories <= call.app.repositories:
        raise _error(
            422,
            "There is at least one repository that does not exist or is not accessible to the "
            "parent installation.",
        )
    requested = body.get("permissions")
    permissions = (
        dict(call.app.permissions) if requested is None else github_permissions.granted(requested)
    )
    if github_permissions.missing(
        call.app.permissions,
        [github_permissions.Requirement(key, level) for key, level in permissions.items()],
    ):
        raise _error(422, "The permissions requested are not granted to this installation.")
    token = f"ghs_{secrets.token_hex(18)}"
    call.state.tokens[token] = _Token(repositories, permissions)
    expires_at = _iso(datetime.now(UTC) + timedelta(seconds=INSTALLATION_TOKEN_SECONDS))
    return _Reply(201, token_document(token, expires_at, permissions))


@dataclass(frozen=True)
class _Route:
    spec: RouteSpec
    pattern: re.Pattern[str]
    handler: Callable[[_Call], _Reply] | None  # a route called with a token
    app_handler: Callable[[_AppCall], _Reply] | None = None  # one an app calls with its JWT

    @property
    def app_auth(self) -> bool:
        return self.app_handler is not None


def _route(
    method: str, template: str, handler: Callable[[_Call], _Reply], statuses: Collection[int]
) -> _Route:
    # A parameter is one path segment: a slash inside a name arrives as %2F.
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return _Route(RouteSpec(method, template, frozenset(statuses)), re.compile(pattern), handler)


def _app_route(
    method: str, template: str, handler: Callable[[_AppCall], _Reply], statuses: Collection[int]
) -> _Route:
    plain = _route(method, template, _get_repository, statuses)
    return _Route(plain.spec, plain.pattern, None, handler)


def _target_routes(scope: str) -> list[_Route]:
    """The secrets and variables routes of a repository (scope .../actions) or an environment."""
    secrets, variables = f"{scope}/secrets", f"{scope}/variables"
    return [
        _route("GET", secrets, _list_secrets, {200}),
        # Before {secret_name}: "public-key" is not a secret's name (names have no hyphen).
        _route("GET", f"{secrets}/public-key", _get_public_key, {200}),
        _route("GET", f"{secrets}/{{secret_name}}", _get_secret, {200, 404}),
        _route("PUT", f"{secrets}/{{secret_name}}", _put_secret, {201, 204, 422}),
        _route("DELETE", f"{secrets}/{{secret_name}}", _delete_secret, {204, 404}),
        _route("GET", variables, _list_variables, {200}),
        _route("POST", variables, _create_variable, {201, 409, 422}),
        _route("GET", f"{variables}/{{name}}", _get_variable, {200, 404}),
        _route("PATCH", f"{variables}/{{name}}", _update_variable, {204, 404, 409, 422}),
        _route("DELETE", f"{variables}/{{name}}", _delete_variable, {204, 404}),
    ]


_REPOSITORY = "/repos/{owner}/{repo}"
_ENVIRONMENT = f"{_REPOSITORY}/environments/{{environment_name}}"
_ROUTES: tuple[_Route, ...] = (
    _route("GET", _REPOSITORY, _get_repository, {200}),
    _route("POST", f"{_REPOSITORY}/dispatches", _create_dispatch, {204, 422}),
    _route("GET", f"{_REPOSITORY}/environments", _list_environments, {200}),
    _route("GET", _ENVIRONMENT, _get_environment, {200, 404}),
    _route("PUT", _ENVIRONMENT, _put_environment, {200, 422}),
    *_target_routes(f"{_REPOSITORY}/actions"),
    *_target_routes(_ENVIRONMENT),
    _app_route("GET", f"{_REPOSITORY}/installation", _get_repository_installation, {200, 404}),
    _app_route(
        "POST",
        "/app/installations/{installation_id}/access_tokens",
        _create_installation_token,
        {201, 404, 422},
    ),
)


def _match(method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
    for route in _ROUTES:
        found = route.pattern.fullmatch(path)
        if found and route.spec.method == method:
            return route, {key: unquote(value) for key, value in found.groupdict().items()}
    return None, {}


# ---------------------------------------------------------------------------------------------
# Faults


@dataclass
class _PathFailure:
    pattern: re.Pattern[str]
    method: str | None
    status: int
    remaining: int | None  # None: for ever
    message: str | None
    retry_after: str | None


def _fault_reply(status: int, message: str | None, retry_after: str | None) -> _Reply:
    """What GitHub answers when it fails: 403 and 429 are its secondary rate limit."""
    rate_limited = status in {403, 429}
    if message is None:
        message = SECONDARY_RATE_LIMIT_MESSAGE if rate_limited else HTTPStatus(status).phrase
    headers = (("Retry-After", retry_after),) if rate_limited and retry_after is not None else ()
    return _Reply(status, _error(status, message).reply.body, headers)


# ---------------------------------------------------------------------------------------------
# The server


class GitHubServer:
    """The stand-in, on 127.0.0.1 and a free port. Use as a context manager, or start()/stop()."""

    def __init__(self) -> None:
        self.latency_seconds: float = 0.0  # slept before answering every request
        self._lock = threading.Lock()
        self._state = _State()
        self._log: dict[int, LoggedRequest] = {}  # by arrival number
        self._arrivals = 0
        self._answered = 0
        self._errors: list[str] = []
        self._fault_rate = 0.0
        # Seeded, for faults that repeat from one run to the next; nothing cryptographic.
        self._fault_random = random.Random(0)
        self._fault_statuses: tuple[int, ...] = DEFAULT_FAULT_STATUSES
        self._fault_retry_after: str | None = "1"
        self._path_failures: list[_PathFailure] = []
        self._rate_limit_reset = int(time.time()) + 3600
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._http.daemon_threads = True  # keep-alive connections must not hold stop() up
        self._thread = threading.Thread(
            # A short poll: stop() waits for the loop to notice, once per test.
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="github-server",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._thread is not None:
            self._thread.join()
        self._http, self._thread = None, None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The API base URL, for PyGithub's base_url."""
        if self._http is None:
            raise RuntimeError("the server is not started")
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    @staticmethod
    def routes() -> tuple[RouteSpec, ...]:
        return tuple(route.spec for route in _ROUTES)

    # -- seeding and reading state --------------------------------------------------------------

    def add_repository(self, full_name: str) -> None:
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"a repository is OWNER/NAME, not {full_name!r}")
        with self._lock:
            if full_name.lower() in self._state.repositories:
                return
            self._state.repositories[full_name.lower()] = _Repository(
                id=self._state.next_id(),
                full_name=full_name,
                created_at=self._state.clock.tick(),
                target=self._state.new_target(),
            )

    def add_token(
        self,
        token: str,
        repositories: Collection[str] | None = None,
        permissions: Mapping[str, str] | None = None,
    ) -> None:
        """A token that sees every repository (None) or only those (others answer 404), with
        these permissions (a fine-grained token: what they do not cover answers 403) or, None, a
        classic token that may do anything on what it sees. Unknown permission keys are dropped,
        as GitHub drops them."""
        with self._lock:
            self._state.tokens[token] = _Token(
                None if repositories is None else frozenset(r.lower() for r in repositories),
                None if permissions is None else github_permissions.granted(permissions),
            )

    def app_private_key(self, app_id: int) -> str:
        with self._lock:
            return self._state.apps[app_id].private_key_pem

    def token_permissions(self, token: str) -> dict[str, str] | None:
        """The permissions a token holds (None: a classic token)."""
        with self._lock:
            permissions = self._state.tokens[token].permissions
            return None if permissions is None else dict(permissions)

    def add_app(
        self, app_id: int, repositories: Collection[str], permissions: Mapping[str, str]
    ) -> str:
        """A GitHub App installed on these repositories (of one owner) with these permissions;
        returns its private key (PEM), with which a client signs the JWT that gets it tokens."""
        owners = {repository.split("/")[0].lower() for repository in repositories}
        if len(owners) != 1:
            raise ValueError(f"an installation belongs to one owner: {sorted(repositories)}")
        with self._lock:
            for repository in repositories:
                self._state.repository(repository)  # KeyError for an unknown one
            app = new_app(
                app_id,
                installation_id=self._state.next_id(),
                owner=next(iter(repositories)).split("/")[0],
                repositories=frozenset(r.lower() for r in repositories),
                permissions=github_permissions.granted(permissions),
                created_at=self._state.clock.tick(),
            )
            self._state.apps[app_id] = app
            return app.private_key_pem

    def add_environment(
        self,
        repository: str,
        name: str,
        reviewers: list[dict[str, Any]] | None = None,
        *,
        wait_timer: int = 0,
        prevent_self_review: bool = False,
        deployment_branch_policy: dict[str, Any] | None = None,
    ) -> None:
        """Create (or re-protect) an environment; reviewers as in the API: {type, id}."""
        protection = {
            "wait_timer": wait_timer,
            "prevent_self_review": prevent_self_review,
            "reviewers": reviewers or [],
            "deployment_branch_policy": deployment_branch_policy,
        }
        with self._lock:
            environment, created = self._state.put_environment(
                self._state.repository(repository), name
            )
            self._state.protect(environment, protection, created)

    def environment(self, repository: str, name: str) -> dict[str, Any] | None:
        """The environment's name, timestamps and protection (PUT-body shape); None if missing."""
        with self._lock:
            found = self._state.repository(repository).environments.get(name.casefold())
            if found is None:
                return None
            return {
                "name": found.name,
                "created_at": found.created_at,
                "updated_at": found.updated_at,
                **copy.deepcopy(found.protection),
            }

    def environment_names(self, repository: str) -> list[str]:
        with self._lock:
            return sorted(e.name for e in self._state.repository(repository).environments.values())

    def secrets(self, repository: str, environment: str | None = None) -> dict[str, str]:
        """NAME -> the plaintext that arrived (decrypted with the target's private key)."""
        with self._lock:
            entries = self._state.target(repository, environment).secrets
            return {name: entry.value for name, entry in sorted(entries.items())}

    def secret_updated_at(self, repository: str, name: str, environment: str | None = None) -> str:
        with self._lock:
            return self._state.target(repository, environment).secrets[name.upper()].updated_at

    def set_secret(
        self, repository: str, name: str, value: str, environment: str | None = None
    ) -> None:
        """Seed a secret, or change one behind the sync's back (a new updated_at)."""
        with self._lock:
            target = self._state.target(repository, environment)
            self._state.put_entry(target.secrets, name.upper(), value)

    def delete_secret(self, repository: str, name: str, environment: str | None = None) -> None:
        with self._lock:
            del self._state.target(repository, environment).secrets[name.upper()]
            self._state.clock.tick()

    def variables(self, repository: str, environment: str | None = None) -> dict[str, str]:
        with self._lock:
            entries = self._state.target(repository, environment).variables
            return {name: entry.value for name, entry in sorted(entries.items())}

    def set_variable(
        self, repository: str, name: str, value: str, environment: str | None = None
    ) -> None:
        with self._lock:
            target = self._state.target(repository, environment)
            self._state.put_entry(target.variables, name.upper(), value)

    def rotate_public_key(self, repository: str, environment: str | None = None) -> None:
        """A new key pair and key_id, as GitHub rotates them: the old key_id then answers 422."""
        with self._lock:
            target = self._state.target(repository, environment)
            replacement = self._state.new_target()
            target.key_id, target.private_key = replacement.key_id, replacement.private_key

    def dispatches(self, repository: str) -> list[dict[str, Any]]:
        """The repository_dispatch events received: {"event_type", "client_payload"}."""
        with self._lock:
            return copy.deepcopy(self._state.repository(repository).dispatches)

    # -- the request log ------------------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every answered request, in arrival order."""
        with self._lock:
            return [self._log[number] for number in sorted(self._log)]

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def writes(self) -> list[LoggedRequest]:
        """The POST, PUT, PATCH and DELETE requests that succeeded (2xx)."""
        return [r for r in self.requests if r.method in WRITE_METHODS and 200 <= r.status < 300]

    @property
    def errors(self) -> list[str]:
        """Bugs of the stand-in itself (a handler that crashed or answered an undeclared status);
        each was answered 500."""
        with self._lock:
            return list(self._errors)

    # -- faults ---------------------------------------------------------------------------------

    def inject_faults(
        self,
        rate: float,
        seed: int,
        statuses: Collection[int] = DEFAULT_FAULT_STATUSES,
        retry_after: str | None = "1",
    ) -> None:
        """Answer that fraction of requests (drawn by random.Random(seed)) with one of statuses,
        before anything is read or written. rate 0 turns random faults off."""
        if not 0 <= rate <= 1 or (rate > 0 and not statuses):
            raise ValueError(f"a fault rate is between 0 and 1, with statuses: {rate}, {statuses}")
        with self._lock:
            self._fault_rate = rate
            self._fault_random = random.Random(seed)
            self._fault_statuses = tuple(statuses)
            self._fault_retry_after = retry_after

    def fail_path(
        self,
        pattern: str,
        status: int = 502,
        times: int | None = 1,
        *,
        method: str | None = None,
        message: str | None = None,
        retry_after: str | None = "1",
    ) -> None:
        """Fail the next `times` requests (None: all) whose percent-decoded path matches the
        regular expression `pattern` (re.search), and whose method is `method` if given."""
        with self._lock:
            self._path_failures.append(
                _PathFailure(re.compile(pattern), method, status, times, message, retry_after)
            )

    def clear_faults(self) -> None:
        """No more random faults nor path failures."""
        with self._lock:
            self._fault_rate = 0.0
            self._path_failures.clear()

    # -- answering ------------------------------------------------------------------------------

    def _answer(
        self, method: str, target: str, authorization: str | None, raw_body: bytes
    ) -> _Reply:
        with self._lock:
            self._arrivals += 1
            arrival = self._arrivals
        if self.latency_seconds > 0:
            time.sleep(self.latency_seconds)
        incoming = _incoming(method, target, authorization, raw_body)
        with self._lock:
            reply = self._fault(method, unquote(incoming.path)) or self._serve(incoming)
            reply = self._with_rate_limit_headers(reply)
            self._log[arrival] = LoggedRequest(
                method,
                incoming.path,
                reply.status,
                incoming.body if incoming.body is not _NOT_JSON else None,
                incoming.query,
                incoming.route.spec.template if incoming.route else None,
            )
        return reply

    def _fault(self, method: str, decoded_path: str) -> _Reply | None:
        for failure in self._path_failures:
            if failure.remaining == 0 or (failure.method not in {None, method}):
                continue
            if failure.pattern.search(decoded_path):
                if failure.remaining is not None:
                    failure.remaining -= 1
                return _fault_reply(failure.status, failure.message, failure.retry_after)
        if self._fault_rate > 0 and self._fault_random.random() < self._fault_rate:
            status = self._fault_random.choice(self._fault_statuses)
            return _fault_reply(status, None, self._fault_retry_after)
        return None

    def _serve(self, incoming: _Incoming) -> _Reply:
        """GitHub's checks in its order: credentials, route, body, visibility, permissions, the
        body against the description; then the route."""
        route = incoming.route
        if route is not None and route.app_auth:
            return self._serve_app(route, incoming)
        token = incoming.token
        if token is None or token not in self._state.tokens:
            return _error(401, "Bad credentials").reply
        if route is None:
            # GitHub answers 404 too; kept, since a client that meets it sent a path it should not.
            self._errors.append(f"{incoming.path}: no operation of the description that is served")
            return _error(404, "Not Found").reply
        params = incoming.params
        repository = self._state.visible_repository(token, f"{params['owner']}/{params['repo']}")
        refusal = (
            self._unparsable(route, incoming)
            or (_error(404, "Not Found").reply if repository is None else None)
            or _permission_problem(self._state.tokens[token], route.spec)
            or self._body_problem(route.spec, incoming.body)
        )
        if refusal is not None or repository is None:
            return refusal or _error(404, "Not Found").reply
        query = dict(parse_qsl(incoming.query))
        call = _Call(self._state, repository, params, query, incoming.body, incoming.path, self.url)
        return self._run(route, call)

    def _unparsable(self, route: _Route, incoming: _Incoming) -> _Reply | None:
        if incoming.body is not _NOT_JSON:
            return None
        self._errors.append(f"{route.spec.method} {incoming.path}: a body that is not JSON")
        return _error(400, "Problems parsing JSON").reply

    def _body_problem(self, spec: RouteSpec, body: Any) -> _Reply | None:
        """422 for a body GitHub's OpenAPI description does not allow; the request is also kept
        in errors, since the toolkit must never send one."""
        problem = load_openapi().request_body_problem(spec.method, spec.template, body)
        if problem is None:
            return None
        self._errors.append(
            f"{spec.method} {spec.template}: the body breaks the description: {problem}"
        )
        return _error(422, f"Invalid request.\n\n{problem}").reply

    def _serve_app(self, route: _Route, incoming: _Incoming) -> _Reply:
        """A route an app calls as itself, with a JWT it signed."""
        app = self._state.apps.get(claimed_app_id(incoming.token or "") or -1)
        if app is None:
            return _error(401, "A JSON web token could not be decoded").reply
        problem = jwt_problem(app, incoming.token or "", time.time())
        if problem is not None:
            return _error(401, problem).reply
        refusal = self._unparsable(route, incoming) or self._body_problem(route.spec, incoming.body)
        if refusal is not None:
            return refusal
        call = _AppCall(self._state, app, incoming.params, incoming.body, self.url)
        handler = route.app_handler
        assert handler is not None
        return self._checked(route, lambda: handler(call))

    def _run(self, route: _Route, call: _Call) -> _Reply:
        handler = route.handler
        assert handler is not None
        return self._checked(route, lambda: handler(call))

    def _checked(self, route: _Route, handle: Callable[[], _Reply]) -> _Reply:
        """The handler's reply; 500, kept in errors, when it crashed or answered a status its
        route does not declare."""
        try:
            reply = handle()
        except _Answer as answer:
            reply = answer.reply
        except Exception as crash:  # a bug of the stand-in: answered 500 and kept for the tests
            self._errors.append(f"{route.spec.method} {route.spec.template}: {crash!r}")
            return _error(500, f"stand-in server error: {crash!r}").reply
        if reply.status not in route.spec.statuses | COMMON_STATUSES:
            self._errors.append(f"{route.spec.method} {route.spec.template}: {reply.status}")
            return _error(500, f"undeclared status {reply.status}").reply
        return reply

    def _with_rate_limit_headers(self, reply: _Reply) -> _Reply:
        self._answered += 1
        used = min(self._answered, RATE_LIMIT)
        headers = (
            ("X-RateLimit-Limit", str(RATE_LIMIT)),
            ("X-RateLimit-Remaining", str(RATE_LIMIT - used)),
            ("X-RateLimit-Reset", str(self._rate_limit_reset)),
            ("X-RateLimit-Used", str(used)),
            ("X-RateLimit-Resource", "core"),
        )
        return _Reply(reply.status, reply.body, reply.headers + headers)


_NOT_JSON = object()  # a request body that could not be parsed


class _Incoming(NamedTuple):
    """A request, parsed (which touches no state)."""

    path: str
    query: str
    token: str | None
    body: Any  # JSON, None when empty, _NOT_JSON when unparsable
    route: _Route | None
    params: dict[str, str]


def _incoming(method: str, target: str, authorization: str | None, raw_body: bytes) -> _Incoming:
    path, _, query = target.partition("?")
    route, params = _match(method, path)
    return _Incoming(path, query, _token_of(authorization), _parse_body(raw_body), route, params)


def _parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return _NOT_JSON


def _token_of(authorization: str | None) -> str | None:
    """The token of `Authorization: token X` or `Bearer X`."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() in {"token", "bearer"} and token.strip() else None


def _handler_class(server: GitHubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as PyGithub's session expects
        # Headers and body leave in two writes: without this, Nagle's algorithm and the client's
        # delayed ACK hold every answer back some 40 ms.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length) if length else b""
            reply = server._answer(  # the handler is part of the server
                self.command, self.path, self.headers.get("Authorization"), raw_body
            )
            payload = b"" if reply.body is None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.body is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: server.requests is the log."""

    return Handler
