"""The routes the stand-in GitHub serves: each handler takes one call (under the server's lock)
and returns a reply, or raises Answer. Templates are those of GitHub's OpenAPI description."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import urlencode

from nacl.exceptions import CryptoError
from nacl.public import SealedBox

from testing.github import permissions as github_permissions
from testing.github.apps import App, installation_document, token_document
from testing.github.documents import (
    account_document,
    entry_document,
    environment_document,
    error,
    repository_document,
)
from testing.github.state import (
    Entry,
    EntryKind,
    Environment,
    Organization,
    Repository,
    State,
    Target,
    Token,
    iso,
)
from testing.http_stand_in import BRACED_PARAMETERS, Reply, Route, Router, RouteSpec, int_or, route

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


@dataclass(frozen=True)
class Call:
    state: State
    repository: Repository
    params: dict[str, str]  # path parameters, percent-decoded
    query: dict[str, str]
    body: Any
    path: str  # as sent, to build pagination links
    api_url: str

    def target(self) -> Target:
        """The repository's, or the environment's when the path names one."""
        return (
            self.environment().target
            if "environment_name" in self.params
            else self.repository.target
        )

    def environment(self) -> Environment:
        environment = self.repository.environments.get(self.params["environment_name"].casefold())
        if environment is None:
            raise error(404, "Not Found")
        return environment


class _PageSize(NamedTuple):
    default: int
    maximum: int


# The description's `per-page` parameter, and its `variables-per-page` (GitHub lists variables
# ten at a time unless asked, thirty at most).
PAGE = _PageSize(30, 100)
VARIABLES_PAGE = _PageSize(10, 30)


def paginated(call: Call | OrganizationCall, key: str, items: list[Any], size: _PageSize) -> Reply:
    """One page of items, with `total_count` and the Link header GitHub sends."""
    per_page = min(max(int_or(call.query.get("per_page"), size.default), 1), size.maximum)
    page = max(int_or(call.query.get("page"), 1), 1)
    last_page = max((len(items) + per_page - 1) // per_page, 1)
    start = (page - 1) * per_page
    body = {"total_count": len(items), key: items[start : start + per_page]}
    links = page_links(call, page, last_page)
    return Reply(200, body, (("Link", links),) if links else ())


def page_links(call: Call | OrganizationCall, page: int, last_page: int) -> str:
    def url(number: int) -> str:
        query = {**call.query, "page": str(number)}
        return f"<{call.api_url}{call.path}?{urlencode(query)}>"

    relations = []
    if page > 1:
        relations += [f'{url(page - 1)}; rel="prev"', f'{url(1)}; rel="first"']
    if page < last_page:
        relations += [f'{url(page + 1)}; rel="next"', f'{url(last_page)}; rel="last"']
    return ", ".join(relations)


def valid_name(name: str, kind: str) -> str:
    """The name upper-cased as GitHub stores it; 422 when GitHub would refuse it."""
    if not _NAME.fullmatch(name) or name.upper().startswith(_RESERVED_PREFIX):
        raise error(
            422,
            f"{kind} names can only contain alphanumeric characters ([a-z], [A-Z], [0-9]) or "
            f"underscores (_), must not start with a number or with {_RESERVED_PREFIX}.",
        )
    return name.upper()


def string_field(body: Any, key: str) -> str:
    value = body.get(key) if isinstance(body, dict) else None
    if not isinstance(value, str):
        raise error(422, f'Invalid request.\n\n"{key}" wasn\'t supplied.')
    return value


def _get_repository(call: Call) -> Reply:
    return Reply(200, repository_document(call.api_url, call.repository))


def _create_dispatch(call: Call) -> Reply:
    event_type = call.body.get("event_type") if isinstance(call.body, dict) else None
    payload = call.body.get("client_payload", {}) if isinstance(call.body, dict) else None
    if not isinstance(event_type, str) or not 0 < len(event_type) <= _MAX_EVENT_TYPE_LENGTH:
        raise error(422, "Invalid request.\n\nFor 'properties/event_type', nil is not a string.")
    if not isinstance(payload, dict) or len(payload) > _MAX_CLIENT_PAYLOAD_PROPERTIES:
        raise error(
            422, "Invalid request.\n\nclient_payload must be an object of 10 keys or fewer."
        )
    call.repository.dispatches.append({"event_type": event_type, "client_payload": payload})
    return Reply(204)


def _list_environments(call: Call) -> Reply:
    environments = sorted(call.repository.environments.values(), key=lambda e: e.name.casefold())
    documents = [environment_document(call.api_url, call.repository, e) for e in environments]
    return paginated(call, "environments", documents, PAGE)


def _get_environment(call: Call) -> Reply:
    return Reply(200, environment_document(call.api_url, call.repository, call.environment()))


def _put_environment(call: Call) -> Reply:
    """Create the environment; the protection settings in the body replace the stored ones, and
    those the body leaves out stay as they were (as GitHub does)."""
    changes = _protection_changes(call.body)
    environment, created = call.state.put_environment(
        call.repository, call.params["environment_name"]
    )
    if changes:
        call.state.protect(environment, changes, created)
    return Reply(200, environment_document(call.api_url, call.repository, environment))


def _protection_changes(body: Any) -> dict[str, Any]:
    """The protection settings a PUT body sets; 422 for what GitHub would refuse."""
    if body is None:
        return {}
    if not isinstance(body, dict) or set(body) - _PROTECTION_KEYS:
        raise error(422, f"Invalid request.\n\nOnly {sorted(_PROTECTION_KEYS)} are allowed.")
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
        raise error(422, "Invalid request.\n\nwait_timer must be between 0 and 43200.")
    reviewers = changes.get("reviewers", [])
    if not isinstance(reviewers, list) or len(reviewers) > _MAX_REVIEWERS:
        raise error(422, "Invalid request.\n\nAt most 6 reviewers are allowed.")
    for reviewer in reviewers:
        if not (
            isinstance(reviewer, dict)
            and reviewer.get("type") in {"User", "Team"}
            and isinstance(reviewer.get("id"), int)
        ):
            raise error(422, "Invalid request.\n\nA reviewer is {type: User|Team, id: integer}.")
    policy = changes.get("deployment_branch_policy")
    if policy is not None and (
        not isinstance(policy, dict)
        or policy.get("protected_branches") == policy.get("custom_branch_policies")
    ):
        raise error(
            422,
            "Invalid request.\n\nExactly one of protected_branches and custom_branch_policies "
            "must be true.",
        )


def _get_public_key(call: Call) -> Reply:
    target = call.target()
    key = base64.b64encode(bytes(target.private_key.public_key)).decode()
    return Reply(200, {"key_id": target.key_id, "key": key})


class _Kind(NamedTuple):
    """Secrets or variables: what their list, get and delete routes differ in."""

    name: EntryKind  # the target's collection, and the key of the list's items
    parameter: str  # the path parameter that names one
    with_value: bool  # a variable's value is shown, a secret's never
    page: _PageSize


_SECRETS = _Kind("secrets", "secret_name", with_value=False, page=PAGE)
_VARIABLES = _Kind("variables", "name", with_value=True, page=VARIABLES_PAGE)


def _list_entries(kind: _Kind, call: Call) -> Reply:
    entries = sorted(call.target().entries(kind.name).items())
    documents = [entry_document(name, entry, kind.with_value) for name, entry in entries]
    return paginated(call, kind.name, documents, kind.page)


def _get_entry(kind: _Kind, call: Call) -> Reply:
    name = call.params[kind.parameter].upper()
    entry = existing(call.target().entries(kind.name), name)
    return Reply(200, entry_document(name, entry, kind.with_value))


def _delete_entry(kind: _Kind, call: Call) -> Reply:
    entries = call.target().entries(kind.name)
    name = call.params[kind.parameter].upper()
    existing(entries, name)
    del entries[name]
    return Reply(204)


def existing(entries: Mapping[str, Entry], name: str) -> Entry:
    """The secret or variable of that (upper-case) name; 404 when there is none."""
    entry = entries.get(name)
    if entry is None:
        raise error(404, "Not Found")
    return entry


def _put_secret(call: Call) -> Reply:
    target = call.target()
    name = valid_name(call.params["secret_name"], "Secret")
    plaintext = decrypt(target, call.body)
    if call.state.put_entry(target.secrets, name, plaintext):
        return Reply(201, {})  # the description's empty-object
    return Reply(204)


def decrypt(target: Target, body: Any) -> str:
    """The plaintext of a sealed-box `encrypted_value` made with the target's current key."""
    encrypted_value = string_field(body, "encrypted_value")
    key_id = string_field(body, "key_id")
    improper = error(422, "Bad request - validation failed due to an improperly encrypted secret")
    if key_id != target.key_id:
        raise improper
    try:
        sealed = base64.b64decode(encrypted_value, validate=True)
        return SealedBox(target.private_key).decrypt(sealed).decode()
    except (ValueError, CryptoError) as failure:  # binascii.Error and UnicodeError are ValueErrors
        raise improper from failure


