"""The stand-in GitHub's organization Actions secrets and variables: the public key, the secrets
and variables with their visibility (all, private, selected) and selected repositories, the
selection routes, and the lists of those a repository is given; with the test-side seeding.
Handlers run under the server's lock, as those of routes.py do; the server checks the token, the
organization and the body first."""

from __future__ import annotations

import base64
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from functools import partial
from typing import Any, NamedTuple

from testing.github.documents import (
    PLANS,
    entry_document,
    error,
    organization_document,
    repository_document,
)
from testing.github.routes import (
    PAGE,
    VARIABLES_PAGE,
    Call,
    Handler,
    OrganizationCall,
    OrganizationHandler,
    decrypt,
    existing,
    paginated,
    string_field,
    valid_name,
)
from testing.github.state import (
    EntryKind,
    Organization,
    OrganizationEntry,
    Repository,
    State,
)
from testing.http_stand_in import BRACED_PARAMETERS, Answer, Reply, Route, route

VISIBILITIES = frozenset({"all", "private", "selected"})
PLAN_PERMISSION = "organization_plan"
_NOT_SELECTED = "Conflict - the visibility is not set to selected"


class _Kind(NamedTuple):
    name: EntryKind
    parameter: str  # the path parameter that names one
    with_value: bool  # a variable's value is shown, a secret's never


_SECRETS = _Kind("secrets", "secret_name", with_value=False)
_VARIABLES = _Kind("variables", "name", with_value=True)


def _document(call: OrganizationCall, kind: _Kind, name: str) -> dict[str, Any]:
    """organization-actions-secret or organization-actions-variable."""
    entry = call.organization.entries(kind.name)[name]
    document = {**entry_document(name, entry, kind.with_value), "visibility": entry.visibility}
    if entry.visibility == "selected":
        url = f"{call.api_url}/orgs/{call.organization.login}/actions/{kind.name}/{name}"
        document["selected_repositories_url"] = f"{url}/repositories"
    return document


def _entry(call: OrganizationCall, kind: _Kind) -> tuple[str, OrganizationEntry]:
    name = call.params[kind.parameter].upper()
    found = existing(call.organization.entries(kind.name), name)
    assert isinstance(found, OrganizationEntry)
    return name, found


def _list_entries(kind: _Kind, call: OrganizationCall) -> Reply:
    names = sorted(call.organization.entries(kind.name))
    documents = [_document(call, kind, name) for name in names]
    return paginated(call, kind.name, documents, VARIABLES_PAGE if kind.with_value else PAGE)


def _get_entry(kind: _Kind, call: OrganizationCall) -> Reply:
    name, _ = _entry(call, kind)
    return Reply(200, _document(call, kind, name))


def _delete_entry(kind: _Kind, call: OrganizationCall) -> Reply:
    name, _ = _entry(call, kind)
    del call.organization.entries(kind.name)[name]
    return Reply(204)


def _get_public_key(call: OrganizationCall) -> Reply:
    key = call.organization.key
    return Reply(
        200,
        {"key_id": key.key_id, "key": base64.b64encode(bytes(key.private_key.public_key)).decode()},
    )


def _repository_ids(state: State, organization: Organization, given: Any) -> set[int]:
    """The organization's repositories these ids name (numbers, or for a secret numbers as
    strings); 422 for an id that names none of them."""
    ids: set[int] = set()
    for item in given if isinstance(given, list) else [given]:
        number = int(item) if isinstance(item, int | str) and str(item).isdigit() else -1
        found = state.repository_by_id(number)
        if found is None or found.full_name.split("/")[0].lower() != organization.login.lower():
            raise error(
                422, f"Invalid request.\n\nNo repository of the organization has id {item}."
            )
        ids.add(number)
    return ids


