"""A stateful stand-in for the HCP Terraform (Terraform Cloud / Enterprise) API v2 on loopback.

It serves the routes of an API-driven run (workspaces, configuration versions and their upload,
runs and their actions, plans and their JSON, applies, policy checks, state versions and their
outputs) as JSON:API documents shaped as HashiCorp's API documentation shows them, and walks every
run through the documented status sequence with short, configurable pauses. The plan is real: the
uploaded tar.gz is unpacked and the `terraform` binary plans it (`init`, `plan -out`,
`show -json`) and applies that saved plan against a local state the server keeps per workspace,
so counts, JSON plans, logs and outputs are terraform's own. Faults, rate limits and workspace
locks are injected through the public API; every request and every run status change is recorded
with its time.

    with TfcServer() as server:
        server.add_organization("acme")
        server.add_workspace("acme", "toto-ms-x-dev")
        server.add_token("t0ken", "team")
        requests.get(f"{server.url}/api/v2/organizations/acme/workspaces/toto-ms-x-dev",
                     headers={"Authorization": "Bearer t0ken"})

Where the stand-in differs from HCP Terraform, the docstring of the thing says so. The pages it
follows (developer.hashicorp.com/terraform/cloud-docs/api-docs/...): configuration-versions (the
`speculative` and `provisional` attributes), run, plans ("Retrieve the JSON execution plan"),
policy-checks, policy-evaluations and tasks/task-stages-and-results.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from testing.http_stand_in import (
    NOT_JSON,
    Incoming,
    LoggedRequest,
    Reply,
    RouteSpec,
    StandInServer,
)
from testing.terraform_configurations import TERRAFORM
from testing.tfc.documents import (
    error,
    not_found,
)
from testing.tfc.handlers import (
    Call,
)
from testing.tfc.model import (
    API,
    DEFAULT_STATE_PROCESSING_SECONDS,
    DEFAULT_STEP_SECONDS,
    FINAL_STATUSES,
    JSON_API,
    EvaluationOutcome,
    Organization,
    PolicyOutcome,
    RunSummary,
    StatusChange,
    TokenKind,
    Workspace,
    WorkspaceAccess,
    iso_ms,
)
from testing.tfc.permissions import ACCESS_LEVELS, refusal
from testing.tfc.rate_limits import RateLimits, rate_limit_headers, too_many_requests
from testing.tfc.routes import ROUTER, Endpoint
from testing.tfc.state import (
    State,
)
from testing.tfc.vcs import VcsConnections

# Any authenticated route may answer these before its handler runs: 400 (a body that is not
# JSON), 401 (no or unknown token), 403 (an organization token where one is refused), 429.
COMMON_STATUSES = frozenset({400, 401, 403, 429})
# Routes a user or team token may call but an organization token may not (the documentation's
# "This endpoint cannot be accessed with organization tokens").
_ORGANIZATION_TOKEN_FORBIDDEN = "organization tokens cannot access this endpoint"

__all__ = ["API", "COMMON_STATUSES", "FINAL_STATUSES", "TERRAFORM", "LoggedRequest", "TfcServer"]

# ---------------------------------------------------------------------------------------------
# Faults and rate limits


RUN_ROUTE = f"{API}/runs/:run_id"  # its log entries say the status the run showed


# ---------------------------------------------------------------------------------------------
# The server


class _Duration:
    """A number of seconds the run workers read from the server's state: changed under its
    lock, so that a worker sees the old value or the new one, while a test runs."""

    def __set_name__(self, owner: type[TfcServer], name: str) -> None:
        self._name = name

    def __get__(self, server: TfcServer, owner: type[TfcServer] | None = None) -> float:
        seconds: float = getattr(server._state, self._name)
        return seconds

    def __set__(self, server: TfcServer, seconds: float) -> None:
        with server._state.cond:
            setattr(server._state, self._name, seconds)


class TfcServer(VcsConnections, StandInServer[Endpoint]):
    """The stand-in, on 127.0.0.1 and a free port. Use as a context manager, or start()/stop();
    its url is the server's address, for --tfc-address (the API is under /api/v2).

    step_seconds: how long a run stays in each passing status (terraform's own time comes on top
    in planning and applying). state_processing_seconds: how long after an apply the new state
    version stays unprocessed (resources-processed false, its outputs answered 503).
    """

    thread_name = "tfc-server"
    content_type = JSON_API
    common_statuses = COMMON_STATUSES

    def __init__(
        self,
        *,
        step_seconds: float = DEFAULT_STEP_SECONDS,
        state_processing_seconds: float = DEFAULT_STATE_PROCESSING_SECONDS,
        terraform: str = TERRAFORM,
        cli_config: str = "",
    ) -> None:
        """cli_config: terraform's CLI configuration in the runs (a provider mirror standing
        for the registry, which the stand-in does not reach)."""
        self._root = Path(tempfile.mkdtemp(prefix="tfc-stand-in-"))
        self._state = State(self._root, terraform)
        self._state.cli_config = cli_config
        super().__init__(ROUTER, self._state.cond)
        self._errors = self._state.errors  # the run workers' too
        self._state.step_seconds = step_seconds
        self._state.state_processing_seconds = state_processing_seconds
        self._rate_limits = RateLimits()
        self._start_vcs()

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._state.terraform_version()  # once, before any request waits on it under the lock
        super().start()

    def stop(self) -> None:
        """Stop serving, interrupt every run (its terraform killed) and delete every file."""
        super().stop()
        with self._state.cond:
            self._state.stopping = True
            for run in self._state.runs.values():
                if run.process is not None:
                    with contextlib.suppress(ProcessLookupError):
                        run.process.kill()
            self._state.cond.notify_all()
        for thread in self._state.threads:
            thread.join(timeout=30)
        shutil.rmtree(self._root, ignore_errors=True)

    @staticmethod
    def routes() -> tuple[RouteSpec, ...]:
        return ROUTER.specs()

    # How long a run stays in each passing status (terraform's own time comes on top).
    step_seconds = _Duration()
    # How long after its plan finishes a run's JSON plan is still answered 204.
    json_plan_delay_seconds = _Duration()
    # How long after an apply the new state version stays unprocessed.
    state_processing_seconds = _Duration()

    # -- seeding --------------------------------------------------------------------------------

    def add_organization(self, name: str) -> None:
        with self._state.cond:
            self._state.organizations.setdefault(name, Organization(name))

    def add_workspace(
        self,
        organization: str,
        name: str,
        *,
        cost_estimation: bool = False,
        policies: PolicyOutcome | None = None,
        policy_evaluations: EvaluationOutcome | None = None,
        auto_apply: bool = False,
        run_tasks: bool = False,
        environment: Mapping[str, str] | None = None,
    ) -> str:
        """A workspace (API-driven, remote execution) and its id. Its optional stages:
        cost estimation, policy checks that pass, soft-fail or hard-fail, a policy evaluation
        in the post-plan task stage that passes or fails a mandatory policy, and run tasks
        (pre-plan, post-plan and pre-apply stages that pass). environment: its environment
        variables, in every run's terraform."""
        with self._state.cond:
            found = self._state.organizations.get(organization)
            if found is None:
                raise KeyError(f"no organization {organization!r}: add_organization() it first")
            if name in found.workspaces:
                raise ValueError(f"workspace {organization}/{name} exists")
            workspace_id = self._state.new_id("ws")
            (self._root / "states").mkdir(exist_ok=True)
            workspace = Workspace(
                id=workspace_id,
                name=name,
                organization=organization,
                created_at=iso_ms(),
                auto_apply=auto_apply,
                cost_estimation=cost_estimation,
                policies=policies,
                policy_evaluations=policy_evaluations,
                run_tasks=run_tasks,
                state_path=self._root / "states" / f"{workspace_id}.tfstate",
                environment=dict(environment or {}),
            )
            found.workspaces[name] = workspace
            self._state.workspaces[workspace_id] = workspace
            return workspace_id

    def add_token(
        self, token: str, kind: TokenKind = "team", *, access: WorkspaceAccess = "admin"
    ) -> None:
        """A token that sees every organization; an organization token cannot run. access: its
        permission set on every workspace (testing/tfc/permissions.py)."""
        if kind not in {"user", "team", "organization"}:
            raise ValueError(f"a token is a user, team or organization token, not {kind!r}")
        if access not in ACCESS_LEVELS:
            raise ValueError(f"workspace access is one of {ACCESS_LEVELS}, not {access!r}")
        with self._state.cond:
            self._state.tokens[token] = kind
            self._state.workspace_access[token] = access

    def lock_workspace(
        self, organization: str, name: str, reason: str = "locked by a user"
    ) -> None:
        """Lock the workspace as a user would: runs that would hold it stay pending."""
        with self._state.cond:
            self._state.workspace(organization, name).locked_reason = reason
            self._state.cond.notify_all()

    def unlock_workspace(self, organization: str, name: str) -> None:
        with self._state.cond:
            self._state.workspace(organization, name).locked_reason = None
            self._state.cond.notify_all()

    def force_cancel(self, run_id: str) -> None:
        """A workspace admin force-cancels the run: terraform is killed, status force_canceled."""
        with self._state.cond:
            run = self._state.runs[run_id]
            if run.status in FINAL_STATUSES:
                raise ValueError(f"run {run_id} is {run.status}")
            run.requested = "force_cancel"
            if run.process is not None:
                run.process.kill()
            self._state.cond.notify_all()

    # -- reading state --------------------------------------------------------------------------

    def workspace_id(self, organization: str, name: str) -> str:
        with self._state.cond:
            return self._state.workspace(organization, name).id

    def current_configuration_version(self, organization: str, name: str) -> str | None:
        """The workspace's current configuration version: what a run started in the UI or by a
        run trigger would plan."""
        with self._state.cond:
            return self._state.workspace(organization, name).configuration_version_id

    def workspace_state_outputs(self, organization: str, name: str) -> dict[str, Any]:
        """The outputs of the workspace's state, as `terraform output -json` prints them
        (sensitive values included); {} before the first apply."""
        with self._state.cond:
            workspace = self._state.workspace(organization, name)
            path = workspace.state_path
        if not path.exists():
            return {}
        outputs = json.loads(path.read_text()).get("outputs", {})
        return {
            name: {
                "sensitive": bool(output.get("sensitive", False)),
                "type": output.get("type"),
                "value": output.get("value"),
            }
            for name, output in sorted(outputs.items())
        }

    def runs(self, organization: str, name: str) -> list[RunSummary]:
        """The workspace's runs, oldest first."""
        with self._state.cond:
            return [
                RunSummary(
                    run.id,
                    run.status,
                    run.message,
                    run.plan_only,
                    run.auto_apply,
                    run.source,
                    tuple((v["key"], v["value"]) for v in run.variables),
                    run.refresh_only,
                )
                for run in self._state.workspace(organization, name).runs
            ]

    def run_status(self, run_id: str) -> str:
        with self._state.cond:
            return self._state.runs[run_id].status

    def run_statuses(self, run_id: str) -> list[StatusChange]:
        """Every status the run entered, with the time.monotonic() it entered it."""
        with self._state.cond:
            return list(self._state.runs[run_id].changes)

    def wait_for_run(self, run_id: str, statuses: Collection[str], timeout: float = 30.0) -> str:
        """Block until the run is in one of statuses (or a final one); the status it is in."""
        with self._state.cond:
            run = self._state.runs[run_id]
            self._state.cond.wait_for(
                lambda: run.status in statuses or run.status in FINAL_STATUSES, timeout
            )
            return run.status

    def notice_delays(self, run_id: str) -> list[tuple[str, float | None]]:
        """For each status the run entered: how long until a GET of the run first showed it (or
        a later status), from the request log; None when no later GET came. What a benchmark
        reads as the client's delay in noticing a change."""
        changes = self.run_statuses(run_id)
        path = f"{API}/runs/{run_id}"
        reads = [r for r in self.requests if r.path == path and r.run_status is not None]
        delays: list[tuple[str, float | None]] = []
        for index, change in enumerate(changes):
            later = {c.status for c in changes[index:]}
            seen = [r.time for r in reads if r.time >= change.time and r.run_status in later]
            delays.append((change.status, seen[0] - change.time if seen else None))
        return delays

    # -- faults and rate limits -----------------------------------------------------------------

    def rate_limit(self, per_second: float | None) -> None:
        """Allow per_second requests in each one-second window, per token (unauthenticated ones
        share one window), and answer 429 beyond; every answer then carries X-RateLimit-Limit,
        -Remaining and -Reset (seconds to the window's end, a float). None turns it off."""
        with self._state.cond:
            self._rate_limits = RateLimits(per_second)

    def clear_faults(self) -> None:
        super().clear_faults()
        with self._state.cond:
            self._rate_limits = RateLimits()

    # -- answering ------------------------------------------------------------------------------

    def _respond(self, incoming: Incoming[Endpoint]) -> Reply:
        limits, token = self._rate_limits, incoming.token
        refused = (
            self._fault(incoming) or limits.refusal(token) or self._runs_list_refusal(incoming)
        )
        reply = refused or self._serve(incoming)
        return limits.with_headers(reply, token)

    def _server_error(self, detail: str) -> Reply:
        return error(500, "internal server error", detail).reply

    def _logged(self, incoming: Incoming[Endpoint], reply: Reply) -> LoggedRequest:
        logged = super()._logged(incoming, reply)
        shows_run = incoming.route is not None and incoming.route.spec.template == RUN_ROUTE
        if shows_run and reply.status == 200:
            return logged._replace(run_status=self._state.runs[incoming.params["run_id"]].status)
        return logged

    def _fault(self, incoming: Incoming[Endpoint]) -> Reply | None:
        failure = self._path_failure(incoming.method, incoming.path)
        if failure is None:
            return None
        headers: tuple[tuple[str, str], ...] = ()
        if failure.retry_after is not None:
            headers = (("Retry-After", failure.retry_after),)
        if failure.status == 429:
            limit = self._rate_limits.per_second or 30
            headers += rate_limit_headers(limit, 0, failure.reset_seconds)
            return too_many_requests(headers)
        return Reply(
            failure.status,
            {"errors": [{"status": str(failure.status), "title": "injected fault"}]},
            headers,
        )

    def _serve(self, incoming: Incoming[Endpoint]) -> Reply:
        """HashiCorp's checks in order: credentials, route, token kind, body; then the route."""
        route, token = incoming.route, incoming.token
        authenticated = route is None or route.handler.authenticated
        if authenticated and (token is None or token not in self._state.tokens):
            return error(401, "unauthorized").reply
        if route is None:
            return not_found().reply
        endpoint = route.handler
        if (
            not endpoint.organization_token
            and self._state.tokens.get(token or "") == "organization"
        ):
            return error(403, "forbidden", _ORGANIZATION_TOKEN_FORBIDDEN).reply
        held = self._state.workspace_access.get(token or "", "admin")
        refused = endpoint.authenticated and refusal(held, endpoint.needs)
        if refused:
            return refused
        body: Any = incoming.raw_body
        if endpoint.authenticated:
            if incoming.body is NOT_JSON:
                return error(400, "bad request", "the request body is not JSON").reply
            body = incoming.body
        query = dict(parse_qsl(incoming.query))
        call = Call(self._state, incoming.params, query, body, incoming.path, self.url, held)
        return self._checked(route.spec, lambda: endpoint.handle(call))