def _create_variable(call: Call) -> Reply:
    target = call.target()
    name = valid_name(string_field(call.body, "name"), "Variable")
    value = string_field(call.body, "value")
    if name in target.variables:
        raise error(409, "Already exists - Variable already exists")
    call.state.put_entry(target.variables, name, value)
    return Reply(201, {})  # the description's empty-object


def _update_variable(call: Call) -> Reply:
    """Change the value and, when the body names it differently, rename it."""
    target = call.target()
    name = call.params["name"].upper()
    entry = existing(target.variables, name)
    body = call.body if isinstance(call.body, dict) else {}
    new_name = valid_name(string_field(body, "name"), "Variable") if "name" in body else name
    value = string_field(body, "value") if "value" in body else entry.value
    if new_name != name and new_name in target.variables:
        raise error(409, "Already exists - Variable already exists")
    entry.value = value
    entry.updated_at = call.state.clock.stamp()
    target.variables[new_name] = target.variables.pop(name)
    return Reply(204)


def permission_problem(token: Token, spec: RouteSpec) -> Reply | None:
    """403 when a fine-grained token lacks a permission GitHub's data says the route needs, with
    the header GitHub sends to say which."""
    if token.permissions is None:
        return None
    if not github_permissions.refused(token.permissions, spec.method, spec.template):
        return None
    accepted = github_permissions.accepted_header(spec.method, spec.template)
    forbidden = error(403, FORBIDDEN_MESSAGE).reply
    return Reply(403, forbidden.body, ((ACCEPTED_PERMISSIONS_HEADER, accepted),))