def _selection(call: OrganizationCall, body: dict[str, Any], entry: OrganizationEntry) -> None:
    """Apply the body's visibility and selected_repository_ids to the entry; 422 for ids with a
    visibility other than selected, or an id that is not the organization's."""
    visibility = body.get("visibility", entry.visibility)
    if visibility not in VISIBILITIES:
        raise error(422, f"Invalid request.\n\n{visibility!r} is not a visibility.")
    given = body.get("selected_repository_ids")
    if given is not None and visibility != "selected":
        raise error(
            422,
            "Invalid request.\n\nselected_repository_ids can only be given with visibility "
            "selected.",
        )
    if given is not None:
        entry.selected = _repository_ids(call.state, call.organization, given)
    elif visibility != "selected":
        entry.selected = set()
    entry.visibility = visibility


def _body(call: OrganizationCall) -> dict[str, Any]:
    return call.body if isinstance(call.body, dict) else {}


def _put_secret(call: OrganizationCall) -> Reply:
    name = valid_name(call.params["secret_name"], "Secret")
    plaintext = decrypt(call.organization.key, call.body)
    secrets = call.organization.secrets
    created = name not in secrets
    now = call.state.clock.stamp()
    entry = secrets.get(name) or OrganizationEntry(plaintext, now, now)
    _selection(call, _body(call), entry)  # before anything is stored: a 422 changes nothing
    entry.value, entry.updated_at = plaintext, now
    secrets[name] = entry
    return Reply(201, {}) if created else Reply(204)


def _create_variable(call: OrganizationCall) -> Reply:
    name = valid_name(string_field(call.body, "name"), "Variable")
    value = string_field(call.body, "value")
    if name in call.organization.variables:
        raise error(409, "Already exists - Variable already exists")
    now = call.state.clock.stamp()
    entry = OrganizationEntry(value, now, now)
    _selection(call, _body(call), entry)
    call.organization.variables[name] = entry
    return Reply(201, {})  # the description's empty-object


def _update_variable(call: OrganizationCall) -> Reply:
    """Change the value, visibility or selection and, when the body names it differently,
    rename it; nothing changes on a 409 or 422."""
    name, entry = _entry(call, _VARIABLES)
    body = _body(call)
    variables = call.organization.variables
    new_name = valid_name(string_field(body, "name"), "Variable") if "name" in body else name
    value = string_field(body, "value") if "value" in body else entry.value
    if new_name != name and new_name in variables:
        raise error(409, "Already exists - Variable already exists")
    changed = OrganizationEntry(
        value, entry.created_at, call.state.clock.stamp(), entry.visibility, set(entry.selected)
    )
    _selection(call, body, changed)
    del variables[name]
    variables[new_name] = changed
    return Reply(204)


def _selected_entry(call: OrganizationCall, kind: _Kind, bare: bool) -> OrganizationEntry:
    """The entry, when its visibility is selected; 409 otherwise, with no body where the
    description documents the 409 without one (bare), GitHub's error document elsewhere."""
    _, entry = _entry(call, kind)
    if entry.visibility != "selected":
        raise Answer(Reply(409)) if bare else error(409, _NOT_SELECTED)
    return entry


def _list_repositories(kind: _Kind, bare: bool, call: OrganizationCall) -> Reply:
    entry = _selected_entry(call, kind, bare)
    found = [call.state.repository_by_id(number) for number in sorted(entry.selected)]
    documents = [repository_document(call.api_url, r) for r in found if r is not None]
    return paginated(call, "repositories", documents, PAGE)


def _set_repositories(kind: _Kind, bare: bool, call: OrganizationCall) -> Reply:
    entry = _selected_entry(call, kind, bare)
    given = _body(call).get("selected_repository_ids", [])
    entry.selected = _repository_ids(call.state, call.organization, given)
    return Reply(204)


def _add_repository(kind: _Kind, bare: bool, call: OrganizationCall) -> Reply:
    entry = _selected_entry(call, kind, bare)
    entry.selected |= _repository_ids(call.state, call.organization, call.params["repository_id"])
    return Reply(204)


def _remove_repository(kind: _Kind, bare: bool, call: OrganizationCall) -> Reply:
    entry = _selected_entry(call, kind, bare)
    entry.selected -= _repository_ids(call.state, call.organization, call.params["repository_id"])
    return Reply(204)


