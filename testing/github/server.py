"""A stateful stand-in for the GitHub REST API, listening on loopback.

It serves the routes the toolkit uses (repository, environment and organization secrets and
variables, environments, the repository, repository dispatches, pull requests and comments,
deployments and their statuses) with the paths, status codes and JSON documents of GitHub's
published OpenAPI description (tests/testing/test_github_server.py checks them against it). Each
secret target has a real libsodium key pair and the server decrypts what it receives, so a test
asserts the plaintext that arrived, never an opaque blob. Faults, latency and per-token visibility
are injected through the public API; every request is logged.

    with GitHubServer() as server:
        server.add_repository("acme/toto-ms-x")
        server.add_token("t0ken")
        github = Github(base_url=server.url, auth=Auth.Token("t0ken"))
"""

from __future__ import annotations

import copy
import random
import re
import threading
import time
from collections.abc import Collection, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from testing.faults import PathFailure, take_failure
from testing.github import permissions as github_permissions
from testing.github.apps import claimed_app_id, jwt_problem, new_app
from testing.github.branch_routes import BRANCH_ROUTES, BranchSeeding
from testing.github.deployment_routes import DEPLOYMENT_ROUTES, DeploymentSeeding
from testing.github.documents import error
from testing.github.openapi import load_openapi
from testing.github.organization_routes import ORGANIZATION_ROUTES, OrganizationSeeding
from testing.github.pull_routes import PULL_REQUEST_ROUTES
from testing.github.pull_seeding import PullRequestSeeding
from testing.github.routes import (
    ROUTER,
    AppCall,
    AppHandler,
    Call,
    Handler,
    OrganizationCall,
    OrganizationHandler,
    permission_problem,
)
from testing.github.secret_seeding import SecretSeeding
from testing.github.state import Organization, Repository, State, Token
from testing.http_stand_in import (
    NOT_JSON,
    Incoming,
    LoggedRequest,
    Reply,
    Router,
    RouteSpec,
    StandInServer,
)

__all__ = [
    "COMMON_STATUSES",
    "SECONDARY_RATE_LIMIT_MESSAGE",
    "GitHubServer",
    "LoggedRequest",
    "RouteSpec",
]

RATE_LIMIT = 5000
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_FAULT_STATUSES = (502, 503, 429, 403)
SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID 0000:0000."
)
# Statuses any route may answer before its own handler runs: 400 for a body that is not JSON,
# 401 for a missing or unknown token, 403 for a token without the permission the route needs,
# 404 for a repository (or environment) the token cannot see, 422 for a body the description
# does not allow.
COMMON_STATUSES = frozenset({400, 401, 403, 404, 422})
ROUTES: Router[Handler] = Router(
    [
        *ROUTER.routes,
        *PULL_REQUEST_ROUTES,
        *DEPLOYMENT_ROUTES,
        *BRANCH_ROUTES,
        *ORGANIZATION_ROUTES,
    ]
)


def fault_reply(status: int, message: str | None, retry_after: str | None) -> Reply:
    """What GitHub answers when it fails: 403 and 429 are its secondary rate limit."""
    rate_limited = status in {403, 429}
    if message is None:
        message = SECONDARY_RATE_LIMIT_MESSAGE if rate_limited else HTTPStatus(status).phrase
    headers = (("Retry-After", retry_after),) if rate_limited and retry_after is not None else ()
    return Reply(status, error(status, message).reply.body, headers)


def _is_write(request: LoggedRequest) -> bool:
    return request.method in WRITE_METHODS and 200 <= request.status < 300