@dataclass(frozen=True)
class AppCall:
    """A call an app makes as itself (JWT): its installation and what it asks."""

    state: State
    app: App
    params: dict[str, str]
    body: Any
    api_url: str


def _get_repository_installation(call: AppCall) -> Reply:
    full_name = f"{call.params['owner']}/{call.params['repo']}"
    if full_name.lower() not in call.app.repositories:
        raise error(404, "Not Found")
    account = account_document(call.app.owner, call.app.installation_id + 2_000_000, "Organization")
    return Reply(200, installation_document(call.app, call.api_url, account))


def _create_installation_token(call: AppCall) -> Reply:
    """A token for some of the installation's repositories, with some of its permissions: a key
    GitHub does not know is dropped, a permission the installation lacks is refused."""
    if call.params["installation_id"] != str(call.app.installation_id):
        raise error(404, "Not Found")
    body = call.body or {}
    names = body.get("repositories")
    repositories = (
        call.app.repositories
        if names is None
        else frozenset(f"{call.app.owner}/{name}".lower() for name in names)
    )
    if not repositories <= call.app.repositories:
        raise error(
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
        raise error(422, "The permissions requested are not granted to this installation.")
    token = f"ghs_{secrets.token_hex(18)}"
    call.state.tokens[token] = Token(repositories, permissions)
    expires_at = iso(datetime.now(UTC) + timedelta(seconds=INSTALLATION_TOKEN_SECONDS))
    return Reply(201, token_document(token, expires_at, permissions))


@dataclass(frozen=True)
class AppHandler:
    """A route an app calls as itself, with a JWT it signed, not with a token."""

    handle: Callable[[AppCall], Reply]


@dataclass(frozen=True)
class OrganizationCall:
    """A call on an organization's routes (/orgs/{org}/...), which name no repository."""

    state: State
    organization: Organization
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    path: str
    api_url: str
    # The calling token's permissions (None: a classic token): some answers depend on them.
    permissions: dict[str, str] | None = None


@dataclass(frozen=True)
class OrganizationHandler:
    handle: Callable[[OrganizationCall], Reply]


Handler = Callable[[Call], Reply] | AppHandler | OrganizationHandler


def _route(
    method: str, template: str, handler: Handler, statuses: Collection[int]
) -> Route[Handler]:
    return route(method, template, handler, statuses, BRACED_PARAMETERS)


def _app_route(
    method: str, template: str, handler: Callable[[AppCall], Reply], statuses: Collection[int]
) -> Route[Handler]:
    return _route(method, template, AppHandler(handler), statuses)


def _target_routes(scope: str) -> list[Route[Handler]]:
    """The secrets and variables routes of a repository (scope .../actions) or an environment."""
    secrets, variables = f"{scope}/secrets", f"{scope}/variables"
    return [
        _route("GET", secrets, partial(_list_entries, _SECRETS), {200}),
        # Before {secret_name}: "public-key" is not a secret's name (names have no hyphen).
        _route("GET", f"{secrets}/public-key", _get_public_key, {200}),
        _route("GET", f"{secrets}/{{secret_name}}", partial(_get_entry, _SECRETS), {200, 404}),
        _route("PUT", f"{secrets}/{{secret_name}}", _put_secret, {201, 204, 422}),
        _route(
            "DELETE", f"{secrets}/{{secret_name}}", partial(_delete_entry, _SECRETS), {204, 404}
        ),
        _route("GET", variables, partial(_list_entries, _VARIABLES), {200}),
        _route("POST", variables, _create_variable, {201, 409, 422}),
        _route("GET", f"{variables}/{{name}}", partial(_get_entry, _VARIABLES), {200, 404}),
        _route("PATCH", f"{variables}/{{name}}", _update_variable, {204, 404, 409, 422}),
        _route("DELETE", f"{variables}/{{name}}", partial(_delete_entry, _VARIABLES), {204, 404}),
    ]


_REPOSITORY = "/repos/{owner}/{repo}"
_ENVIRONMENT = f"{_REPOSITORY}/environments/{{environment_name}}"
ROUTER: Router[Handler] = Router(
    [
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
    ]
)
