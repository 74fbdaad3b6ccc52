"""The stand-in GitHub's state: repositories, their environments, secrets and variables (each
target with a real libsodium key pair), tokens, apps and the clock. Every method runs under
the server's lock."""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from nacl.public import PrivateKey

from testing.github.apps import App

FIRST_KEY_ID = 568_250_167_242_549_743  # the shape of GitHub's key ids: a number as a string


class Clock:
    """GitHub's timestamps: the wall clock in whole seconds, so two writes within one second get
    the same `updated_at`, as on GitHub. Tests move it on (advance) or hold it still (freeze) to
    make that deterministic."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen_at: float | None = None

    def stamp(self) -> str:
        """Now, as GitHub writes it."""
        now = self._frozen_at if self._frozen_at is not None else time.time()
        return iso(datetime.fromtimestamp(int(now + self._offset), UTC))

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def freeze(self) -> None:
        """Hold the clock at the current second: every later write shares one timestamp."""
        self._frozen_at = time.time()


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


EntryKind = Literal["secrets", "variables"]


@dataclass
class Entry:
    """A secret (its decrypted plaintext) or a variable, with its timestamps."""

    value: str
    created_at: str
    updated_at: str


@dataclass
class Target:
    """What holds secrets and variables: a repository or one of its environments."""

    key_id: str
    private_key: PrivateKey
    secrets: dict[str, Entry] = field(default_factory=dict)
    variables: dict[str, Entry] = field(default_factory=dict)

    def entries(self, kind: EntryKind) -> dict[str, Entry]:
        return self.secrets if kind == "secrets" else self.variables


@dataclass
class OrganizationEntry(Entry):
    """An organization secret or variable: which repositories may use it. `selected` (repository
    ids) counts only with visibility `selected`."""

    visibility: str = "all"
    selected: set[int] = field(default_factory=set)


@dataclass
class Organization:
    """An organization's Actions secrets and variables, with its key pair (`key`'s own entries
    stay empty)."""

    login: str
    key: Target
    secrets: dict[str, OrganizationEntry] = field(default_factory=dict)
    variables: dict[str, OrganizationEntry] = field(default_factory=dict)
    # Its GitHub plan (`plan.name` of GET /orgs/{org}): free, team, business, enterprise.
    plan: str = "team"
    id: int = 0
    created_at: str = "2020-01-01T00:00:00Z"

    def entries(self, kind: EntryKind) -> dict[str, OrganizationEntry]:
        return self.secrets if kind == "secrets" else self.variables


@dataclass(frozen=True)
class Token:
    """What a token may reach: its repositories (None: all) and its permissions (None: a classic
    token with the `repo` scope, which every route accepts)."""

    repositories: frozenset[str] | None
    permissions: dict[str, str] | None


@dataclass
class Environment:
    id: int
    name: str
    created_at: str
    updated_at: str
    target: Target
    # Protection in the shape of the PUT body: wait_timer, prevent_self_review, reviewers
    # ([{"type": "User"|"Team", "id": n}]), deployment_branch_policy.
    protection: dict[str, Any]


@dataclass
class PullRequest:
    """A pull request: its head commit and branch (in head_repository, a fork when it is not the
    base repository), its base branch, and the commit its merge made (None until merged)."""

    id: int
    number: int
    head_sha: str
    head_ref: str
    head_repository: str
    base_ref: str
    merge_commit_sha: str | None
    created_at: str
    updated_at: str


@dataclass
class Comment:
    """An issue comment (on a pull request here), with its author."""

    id: int
    issue_number: int
    body: str
    user_login: str
    user_type: str  # "User" or "Bot"
    created_at: str
    updated_at: str


class DeploymentStatus(NamedTuple):
    id: int
    state: str
    created_at: str
    log_url: str = ""  # "": GitHub Actions' own link to the run (the document's default)
    description: str = ""


@dataclass
class Deployment:
    """A deployment of a commit to an environment, with its statuses, oldest first (as GitHub
    Actions makes one for each job that names an environment, or a client through the API)."""

    id: int
    sha: str
    ref: str
    environment: str
    created_at: str
    statuses: list[DeploymentStatus]  # oldest first
    description: str | None = None


@dataclass
class WorkflowRun:
    """A workflow run: the workflow file it ran, the event that started it, and the commit and
    branch it ran on (head_repository: a fork's for a fork's pull request)."""

    id: int
    path: str  # .github/workflows/<file>
    event: str
    head_sha: str
    head_branch: str
    head_repository: str
    created_at: str  # also its run_started_at
    updated_at: str  # when it completed (the stand-in's runs are completed)


@dataclass
class Repository:
    id: int
    full_name: str
    created_at: str
    target: Target
    visibility: str = "private"  # public, private or internal (an enterprise's organizations)
    environments: dict[str, Environment] = field(default_factory=dict)  # by casefolded name
    dispatches: list[dict[str, Any]] = field(default_factory=list)
    pulls: dict[int, PullRequest] = field(default_factory=dict)  # by number
    comments: dict[int, Comment] = field(default_factory=dict)  # by id, in creation order
    deployments: list[Deployment] = field(default_factory=list)  # oldest first
    # The commit graph (sha -> parents), the branches (name -> head sha) and the
    # workflow_dispatch events received ({"workflow_id", "ref", "inputs"}): branch_routes.py.
    commits: dict[str, tuple[str, ...]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    workflow_dispatches: list[dict[str, Any]] = field(default_factory=list)
    runs: dict[int, WorkflowRun] = field(default_factory=dict)  # by id


class State:
    """Repositories, tokens and the clock. Every method runs under the server's lock."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.repositories: dict[str, Repository] = {}  # by lower-cased full name
        self.tokens: dict[str, Token] = {}
        self.apps: dict[int, App] = {}  # by app ID
        self.organizations: dict[str, Organization] = {}  # by lower-cased login
        self._last_id = 0

    def next_id(self) -> int:
        self._last_id += 1
        return self._last_id

    def new_target(self) -> Target:
        return Target(str(FIRST_KEY_ID + self.next_id()), PrivateKey.generate())

    def repository(self, full_name: str) -> Repository:
        repository = self.repositories.get(full_name.lower())
        if repository is None:
            raise KeyError(f"no repository {full_name!r}: add_repository() it first")
        return repository

    def environment(self, full_name: str, name: str) -> Environment:
        environment = self.repository(full_name).environments.get(name.casefold())
        if environment is None:
            raise KeyError(f"no environment {name!r} in {full_name}: add_environment() it first")
        return environment

    def target(self, full_name: str, environment: str | None) -> Target:
        if environment is None:
            return self.repository(full_name).target
        return self.environment(full_name, environment).target

    def visible_repository(self, token: str, full_name: str) -> Repository | None:
        repository = self.repositories.get(full_name.lower())
        allowed = self.tokens[token].repositories
        if repository is None or (allowed is not None and full_name.lower() not in allowed):
            return None
        return repository

    def visible_organization(self, token: str, login: str) -> Organization | None:
        """The organization, when the token sees every repository or one of the organization's
        (an installation on it); None otherwise, or when there is no such organization."""
        organization = self.organizations.get(login.lower())
        allowed = self.tokens[token].repositories
        if organization is None or allowed is None:
            return organization
        owners = {full_name.split("/")[0] for full_name in allowed}
        return organization if login.lower() in owners else None

    def repository_by_id(self, repository_id: int) -> Repository | None:
        return next((r for r in self.repositories.values() if r.id == repository_id), None)

    def put_environment(self, repository: Repository, name: str) -> tuple[Environment, bool]:
        """The environment, created (unprotected) when missing; and whether it was created."""
        existing = repository.environments.get(name.casefold())
        if existing is not None:
            return existing, False
        now = self.clock.stamp()
        created = Environment(
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
        self, environment: Environment, protection: Mapping[str, Any], created: bool
    ) -> None:
        """Replace the protection settings named in `protection`; keep the others."""
        environment.protection.update(copy.deepcopy(dict(protection)))
        if not created:  # a creation already took its own timestamp
            environment.updated_at = self.clock.stamp()

    def put_entry(self, entries: dict[str, Entry], name: str, value: str) -> bool:
        """Create or update an entry; True when it was created."""
        now = self.clock.stamp()
        existing = entries.get(name)
        if existing is None:
            entries[name] = Entry(value, now, now)
            return True
        existing.value = value
        existing.updated_at = now
        return False