def shares_with(entry: OrganizationEntry, repository: Repository) -> bool:
    """Whether a repository of the organization may use the entry: every one (all), the
    private and internal ones (private), or those selected."""
    if entry.visibility == "all":
        return True
    if entry.visibility == "private":
        return repository.visibility in {"private", "internal"}
    return repository.id in entry.selected


def _list_shared(kind: _Kind, call: Call) -> Reply:
    """GET /repos/{owner}/{repo}/actions/organization-secrets (or -variables): the organization
    entries shared with the repository, as actions-secret (or actions-variable) documents; none
    for a repository whose owner is no organization."""
    owner = call.repository.full_name.split("/")[0].lower()
    organization = call.state.organizations.get(owner)
    entries = organization.entries(kind.name) if organization is not None else {}
    documents = [
        entry_document(name, entry, kind.with_value)
        for name, entry in sorted(entries.items())
        if shares_with(entry, call.repository)
    ]
    return paginated(call, kind.name, documents, VARIABLES_PAGE if kind.with_value else PAGE)


def _get_organization(call: OrganizationCall) -> Reply:
    """The organization, its plan shown only to a token that holds Organization plan (a
    classic token, whose admin:org scope the stand-in does not model, sees it too)."""
    organization, permissions = call.organization, call.permissions
    shows_plan = permissions is None or permissions.get(PLAN_PERMISSION) in {"read", "write"}
    document = organization_document(
        call.api_url,
        organization.login,
        organization.id,
        organization.created_at,
        organization.plan if shows_plan else None,
    )
    return Reply(200, document)


def _route(
    method: str,
    template: str,
    handler: Callable[[OrganizationCall], Reply],
    statuses: set[int],
) -> Route[Handler]:
    return route(method, template, OrganizationHandler(handler), statuses, BRACED_PARAMETERS)


def _selection_routes(one: str, kind: _Kind) -> list[Route[Handler]]:
    repositories = f"{one}/repositories"
    # The description documents a bodiless 409 on these, except on a secret's list and set.
    bare = kind.with_value
    return [
        _route("GET", repositories, partial(_list_repositories, kind, bare), {200, 404, 409}),
        _route("PUT", repositories, partial(_set_repositories, kind, bare), {204, 404, 409, 422}),
        _route(
            "PUT",
            f"{repositories}/{{repository_id}}",
            partial(_add_repository, kind, True),
            {204, 404, 409, 422},
        ),
        _route(
            "DELETE",
            f"{repositories}/{{repository_id}}",
            partial(_remove_repository, kind, True),
            {204, 404, 409, 422},
        ),
    ]


_SECRETS_PATH = "/orgs/{org}/actions/secrets"
_VARIABLES_PATH = "/orgs/{org}/actions/variables"
_SECRET = f"{_SECRETS_PATH}/{{secret_name}}"
_VARIABLE = f"{_VARIABLES_PATH}/{{name}}"
ORGANIZATION_ROUTES: list[Route[Handler]] = [
    _route("GET", "/orgs/{org}", _get_organization, {200, 404}),
    _route("GET", _SECRETS_PATH, partial(_list_entries, _SECRETS), {200}),
    # Before {secret_name}: "public-key" is not a secret's name (names have no hyphen).
    _route("GET", f"{_SECRETS_PATH}/public-key", _get_public_key, {200}),
    _route("GET", _SECRET, partial(_get_entry, _SECRETS), {200, 404}),
    _route("PUT", _SECRET, _put_secret, {201, 204, 422}),
    _route("DELETE", _SECRET, partial(_delete_entry, _SECRETS), {204, 404}),
    *_selection_routes(_SECRET, _SECRETS),
    _route("GET", _VARIABLES_PATH, partial(_list_entries, _VARIABLES), {200}),
    _route("POST", _VARIABLES_PATH, _create_variable, {201, 409, 422}),
    _route("GET", _VARIABLE, partial(_get_entry, _VARIABLES), {200, 404}),
    _route("PATCH", _VARIABLE, _update_variable, {204, 404, 409, 422}),
    _route("DELETE", _VARIABLE, partial(_delete_entry, _VARIABLES), {204, 404}),
    *_selection_routes(_VARIABLE, _VARIABLES),
    # What a repository is given of its organization's (a repository route: the token must see it).
    route(
        "GET",
        "/repos/{owner}/{repo}/actions/organization-secrets",
        partial(_list_shared, _SECRETS),
        {200},
        BRACED_PARAMETERS,
    ),
    route(
        "GET",
        "/repos/{owner}/{repo}/actions/organization-variables",
        partial(_list_shared, _VARIABLES),
        {200},
        BRACED_PARAMETERS,
    ),
]