class GitHubServer(
    StandInServer[Handler],
    SecretSeeding,
    PullRequestSeeding,
    DeploymentSeeding,
    BranchSeeding,
    OrganizationSeeding,
):
    """The stand-in GitHub, on 127.0.0.1 and a free port. Use as a context manager, or
    start()/stop(); its url is the API base URL, for PyGithub's base_url."""

    thread_name = "github-server"
    token_schemes = frozenset({"token", "bearer"})
    common_statuses = COMMON_STATUSES
    fault_status = 502
    fault_retry_after = "1"

    def __init__(self) -> None:
        # The server's lock, as a condition: wait_for_writes() sleeps on it.
        self._written = threading.Condition(threading.Lock())
        super().__init__(ROUTES, self._written)
        self._state = State()
        self._late_failures: list[PathFailure] = []
        self._answered = 0
        self._fault_rate = 0.0
        # Seeded, for faults that repeat from one run to the next; nothing cryptographic.
        self._fault_random = random.Random(0)
        self._fault_statuses: tuple[int, ...] = DEFAULT_FAULT_STATUSES
        self._fault_retry_after: str | None = "1"
        self._rate_limit_reset = int(time.time()) + 3600

    @staticmethod
    def routes() -> tuple[RouteSpec, ...]:
        return ROUTES.specs()

    # -- seeding and reading state --------------------------------------------------------------

    def add_repository(self, full_name: str) -> None:
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError(f"a repository is OWNER/NAME, not {full_name!r}")
        with self._lock:
            if full_name.lower() in self._state.repositories:
                return
            self._state.repositories[full_name.lower()] = Repository(
                id=self._state.next_id(),
                full_name=full_name,
                created_at=self._state.clock.stamp(),
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
            self._state.tokens[token] = Token(
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
                created_at=self._state.clock.stamp(),
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

    def advance_clock(self, seconds: float = 1.0) -> None:
        """Move the clock on, as if that much time had passed: later writes get later stamps."""
        with self._lock:
            self._state.clock.advance(seconds)

    def freeze_clock(self) -> None:
        """Hold the clock at the current second (until advance_clock): every write gets the
        same `updated_at`, as writes within one second do on GitHub."""
        with self._lock:
            self._state.clock.freeze()

    def dispatches(self, repository: str) -> list[dict[str, Any]]:
        """The repository_dispatch events received: {"event_type", "client_payload"}."""
        with self._lock:
            return copy.deepcopy(self._state.repository(repository).dispatches)

    # -- the request log ------------------------------------------------------------------------

    def writes(self) -> list[LoggedRequest]:
        """The POST, PUT, PATCH and DELETE requests that succeeded (2xx)."""
        return [r for r in self.requests if _is_write(r)]

    def wait_for_writes(self, count: int, route: str, timeout: float) -> bool:
        """Block until the log holds `count` successful writes to the route (a template of
        routes()); False when the timeout ran out first. A test kills its client at a chosen
        point this way."""

        def arrived() -> bool:
            logged = self._log.values()
            return sum(1 for r in logged if r.route == route and _is_write(r)) >= count

        with self._written:
            return self._written.wait_for(arrived, timeout)

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

    def fail_after_serving(
        self, pattern: str, status: int = 502, times: int | None = 1, *, method: str | None = None
    ) -> None:
        """Like fail_path, but the request is served first (its write takes effect) and only
        its answer is replaced by the failure: a proxy that gave up on the answer."""
        failure = PathFailure(re.compile(pattern), method, status, times, None)
        with self._lock:
            self._late_failures.append(failure)

    def clear_faults(self) -> None:
        """No more random faults nor path failures."""
        super().clear_faults()
        with self._lock:
            self._fault_rate = 0.0
            self._late_failures.clear()

    # -- answering ------------------------------------------------------------------------------

    def _respond(self, incoming: Incoming[Handler]) -> Reply:
        reply = self._fault(incoming) or self._serve(incoming)
        if incoming.method in WRITE_METHODS:
            self._written.notify_all()  # wakes wait_for_writes once the log holds it
        late = take_failure(self._late_failures, incoming.method, incoming.path)
        if late is not None:
            reply = fault_reply(late.status, None, None)
        return self._with_rate_limit_headers(reply)

    def _server_error(self, detail: str) -> Reply:
        return error(500, detail).reply

    def _fault(self, incoming: Incoming[Handler]) -> Reply | None:
        failure = self._path_failure(incoming.method, incoming.path)
        if failure is not None:
            return fault_reply(failure.status, failure.message, failure.retry_after)
        if self._fault_rate > 0 and self._fault_random.random() < self._fault_rate:
            status = self._fault_random.choice(self._fault_statuses)
            return fault_reply(status, None, self._fault_retry_after)
        return None

    def _serve(self, incoming: Incoming[Handler]) -> Reply:
        """GitHub's checks in its order: credentials, route, body, visibility, permissions, the
        body against the description; then the route."""
        route = incoming.route
        handle = None if route is None else route.handler
        if route is not None and isinstance(handle, AppHandler):
            return self._serve_app(route.spec, handle, incoming)
        token = incoming.token
        if token is None or token not in self._state.tokens:
            return error(401, "Bad credentials").reply
        if route is None:
            # GitHub answers 404 too; kept, since a client that meets it sent a path it should not.
            self._errors.append(f"{incoming.path}: no operation of the description that is served")
            return error(404, "Not Found").reply
        params, body = incoming.params, incoming.body
        # An organization's routes name no repository: the organization stands for it.
        found = (
            self._state.visible_organization(token, params["org"])
            if isinstance(handle, OrganizationHandler)
            else self._state.visible_repository(token, f"{params['owner']}/{params['repo']}")
        )
        refusal = (
            self._unparsable(route.spec, incoming)
            or (error(404, "Not Found").reply if found is None else None)
            or permission_problem(self._state.tokens[token], route.spec)
            or self._body_problem(route.spec, body)
        )
        if refusal is not None or found is None:
            return refusal or error(404, "Not Found").reply
        query = dict(parse_qsl(incoming.query))
        if isinstance(handle, OrganizationHandler) and isinstance(found, Organization):
            permissions = self._state.tokens[token].permissions
            on = OrganizationCall(
                self._state, found, params, query, body, incoming.path, self.url, permissions
            )
            return self._checked(route.spec, lambda: handle.handle(on))
        assert isinstance(found, Repository) and callable(handle)
        call = Call(self._state, found, params, query, body, incoming.path, self.url)
        return self._checked(route.spec, lambda: handle(call))

    def _unparsable(self, spec: RouteSpec, incoming: Incoming[Handler]) -> Reply | None:
        if incoming.body is not NOT_JSON:
            return None
        self._errors.append(f"{spec.method} {incoming.path}: a body that is not JSON")
        return error(400, "Problems parsing JSON").reply

    def _body_problem(self, spec: RouteSpec, body: Any) -> Reply | None:
        """422 for a body GitHub's OpenAPI description does not allow; the request is also kept
        in errors, since the toolkit must never send one."""
        problem = load_openapi().request_body_problem(spec.method, spec.template, body)
        if problem is None:
            return None
        self._errors.append(
            f"{spec.method} {spec.template}: the body breaks the description: {problem}"
        )
        return error(422, f"Invalid request.\n\n{problem}").reply

    def _serve_app(
        self, spec: RouteSpec, handler: AppHandler, incoming: Incoming[Handler]
    ) -> Reply:
        """A route an app calls as itself, with a JWT it signed."""
        app = self._state.apps.get(claimed_app_id(incoming.token or "") or -1)
        if app is None:
            return error(401, "A JSON web token could not be decoded").reply
        problem = jwt_problem(app, incoming.token or "", time.time())
        if problem is not None:
            return error(401, problem).reply
        refusal = self._unparsable(spec, incoming) or self._body_problem(spec, incoming.body)
        if refusal is not None:
            return refusal
        call = AppCall(self._state, app, incoming.params, incoming.body, self.url)
        return self._checked(spec, lambda: handler.handle(call))

    def _with_rate_limit_headers(self, reply: Reply) -> Reply:
        self._answered += 1
        used = min(self._answered, RATE_LIMIT)
        headers = (
            ("X-RateLimit-Limit", str(RATE_LIMIT)),
            ("X-RateLimit-Remaining", str(RATE_LIMIT - used)),
            ("X-RateLimit-Reset", str(self._rate_limit_reset)),
            ("X-RateLimit-Used", str(used)),
            ("X-RateLimit-Resource", "core"),
        )
        return Reply(reply.status, reply.body, reply.headers + headers)