class OrganizationSeeding:
    """GitHubServer's organization methods; they hold its lock, as every method of it does."""

    _lock: AbstractContextManager[Any]
    _state: State

    def add_organization(self, login: str) -> None:
        """An organization (with its own key pair): repositories added under that owner are
        its repositories, the only ones its secrets and variables can select."""
        with self._lock:
            if login.lower() not in self._state.organizations:
                self._state.organizations[login.lower()] = Organization(
                    login,
                    self._state.new_target(),
                    id=self._state.next_id(),
                    created_at=self._state.clock.stamp(),
                )

    def set_plan(self, login: str, plan: str) -> None:
        """Put the organization on a GitHub plan (`team` until told)."""
        if plan not in PLANS:
            raise ValueError(f"not a GitHub plan: {plan!r}")
        with self._lock:
            self._state.organizations[login.lower()].plan = plan

    def set_visibility(self, repository: str, visibility: str) -> None:
        """Make a repository public, private (the default) or internal."""
        if visibility not in {"public", "private", "internal"}:
            raise ValueError(f"not a repository visibility: {visibility!r}")
        with self._lock:
            self._state.repository(repository).visibility = visibility

    def rename_repository(self, old: str, new: str) -> None:
        """Rename or transfer (another owner) a repository; it keeps its id. GitHub redirects
        requests for the old name (301): the stand-in answers them as the renamed repository,
        what a client that follows the redirect sees."""
        with self._lock:
            repository = self._state.repository(old)
            repository.full_name = new
            self._state.repositories[new.lower()] = repository

    def organization_secrets(self, login: str) -> dict[str, tuple[str, str, list[str]]]:
        """NAME -> (the plaintext that arrived, visibility, sorted selected repository full
        names)."""
        return self._entries(login, "secrets")

    def organization_variables(self, login: str) -> dict[str, tuple[str, str, list[str]]]:
        """NAME -> (value, visibility, sorted selected repository full names)."""
        return self._entries(login, "variables")

    def set_organization_entry(
        self,
        login: str,
        kind: EntryKind,
        name: str,
        value: str,
        *,
        visibility: str = "selected",
        repositories: Collection[str] = (),
    ) -> None:
        """Seed an organization secret or variable (kind `secrets`, `variables`), or change one
        behind the sync's back (a new updated_at), selecting these repositories (full names,
        added first)."""
        if visibility not in VISIBILITIES or (repositories and visibility != "selected"):
            raise ValueError(f"repositories are selected with visibility selected: {visibility}")
        with self._lock:
            entries = self._state.organizations[login.lower()].entries(kind)
            now = self._state.clock.stamp()
            created_at = entries[name.upper()].created_at if name.upper() in entries else now
            selected = {self._state.repository(r).id for r in repositories}
            entries[name.upper()] = OrganizationEntry(value, created_at, now, visibility, selected)

    def _entries(self, login: str, kind: EntryKind) -> dict[str, tuple[str, str, list[str]]]:
        with self._lock:
            entries = self._state.organizations[login.lower()].entries(kind)
            return {
                name: (entry.value, entry.visibility, self._full_names(entry.selected))
                for name, entry in sorted(entries.items())
            }

    def _full_names(self, ids: set[int]) -> list[str]:
        found = (self._state.repository_by_id(number) for number in ids)
        return sorted(r.full_name for r in found if isinstance(r, Repository))
