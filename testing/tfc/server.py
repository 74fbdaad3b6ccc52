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
import io
import json
import random
import re
import shutil
import signal
import string
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NamedTuple, Self
from urllib.parse import parse_qsl, unquote

TERRAFORM = "/usr/local/bin/terraform"
API = "/api/v2"
ARCHIVIST = "/_archivist/v1/object"  # where Terraform Enterprise serves its object storage
JSON_API = "application/vnd.api+json"
DEFAULT_STEP_SECONDS = 0.05
DEFAULT_STATE_PROCESSING_SECONDS = 0.3
JSON_PLAN_URL_SECONDS = 60.0  # "This temporary URL ... has a life of 1 minute"
TokenKind = Literal["user", "team", "organization"]
PolicyOutcome = Literal["pass", "soft_fail", "hard_fail"]
EvaluationOutcome = Literal["pass", "mandatory_fail"]
ObjectKind = Literal["upload", "log", "json-plan", "state"]

# The run statuses of the API documentation, grouped by what a client may do in them.
FINAL_STATUSES = frozenset(
    {
        "applied",
        "planned_and_finished",
        "policy_soft_failed",
        "errored",
        "discarded",
        "canceled",
        "force_canceled",
    }
)
# The statuses a run can wait for confirmation in (the last stage the workspace has decides).
CONFIRMABLE_STATUSES = frozenset(
    {"planned", "cost_estimated", "policy_checked", "post_plan_completed"}
)
# Statuses that name a stage at work: cancel interrupts them.
_WORKING_STATUSES = frozenset(
    {
        "fetching",
        "fetching_completed",
        "pre_plan_running",
        "pre_plan_completed",
        "queuing",
        "plan_queued",
        "planning",
        "planned",
        "cost_estimating",
        "cost_estimated",
        "policy_checking",
        "policy_checked",
        "post_plan_running",
        "post_plan_completed",
        "confirmed",
        "pre_apply_running",
        "pre_apply_completed",
        "apply_queued",
        "applying",
    }
)
# Routes a user or team token may call but an organization token may not (the documentation's
# "This endpoint cannot be accessed with organization tokens").
_ORGANIZATION_TOKEN_FORBIDDEN = "organization tokens cannot access this endpoint"
_ID_ALPHABET = string.ascii_letters + string.digits
_APPLY_SUMMARY = re.compile(r"Resources: (\d+) added, (\d+) changed, (\d+) destroyed")
_STX, _ETX = b"\x02", b"\x03"  # the archivist's start and end of a log


class LoggedRequest(NamedTuple):
    """One request as the server answered it."""

    method: str
    path: str  # as sent, without the query string
    status: int
    time: float  # time.monotonic() when it was answered
    query: str = ""
    route: str | None = None  # the template of the route that matched
    run_status: str | None = None  # for GET /runs/:id answered 200: the status it showed


class StatusChange(NamedTuple):
    """A run entering a status, at time.monotonic()."""

    status: str
    time: float


class RunSummary(NamedTuple):
    id: str
    status: str
    message: str
    plan_only: bool
    auto_apply: bool
    source: str
    variables: tuple[tuple[str, str], ...]  # (key, HCL literal) as the run was given them


class RouteSpec(NamedTuple):
    """A route and the statuses its handler can answer (besides the common ones)."""

    method: str
    template: str
    statuses: frozenset[int]
    authenticated: bool = True
    organization_token: bool = True  # False: an organization token is answered 403


# Any authenticated route may answer these before its handler runs: 400 (a body that is not
# JSON), 401 (no or unknown token), 403 (an organization token where one is refused), 429.
COMMON_STATUSES = frozenset({400, 401, 403, 429})


# ---------------------------------------------------------------------------------------------
# Time and identifiers


def _iso(moment: datetime | None = None) -> str:
    """The form of HashiCorp's status timestamps: 2021-05-24T07:38:04+00:00."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _iso_ms() -> str:
    """The form of created-at: 2021-05-24T07:38:04.171Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _timestamp_key(status: str) -> str:
    """The status-timestamps key of a run status (as go-tfe's RunStatusTimestamps names them)."""
    special = {"pending": "plan-queueable-at", "fetching_completed": "fetched-at"}
    return special.get(status, status.replace("_", "-") + "-at")


# ---------------------------------------------------------------------------------------------
# State


@dataclass
class _Log:
    """A plan or apply log as the archivist serves it: STX once started, ETX once finished."""

    text: str = ""
    started: bool = False
    finished: bool = False

    def render(self) -> bytes:
        body = self.text.encode()
        return (_STX if self.started else b"") + body + (_ETX if self.finished else b"")


@dataclass
class _Phase:
    """A plan or an apply: its status, timestamps, log and counts."""

    id: str
    log_key: str
    status: str = "pending"
    timestamps: dict[str, str] = field(default_factory=dict)
    log: _Log = field(default_factory=_Log)
    additions: int = 0
    changes: int = 0
    destructions: int = 0
    has_changes: bool = False
    json_plan: bytes | None = None  # plans only: `terraform show -json` of the saved plan
    json_plan_ready_at: float = 0.0  # plans only: time.monotonic() from which it is served
    state_version_ids: list[str] = field(default_factory=list)

    def move(self, status: str, stamp: str) -> None:
        self.status = status
        self.timestamps[stamp] = _iso()


@dataclass
class _PolicyCheck:
    id: str
    outcome: PolicyOutcome
    status: str = "queued"
    timestamps: dict[str, str] = field(default_factory=dict)


@dataclass
class _PolicyEvaluation:
    """The post-plan task stage of a run and its one policy evaluation (one policy set, one
    policy): how HashiCorp reports policies that policy checks do not (Sentinel after 0.40)."""

    stage_id: str
    id: str
    outcome_id: str
    outcome: EvaluationOutcome
    stage_status: str = "pending"
    status: str = "pending"
    timestamps: dict[str, str] = field(default_factory=dict)


@dataclass
class _Organization:
    name: str
    workspaces: dict[str, _Workspace] = field(default_factory=dict)  # by name


@dataclass
class _Workspace:
    id: str
    name: str
    organization: str
    created_at: str
    auto_apply: bool
    cost_estimation: bool
    policies: PolicyOutcome | None
    policy_evaluations: EvaluationOutcome | None
    run_tasks: bool
    state_path: Path
    locked_reason: str | None = None  # set by lock_workspace()
    queue: list[_Run] = field(default_factory=list)  # non-speculative, unfinished runs, in order
    runs: list[_Run] = field(default_factory=list)
    state_versions: list[_StateVersion] = field(default_factory=list)
    configuration_version_id: str | None = None  # the current one (what UI runs would use)
    finished_run_id: str | None = None  # the latest non-speculative run that finished

    def active_run(self) -> _Run | None:
        """The run holding the workspace: the head of the queue once it left pending."""
        if self.queue and self.queue[0].status != "pending":
            return self.queue[0]
        return None


@dataclass
class _ConfigurationVersion:
    id: str
    workspace_id: str
    auto_queue_runs: bool
    speculative: bool
    provisional: bool
    upload_key: str
    number: int  # creation order: a provisional version does not replace a newer current one
    status: str = "pending"
    source: str = "tfe-api"
    archive: bytes | None = None
    error_message: str | None = None
    timestamps: dict[str, str] = field(default_factory=dict)
    ingress: dict[str, Any] | None = None  # commit information, for VCS-driven versions


@dataclass
class _Run:
    id: str
    workspace: _Workspace
    configuration_version: _ConfigurationVersion
    message: str
    plan_only: bool
    auto_apply: bool
    variables: list[dict[str, str]]
    source: str
    created_at: str
    directory: Path
    plan: _Phase
    apply: _Phase
    policy_check: _PolicyCheck | None
    policy_evaluation: _PolicyEvaluation | None
    cost_estimate_id: str | None
    status: str = "pending"
    timestamps: dict[str, str] = field(default_factory=dict)
    changes: list[StatusChange] = field(default_factory=list)
    waiting: bool = False  # paused for confirmation (or a policy override)
    requested: str | None = None  # apply, discard, cancel, force_cancel or override
    process: subprocess.Popen[str] | None = None

    def position_in_queue(self) -> int:
        if self.status != "pending" or self not in self.workspace.queue:
            return 0
        return self.workspace.queue.index(self)

    def is_confirmable(self) -> bool:
        return self.waiting and self.requested is None and self.status in CONFIRMABLE_STATUSES

    def is_discardable(self) -> bool:
        return self.requested is None and (self.status == "pending" or self.waiting)

    def is_cancelable(self) -> bool:
        """Working runs, and pending ones (the documentation's pending sample is cancelable)."""
        working = self.status in _WORKING_STATUSES and not self.waiting
        return self.requested is None and (working or self.status == "pending")


@dataclass
class _StateOutput:
    id: str
    name: str
    value: Any
    detailed_type: Any
    sensitive: bool


@dataclass
class _StateVersion:
    id: str
    workspace_id: str
    run_id: str
    serial: int
    lineage: str
    created_at: str
    processed_at: float  # time.monotonic() after which resources-processed is true
    raw: bytes
    outputs: list[_StateOutput]
    resources: list[dict[str, Any]]
    download_key: str

    def processed(self) -> bool:
        return time.monotonic() >= self.processed_at


@dataclass
class _Object:
    """What an unauthenticated archivist URL points at."""

    kind: ObjectKind
    owner: str  # the id of the configuration version, plan, apply or state version
    expires_at: float | None = None


class _Stopped(Exception):  # not an error: the server stops under a run's feet
    pass


class _Ended(Exception):  # not an error: the run reached a final status, raised to unwind
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class _State:
    """Everything the server holds, and the workers that move runs. Guarded by `cond`."""

    def __init__(self, root: Path, terraform: str) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.root = root
        self.terraform = terraform
        self.step_seconds = DEFAULT_STEP_SECONDS
        self.state_processing_seconds = DEFAULT_STATE_PROCESSING_SECONDS
        self.organizations: dict[str, _Organization] = {}
        self.workspaces: dict[str, _Workspace] = {}
        self.configuration_versions: dict[str, _ConfigurationVersion] = {}
        self.runs: dict[str, _Run] = {}
        self.plans: dict[str, _Run] = {}  # plan id -> run
        self.applies: dict[str, _Run] = {}  # apply id -> run
        self.policy_checks: dict[str, _Run] = {}
        self.task_stages: dict[str, _Run] = {}  # task stage id -> run
        self.policy_evaluations: dict[str, _Run] = {}  # policy evaluation id -> run
        self.json_plan_delay_seconds = 0.0
        self.state_versions: dict[str, _StateVersion] = {}
        self.outputs: dict[str, _StateOutput] = {}
        self.objects: dict[str, _Object] = {}
        self.tokens: dict[str, TokenKind] = {}
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.stopping = False
        self._random = random.Random(0)  # ids that repeat from one run of the suite to the next
        self._terraform_version: str | None = None

    # -- ids and lookups ------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-" + "".join(self._random.choice(_ID_ALPHABET) for _ in range(16))

    def new_object(self, kind: ObjectKind, owner: str, ttl: float | None) -> str:
        key = "".join(self._random.choice(_ID_ALPHABET) for _ in range(40))
        expires = None if ttl is None else time.monotonic() + ttl
        self.objects[key] = _Object(kind, owner, expires)
        return key

    def workspace(self, organization: str, name: str) -> _Workspace:
        found = self.organizations.get(organization)
        if found is None or name not in found.workspaces:
            raise KeyError(f"no workspace {organization}/{name}: add_workspace() it first")
        return found.workspaces[name]

    def terraform_version(self) -> str:
        if self._terraform_version is None:
            try:
                shown = subprocess.run(
                    [self.terraform, "version", "-json"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                    check=True,
                    env=self.terraform_environment(),
                )
                self._terraform_version = str(json.loads(shown.stdout)["terraform_version"])
            except (OSError, subprocess.SubprocessError, ValueError, KeyError):
                self._terraform_version = "unknown"
        return self._terraform_version

    def terraform_environment(self) -> dict[str, str]:
        """A clean environment: nothing of the test process (TF_VAR_*, AWS_*) leaks into a run."""
        config = self.root / "terraformrc"
        if not config.exists():
            config.write_text("")
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.root),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "TF_CLI_CONFIG_FILE": str(config),
        }

    # -- creating things ------------------------------------------------------------------------

    def create_configuration_version(
        self,
        workspace: _Workspace,
        *,
        auto_queue_runs: bool,
        speculative: bool,
        provisional: bool = False,
    ) -> _ConfigurationVersion:
        cv_id = self.new_id("cv")
        version = _ConfigurationVersion(
            id=cv_id,
            workspace_id=workspace.id,
            auto_queue_runs=auto_queue_runs,
            speculative=speculative,
            provisional=provisional,
            upload_key=self.new_object("upload", cv_id, None),
            number=len(self.configuration_versions),
        )
        self.configuration_versions[cv_id] = version
        # "When true [provisional], this configuration version does not immediately become the
        # workspace current configuration version": a plain one does. A speculative one can
        # never be applied; the page does not say, and the stand-in keeps it non-current too.
        if not provisional and not speculative:
            workspace.configuration_version_id = cv_id
        return version

    def make_current(self, workspace: _Workspace, version: _ConfigurationVersion) -> None:
        """A provisional version whose run applied: current, "unless a newer one exists"."""
        current = self.configuration_versions.get(workspace.configuration_version_id or "")
        if current is None or current.number < version.number:
            workspace.configuration_version_id = version.id

    def create_run(
        self,
        workspace: _Workspace,
        version: _ConfigurationVersion,
        *,
        message: str,
        plan_only: bool,
        auto_apply: bool,
        variables: list[dict[str, str]],
        source: str,
    ) -> _Run:
        run_id = self.new_id("run")
        plan_id, apply_id = self.new_id("plan"), self.new_id("apply")
        policy_check = None
        if workspace.policies is not None:
            policy_check = _PolicyCheck(self.new_id("polchk"), workspace.policies)
        evaluation = None
        if workspace.policy_evaluations is not None:
            evaluation = _PolicyEvaluation(
                self.new_id("ts"),
                self.new_id("poleval"),
                self.new_id("psout"),
                workspace.policy_evaluations,
            )
        run = _Run(
            id=run_id,
            workspace=workspace,
            configuration_version=version,
            message=message,
            plan_only=plan_only or version.speculative,
            auto_apply=auto_apply,
            variables=variables,
            source=source,
            created_at=_iso_ms(),
            directory=self.root / "runs" / run_id,
            plan=_Phase(plan_id, self.new_object("log", plan_id, None)),
            apply=_Phase(apply_id, self.new_object("log", apply_id, None)),
            policy_check=policy_check,
            policy_evaluation=evaluation,
            cost_estimate_id=self.new_id("ce") if workspace.cost_estimation else None,
        )
        run.plan.timestamps["pending-at"] = _iso()
        self.runs[run_id] = run
        self.plans[plan_id] = run
        self.applies[apply_id] = run
        if policy_check is not None:
            self.policy_checks[policy_check.id] = run
        if evaluation is not None:
            self.task_stages[evaluation.stage_id] = run
            self.policy_evaluations[evaluation.id] = run
        workspace.runs.append(run)
        if not run.plan_only:  # speculative plans do not queue: they never hold the workspace
            workspace.queue.append(run)
        self.set_status(run, "pending")
        self.start_thread(f"tfc-{run_id}", _RunWorker(self, run).drive)
        return run

    def start_thread(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    # -- moving runs (called under cond) --------------------------------------------------------

    def set_status(self, run: _Run, status: str, *, waiting: bool = False) -> None:
        run.status = status
        run.waiting = waiting
        run.timestamps[_timestamp_key(status)] = _iso()
        run.changes.append(StatusChange(status, time.monotonic()))
        self.cond.notify_all()

    def finish(self, run: _Run, status: str) -> None:
        """Put the run in its final status, close its logs and free the workspace."""
        self.set_status(run, status)
        canceled = status in {"canceled", "force_canceled"}
        for phase in (run.plan, run.apply):
            if phase.status in {"pending", "queued"}:  # it never ran
                phase.move(*(("canceled", "canceled-at") if canceled else ("unreachable", "")))
            elif phase.status == "running":  # interrupted
                phase.move(
                    *(("canceled", "canceled-at") if canceled else ("errored", "errored-at"))
                )
            phase.timestamps.pop("", None)
            if phase.log.started:
                phase.log.finished = True
        workspace = run.workspace
        if run in workspace.queue:
            workspace.queue.remove(run)
            workspace.finished_run_id = run.id
        self.cond.notify_all()

    def add_state_version(self, run: _Run) -> None:
        """A new state version from the workspace's state file, if terraform wrote a new one."""
        workspace = run.workspace
        try:
            raw = workspace.state_path.read_bytes()
            document = json.loads(raw)
        except (OSError, ValueError):
            return
        serial = int(document.get("serial", 0))
        previous = workspace.state_versions[-1] if workspace.state_versions else None
        if previous is not None and previous.serial == serial:
            return
        outputs = [
            _StateOutput(
                self.new_id("wsout"),
                name,
                output.get("value"),
                output.get("type"),
                bool(output.get("sensitive", False)),
            )
            for name, output in sorted(document.get("outputs", {}).items())
        ]
        sv_id = self.new_id("sv")
        version = _StateVersion(
            id=sv_id,
            workspace_id=workspace.id,
            run_id=run.id,
            serial=serial,
            lineage=str(document.get("lineage", "")),
            created_at=_iso_ms(),
            processed_at=time.monotonic() + self.state_processing_seconds,
            raw=raw,
            outputs=outputs,
            resources=_resource_summary(document),
            download_key=self.new_object("state", sv_id, None),
        )
        workspace.state_versions.append(version)
        self.state_versions[sv_id] = version
        self.outputs.update({output.id: output for output in outputs})
        run.apply.state_version_ids.append(sv_id)


def _resource_summary(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The `resources` attribute of a state version, from the state file."""
    summary = []
    for resource in state.get("resources", []):
        prefix = "data." if resource.get("mode") == "data" else ""
        summary.append(
            {
                "name": resource.get("name"),
                "type": prefix + str(resource.get("type")),
                "count": len(resource.get("instances", [])),
                "module": resource.get("module", "root"),
                "provider": resource.get("provider"),
            }
        )
    return summary


# ---------------------------------------------------------------------------------------------
# The run worker: one thread per run walks it through the statuses and runs terraform.


class _RunWorker:
    """Moves one run from pending to a final status. Terraform runs outside the lock."""

    def __init__(self, state: _State, run: _Run) -> None:
        self.state = state
        self.run = run
        self.cond = state.cond

    def drive(self) -> None:
        try:
            self._wait_for_turn()
            self._plan()
            self._checks_and_confirmation()
            self._apply()
        except _Ended as ended:
            with self.cond:
                self.state.finish(self.run, ended.status)
        except _Stopped:
            return
        except Exception as crash:  # a bug of the stand-in: the run errors, the tests see it
            with self.cond:
                self.state.errors.append(f"run {self.run.id}: {crash!r}")
                self.state.finish(self.run, "errored")

    # -- pauses that honour discard, cancel and stop --------------------------------------------

    def _interruption(self) -> None:
        """Raise what a pending request or the server's stop means (called under cond)."""
        if self.state.stopping:
            raise _Stopped
        requested = self.run.requested
        if requested in {"cancel", "discard", "force_cancel"}:
            final = {"cancel": "canceled", "discard": "discarded", "force_cancel": "force_canceled"}
            raise _Ended(final[requested])

    def _step(self, status: str) -> None:
        """Enter status and stay there for one step."""
        with self.cond:
            self._interruption()
            self.state.set_status(self.run, status)
            deadline = time.monotonic() + self.state.step_seconds
            while (remaining := deadline - time.monotonic()) > 0:
                self.cond.wait(remaining)
                self._interruption()

    def _wait_for_turn(self) -> None:
        """Pending until first in the workspace's queue and the workspace is not locked."""
        workspace = self.run.workspace
        with self.cond:
            while True:
                self._interruption()
                if self.run.plan_only:  # speculative plans neither queue nor mind a lock
                    return
                first = bool(workspace.queue) and workspace.queue[0] is self.run
                if first and workspace.locked_reason is None:
                    return
                self.cond.wait()

    def _wait_for_decision(self, status: str, accepted: Collection[str]) -> str:
        """Enter status, paused until one of the accepted requests (or discard) arrives."""
        with self.cond:
            self._interruption()
            self.state.set_status(self.run, status, waiting=True)
            while self.run.requested not in accepted:
                self.cond.wait()
                self._interruption()
            decision = str(self.run.requested)
            self.run.requested = None
            self.run.waiting = False
            return decision

    # -- the plan -------------------------------------------------------------------------------

    def _plan(self) -> None:
        run = self.run
        self._step("fetching")
        self._step("fetching_completed")
        if run.workspace.run_tasks:
            self._step("pre_plan_running")
            self._step("pre_plan_completed")
        self._step("queuing")
        with self.cond:
            run.plan.move("queued", "queued-at")
        self._step("plan_queued")
        with self.cond:
            self._interruption()
            self.state.set_status(run, "planning")
            run.plan.move("running", "started-at")
            run.plan.log.started = True
        succeeded = self._terraform_plan()
        with self.cond:
            self._interruption()
            if not succeeded:
                run.plan.move("errored", "errored-at")
                raise _Ended("errored")
            run.plan.move("finished", "finished-at")
            run.plan.log.finished = True
            run.plan.json_plan_ready_at = time.monotonic() + self.state.json_plan_delay_seconds

    def _terraform_plan(self) -> bool:
        run = self.run
        config = run.directory / "config"
        try:
            _unpack(run.configuration_version.archive or b"", config)
        except (tarfile.TarError, OSError, EOFError) as failure:
            self._log(
                run.plan, f"Error: the configuration version could not be unpacked: {failure}\n"
            )
            return False
        (config / "zz_tfc_stand_in_override.tf").write_text(
            'terraform {\n  backend "local" {\n'
            f"    path = {json.dumps(str(run.workspace.state_path))}\n  }}\n}}\n"
        )
        variables = run.directory / "run.tfvars"
        variables.write_text("".join(f"{v['key']} = {v['value']}\n" for v in run.variables))
        plan_file = run.directory / "plan.tfplan"
        self._log(run.plan, f"Terraform v{self.state.terraform_version()}\non linux_amd64\n")
        if self._terraform(run.plan, ["init", "-no-color", "-input=false"], config) != 0:
            return False
        arguments = [
            "plan",
            "-no-color",
            "-input=false",
            "-detailed-exitcode",
            f"-out={plan_file}",
            f"-var-file={variables}",
        ]
        if run.plan_only:  # speculative plans run beside the workspace's own run
            arguments.append("-lock=false")
        exit_code = self._terraform(run.plan, arguments, config)
        if exit_code not in {0, 2}:
            return False
        shown = subprocess.run(
            [self.state.terraform, "show", "-json", str(plan_file)],
            cwd=config,
            capture_output=True,
            env=self.state.terraform_environment(),
            timeout=300,
            check=False,
        )
        if shown.returncode != 0:
            self._log(run.plan, shown.stderr.decode(errors="replace"))
            return False
        additions, changes, destructions = _count_changes(json.loads(shown.stdout))
        with self.cond:
            run.plan.json_plan = shown.stdout
            run.plan.has_changes = exit_code == 2
            run.plan.additions, run.plan.changes = additions, changes
            run.plan.destructions = destructions
        return True

    def _terraform(self, phase: _Phase, arguments: list[str], cwd: Path) -> int:
        """Run terraform, its output appended to the phase's log as it comes; its exit code.
        A cancel sends it SIGINT (terraform's graceful stop), a force-cancel SIGKILL."""
        process = subprocess.Popen(
            [self.state.terraform, *arguments],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.state.terraform_environment(),
        )
        with self.cond:
            self.run.process = process
            if self.run.requested in {"cancel", "force_cancel"} or self.state.stopping:
                process.send_signal(signal.SIGINT)
        assert process.stdout is not None  # stdout=PIPE
        for line in process.stdout:
            self._log(phase, line)
        exit_code = process.wait()
        with self.cond:
            self.run.process = None
        return exit_code

    def _log(self, phase: _Phase, text: str) -> None:
        with self.cond:
            phase.log.text += text

    # -- cost estimation, policies, post-plan tasks, confirmation -------------------------------

    def _checks_and_confirmation(self) -> None:
        """The optional stages the workspace has, then the end of a plan-only or no-change run,
        or the pause for confirmation (or auto-apply) of one that will apply."""
        run = self.run
        stages: list[str] = ["planned"]
        if run.workspace.cost_estimation:
            stages += ["cost_estimating", "cost_estimated"]
        if run.policy_check is not None:
            stages += ["policy_checking", "policy_checked"]
        if run.workspace.run_tasks or run.policy_evaluation is not None:
            stages += ["post_plan_running", "post_plan_completed"]
        will_apply = not run.plan_only and run.plan.has_changes
        for index, status in enumerate(stages):
            last = index == len(stages) - 1
            if status == "policy_checked":
                self._policy_outcome()
            if status == "post_plan_running":
                self._evaluation_moves("running")
            if status == "post_plan_completed":
                self._evaluation_outcome()
            if last and will_apply:
                self._confirm(status)
                return
            self._step(status)
        raise _Ended("planned_and_finished")

    def _policy_outcome(self) -> None:
        """After policy_checking: pass on, pause in policy_override, or end the run."""
        run = self.run
        check = run.policy_check
        assert check is not None  # only called when the workspace has policies
        with self.cond:
            check.timestamps["queued-at"] = run.timestamps.get("policy-checking-at", _iso())
            if check.outcome == "pass":
                check.status = "passed"
                check.timestamps["passed-at"] = _iso()
                return
            if check.outcome == "hard_fail":
                check.status = "hard_failed"
                check.timestamps["hard-failed-at"] = _iso()
                raise _Ended("errored")
            check.status = "soft_failed"
            check.timestamps["soft-failed-at"] = _iso()
            if run.plan_only:
                raise _Ended("policy_soft_failed")
        self._wait_for_decision("policy_override", {"override"})
        with self.cond:
            check.status = "overridden"
            check.timestamps["overridden-at"] = _iso()

    def _evaluation_moves(self, status: str) -> None:
        evaluation = self.run.policy_evaluation
        if evaluation is not None:
            with self.cond:
                evaluation.stage_status = evaluation.status = status
                evaluation.timestamps[f"{status}-at"] = _iso()

    def _evaluation_outcome(self) -> None:
        """After post_plan_running: the evaluation passes, or a mandatory policy fails and the
        run errors. (An overridable failure would wait in post_plan_awaiting_decision, its stage
        awaiting_override: not modelled; the policy set here is not overridable.)"""
        evaluation = self.run.policy_evaluation
        if evaluation is None:
            return
        failed = evaluation.outcome == "mandatory_fail"
        self._evaluation_moves("failed" if failed else "passed")
        if failed:
            raise _Ended("errored")

    def _confirm(self, status: str) -> None:
        if self.run.auto_apply:
            self._step(status)
        else:
            self._wait_for_decision(status, {"apply"})

    # -- the apply ------------------------------------------------------------------------------

    def _apply(self) -> None:
        run = self.run
        self._step("confirmed")
        if run.workspace.run_tasks:
            self._step("pre_apply_running")
            self._step("pre_apply_completed")
        with self.cond:
            run.apply.move("queued", "queued-at")
        self._step("apply_queued")
        with self.cond:
            self._interruption()
            self.state.set_status(run, "applying")
            run.apply.move("running", "started-at")
            run.apply.log.started = True
        self._log(run.apply, f"Terraform v{self.state.terraform_version()}\non linux_amd64\n")
        arguments = ["apply", "-no-color", "-input=false", str(run.directory / "plan.tfplan")]
        exit_code = self._terraform(run.apply, arguments, run.directory / "config")
        with self.cond:
            self.state.add_state_version(run)  # terraform writes state even when it fails
            found = _APPLY_SUMMARY.search(run.apply.log.text)
            if found:
                run.apply.additions, run.apply.changes, run.apply.destructions = (
                    int(found.group(1)),
                    int(found.group(2)),
                    int(found.group(3)),
                )
            if exit_code == 0:  # a cancel that came too late changes nothing
                run.apply.move("finished", "finished-at")
                if run.configuration_version.provisional:
                    self.state.make_current(run.workspace, run.configuration_version)
                raise _Ended("applied")
            self._interruption()  # canceled (or stopped) rather than errored
            run.apply.move("errored", "errored-at")
        raise _Ended("errored")


def _unpack(archive: bytes, destination: Path) -> None:
    """A configuration version's tar.gz into destination; no member may land outside it."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(destination, filter="data")


def _check_archive(archive: bytes) -> str | None:
    """None when archive is a readable tar.gz, else why not."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            tar.getmembers()
    except (tarfile.TarError, EOFError, OSError) as failure:
        return f"the upload is not a tar.gz archive: {failure}"
    return None


def _count_changes(plan: Mapping[str, Any]) -> tuple[int, int, int]:
    """Additions, changes and destructions of a JSON plan; a replacement is one of each end."""
    additions = changes = destructions = 0
    for change in plan.get("resource_changes", []):
        if change.get("mode") != "managed":
            continue
        actions = list(change.get("change", {}).get("actions", []))
        if actions == ["create"]:
            additions += 1
        elif actions == ["update"]:
            changes += 1
        elif actions == ["delete"]:
            destructions += 1
        elif sorted(actions) == ["create", "delete"]:
            additions += 1
            destructions += 1
    return additions, changes, destructions


# ---------------------------------------------------------------------------------------------
# Replies and JSON:API documents


@dataclass(frozen=True)
class _Reply:
    status: int
    body: Any = None  # a JSON document, bytes (sent as they are), or None for no body
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = JSON_API


class _Answer(Exception):  # not an error: a handler's early reply
    def __init__(self, reply: _Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _error(
    status: int, title: str, detail: str | None = None, pointer: str | None = None
) -> _Answer:
    """A JSON:API error document, as HashiCorp answers it."""
    error: dict[str, Any] = {"status": str(status), "title": title}
    if detail is not None:
        error["detail"] = detail
    if pointer is not None:
        error["source"] = {"pointer": pointer}
    return _Answer(_Reply(status, {"errors": [error]}))


def _not_found() -> _Answer:
    return _error(404, "not found")


def _reference(kind: str, identifier: str | None) -> dict[str, Any]:
    return {"data": None if identifier is None else {"id": identifier, "type": kind}}


def _workspace_document(state: _State, workspace: _Workspace) -> dict[str, Any]:
    active = workspace.active_run()
    current_run = active.id if active else workspace.finished_run_id
    latest_run = workspace.runs[-1].id if workspace.runs else None
    current_state = workspace.state_versions[-1] if workspace.state_versions else None
    locked_by: dict[str, Any] = {"data": None}
    if workspace.locked_reason is not None:
        locked_by = _reference("users", "user-tfcStandInAdmin1")
    elif active is not None:
        locked_by = _reference("runs", active.id)
    outputs = []
    if current_state is not None and current_state.processed():
        outputs = [{"id": o.id, "type": "state-version-outputs"} for o in current_state.outputs]
    resource_count = sum(r["count"] for r in current_state.resources) if current_state else 0
    path = f"{API}/workspaces/{workspace.id}"
    return {
        "data": {
            "id": workspace.id,
            "type": "workspaces",
            "attributes": {
                "allow-destroy-plan": True,
                "auto-apply": workspace.auto_apply,
                "auto-apply-run-trigger": False,
                "created-at": workspace.created_at,
                "description": None,
                "environment": "default",
                "execution-mode": "remote",
                "file-triggers-enabled": True,
                "global-remote-state": False,
                "latest-change-at": current_state.created_at
                if current_state
                else workspace.created_at,
                "locked": workspace.locked_reason is not None or active is not None,
                "locked-reason": workspace.locked_reason or "",
                "name": workspace.name,
                "operations": True,
                "queue-all-runs": False,
                "resource-count": resource_count,
                "source": "tfe-api",
                "speculative-enabled": True,
                "structured-run-output-enabled": False,
                "tag-names": [],
                "terraform-version": state.terraform_version(),
                "trigger-prefixes": [],
                "updated-at": workspace.created_at,
                "vcs-repo": None,
                "working-directory": None,
                "permissions": {
                    "can-update": True,
                    "can-destroy": True,
                    "can-queue-run": True,
                    "can-queue-apply": True,
                    "can-lock": True,
                    "can-unlock": True,
                    "can-read-state-versions": True,
                    "can-read-state-outputs": True,
                    "can-read-variable": True,
                },
                "actions": {"is-destroyable": True},
            },
            "relationships": {
                "organization": _reference("organizations", workspace.organization),
                "current-run": {
                    **_reference("runs", current_run),
                    "links": {"related": f"{path}/current-run"} if current_run else {},
                },
                "latest-run": _reference("runs", latest_run),
                "current-state-version": {
                    **_reference("state-versions", current_state.id if current_state else None),
                    "links": {"related": f"{path}/current-state-version"},
                },
                "current-configuration-version": _reference(
                    "configuration-versions", workspace.configuration_version_id
                ),
                "locked-by": locked_by,
                "outputs": {"data": outputs},
            },
            "links": {
                "self": f"{API}/organizations/{workspace.organization}/workspaces/{workspace.name}",
                "self-html": f"/app/{workspace.organization}/workspaces/{workspace.name}",
            },
        }
    }


def _configuration_version_document(
    version: _ConfigurationVersion, upload_url: str | None
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "auto-queue-runs": version.auto_queue_runs,
        "error": "unprocessable" if version.status == "errored" else None,
        "error-message": version.error_message,
        "source": version.source,
        "speculative": version.speculative,
        "status": version.status,
        "status-timestamps": dict(version.timestamps),
        "provisional": version.provisional,
    }
    if upload_url is not None:  # "only provided in the response when creating"
        attributes["upload-url"] = upload_url
    path = f"{API}/configuration-versions/{version.id}"
    ingress_id = version.ingress["id"] if version.ingress else None
    return {
        "data": {
            "id": version.id,
            "type": "configuration-versions",
            "attributes": attributes,
            "relationships": {
                "ingress-attributes": {
                    **_reference("ingress-attributes", ingress_id),
                    "links": {"related": f"{path}/ingress-attributes"},
                }
            },
            "links": {"self": path, "download": f"{path}/download"},
        }
    }


def _run_resource(state: _State, run: _Run) -> dict[str, Any]:
    path = f"{API}/runs/{run.id}"
    checks = [run.policy_check.id] if run.policy_check else []
    stages = [run.policy_evaluation.stage_id] if run.policy_evaluation else []
    return {
        "id": run.id,
        "type": "runs",
        "attributes": {
            "actions": {
                "is-cancelable": run.is_cancelable(),
                "is-confirmable": run.is_confirmable(),
                "is-discardable": run.is_discardable(),
                "is-force-cancelable": False,
            },
            "allow-config-generation": False,
            "allow-empty-apply": False,
            "auto-apply": run.auto_apply,
            "canceled-at": run.timestamps.get("canceled-at"),
            "created-at": run.created_at,
            "has-changes": run.plan.has_changes,
            "is-destroy": False,
            "message": run.message,
            "plan-only": run.plan_only,
            "position-in-queue": run.position_in_queue(),
            "refresh": True,
            "refresh-only": False,
            "replace-addrs": None,
            "save-plan": False,
            "source": run.source,
            "status": run.status,
            "status-timestamps": dict(run.timestamps),
            "target-addrs": None,
            "terraform-version": state.terraform_version(),
            "trigger-reason": "manual",
            "variables": [dict(v) for v in run.variables],
            "permissions": {
                "can-apply": True,
                "can-cancel": True,
                "can-comment": True,
                "can-discard": True,
                "can-force-execute": True,
                "can-force-cancel": True,
                "can-override-policy-check": True,
            },
        },
        "relationships": {
            "workspace": _reference("workspaces", run.workspace.id),
            "configuration-version": {
                **_reference("configuration-versions", run.configuration_version.id),
                "links": {"related": f"{path}/configuration-version"},
            },
            "plan": {**_reference("plans", run.plan.id), "links": {"related": f"{path}/plan"}},
            "apply": {**_reference("applies", run.apply.id), "links": {"related": f"{path}/apply"}},
            "cost-estimate": _reference("cost-estimates", run.cost_estimate_id),
            "policy-checks": {
                "data": [{"id": check, "type": "policy-checks"} for check in checks],
                "links": {"related": f"{path}/policy-checks"},
            },
            "task-stages": {
                "data": [{"id": stage, "type": "task-stages"} for stage in stages],
                "links": {"related": f"{path}/task-stages"},
            },
            "created-by": _reference("users", "user-tfcStandInUser01"),
        },
        "links": {"self": path},
    }


def _phase_document(
    base_url: str, kind: Literal["plans", "applies"], phase: _Phase
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "execution-details": {"mode": "remote"},
        "status": phase.status,
        "status-timestamps": dict(phase.timestamps),
        "log-read-url": f"{base_url}{ARCHIVIST}/{phase.log_key}",
        "resource-additions": phase.additions,
        "resource-changes": phase.changes,
        "resource-destructions": phase.destructions,
        "resource-imports": 0,
    }
    links = {"self": f"{API}/{kind}/{phase.id}"}
    if kind == "plans":
        attributes["has-changes"] = phase.has_changes
        attributes["generated-configuration"] = False
        links["json-output"] = f"{API}/plans/{phase.id}/json-output"
    states = [{"id": sv, "type": "state-versions"} for sv in phase.state_version_ids]
    return {
        "data": {
            "id": phase.id,
            "type": kind,
            "attributes": attributes,
            "relationships": {"state-versions": {"data": states}},
            "links": links,
        }
    }


def _policy_check_resource(run: _Run, check: _PolicyCheck) -> dict[str, Any]:
    failed = {"soft_fail": "soft-failed", "hard_fail": "hard-failed"}.get(check.outcome)
    finished = check.status not in {"queued", "pending"}
    result = {
        "result": check.outcome == "pass" or check.status == "overridden",
        "passed": 1 if check.outcome == "pass" and finished else 0,
        "total-failed": 1 if failed and finished else 0,
        "hard-failed": 1 if check.outcome == "hard_fail" and finished else 0,
        "soft-failed": 1 if check.outcome == "soft_fail" and finished else 0,
        "advisory-failed": 0,
        "duration-ms": 0,
        "sentinel": None,
    }
    return {
        "id": check.id,
        "type": "policy-checks",
        "attributes": {
            "result": result,
            "scope": "organization",
            "status": check.status,
            "status-timestamps": dict(check.timestamps),
            "actions": {"is-overridable": check.status == "soft_failed"},
            "permissions": {"can-override": True},
        },
        "relationships": {"run": _reference("runs", run.id)},
        "links": {"output": f"{API}/policy-checks/{check.id}/output"},
    }


def _task_stage_resource(run: _Run, evaluation: _PolicyEvaluation) -> dict[str, Any]:
    """A task stage as tasks/task-stages-and-results shows it, with the policy-evaluations
    relationship go-tfe's TaskStage reads."""
    return {
        "id": evaluation.stage_id,
        "type": "task-stages",
        "attributes": {
            "status": evaluation.stage_status,
            "stage": "post_plan",
            "status-timestamps": dict(evaluation.timestamps),
            "created-at": run.created_at,
            "updated-at": run.created_at,
            "actions": {"is-overridable": False},
            "permissions": {"can-override-policy": True, "can-override-tasks": False},
        },
        "relationships": {
            "run": _reference("runs", run.id),
            "task-results": {"data": []},
            "policy-evaluations": {
                "data": [{"id": evaluation.id, "type": "policy-evaluations"}],
            },
        },
        "links": {"self": f"{API}/task-stages/{evaluation.stage_id}"},
    }


def _result_count(evaluation: _PolicyEvaluation) -> dict[str, int]:
    decided = evaluation.status in {"passed", "failed"}
    failed = evaluation.outcome == "mandatory_fail"
    return {
        "advisory-failed": 0,
        "errored": 0,
        "mandatory-failed": int(decided and failed),
        "passed": int(decided and not failed),
    }


def _policy_evaluation_resource(evaluation: _PolicyEvaluation) -> dict[str, Any]:
    path = f"{API}/policy-evaluations/{evaluation.id}"
    return {
        "id": evaluation.id,
        "type": "policy-evaluations",
        "attributes": {
            "status": evaluation.status,
            "policy-kind": "sentinel",
            "policy-tool-version": "0.40.0",
            "result-count": _result_count(evaluation),
            "status-timestamps": dict(evaluation.timestamps),
        },
        "relationships": {
            "policy-attachable": _reference("task-stages", evaluation.stage_id),
            "policy-set-outcomes": {"links": {"related": f"{path}/policy-set-outcomes"}},
        },
        "links": {"self": path},
    }


def _policy_set_outcome_resource(evaluation: _PolicyEvaluation) -> dict[str, Any]:
    """The one policy set's outcome (only once the evaluation is decided)."""
    failed = evaluation.outcome == "mandatory_fail"
    return {
        "id": evaluation.outcome_id,
        "type": "policy-set-outcomes",
        "attributes": {
            "outcomes": [
                {
                    "enforcement_level": "mandatory",
                    "query": "main",
                    "status": "failed" if failed else "passed",
                    "policy_name": "restrict-destroy",
                    "description": "",
                }
            ],
            "error": "",
            "overridable": False,
            "policy-set-name": "toto-guardrails",
            "policy-set-description": None,
            "result-count": _result_count(evaluation),
            "policy-tool-version": "0.40.0",
        },
        "relationships": {"policy-evaluation": _reference("policy-evaluations", evaluation.id)},
    }


def _state_version_document(base_url: str, version: _StateVersion) -> dict[str, Any]:
    processed = version.processed()
    outputs = [{"id": o.id, "type": "state-version-outputs"} for o in version.outputs]
    providers: dict[str, dict[str, int]] = {}
    modules: dict[str, dict[str, int]] = {}
    for resource in version.resources if processed else []:
        kind = str(resource["type"]).replace("_", "-")
        modules.setdefault(str(resource["module"]), {})[kind] = resource["count"]
        providers.setdefault(str(resource["provider"]), {})[kind] = resource["count"]
    return {
        "data": {
            "id": version.id,
            "type": "state-versions",
            "attributes": {
                "billable-rum-count": 0,
                "created-at": version.created_at,
                "size": len(version.raw),
                "hosted-state-download-url": f"{base_url}{ARCHIVIST}/{version.download_key}",
                "hosted-state-upload-url": None,
                "hosted-json-state-download-url": None,
                "hosted-json-state-upload-url": None,
                "status": "finalized",
                "intermediate": False,
                "modules": modules,
                "providers": providers,
                "resources": version.resources if processed else [],
                "resources-processed": processed,
                "serial": version.serial,
                "state-version": 4,
                "terraform-version": None,
                "vcs-commit-url": None,
                "vcs-commit-sha": None,
            },
            "relationships": {
                "run": _reference("runs", version.run_id),
                "workspace": _reference("workspaces", version.workspace_id),
                "outputs": {"data": outputs if processed else []},
            },
            "links": {"self": f"{API}/state-versions/{version.id}"},
        }
    }


def _json_type(detailed_type: Any) -> str:
    """The `type` attribute of an output: the JSON kind of its value (a tuple is an array)."""
    if isinstance(detailed_type, list) and detailed_type:
        head = detailed_type[0]
        return "array" if head in {"list", "tuple", "set"} else "object"
    return {"bool": "boolean", "dynamic": "string"}.get(str(detailed_type), str(detailed_type))


def _output_resource(output: _StateOutput, *, reveal: bool) -> dict[str, Any]:
    """A state-version-outputs resource; a sensitive value only when reveal is set (the
    per-output route), null elsewhere, as the documentation's note says."""
    return {
        "id": output.id,
        "type": "state-version-outputs",
        "attributes": {
            "name": output.name,
            "sensitive": output.sensitive,
            "type": _json_type(output.detailed_type),
            "value": output.value if reveal or not output.sensitive else None,
            "detailed-type": output.detailed_type,
        },
        "links": {"self": f"{API}/state-version-outputs/{output.id}"},
    }


def _paginated(call: _Call, items: list[dict[str, Any]], default_size: int = 20) -> _Reply:
    """One page of a JSON:API list, with HashiCorp's links and meta.pagination."""
    size = max(1, min(_int_or(call.query.get("page[size]"), default_size), 100))
    total_pages = max((len(items) + size - 1) // size, 1)
    number = min(max(_int_or(call.query.get("page[number]"), 1), 1), total_pages)
    start = (number - 1) * size

    def link(page: int | None) -> str | None:
        if page is None:
            return None
        return f"{call.base_url}{call.path}?page%5Bnumber%5D={page}&page%5Bsize%5D={size}"

    previous = number - 1 if number > 1 else None
    following = number + 1 if number < total_pages else None
    return _Reply(
        200,
        {
            "data": items[start : start + size],
            "links": {
                "self": link(number),
                "first": link(1),
                "prev": link(previous),
                "next": link(following),
                "last": link(total_pages),
            },
            "meta": {
                "pagination": {
                    "current-page": number,
                    "page-size": size,
                    "prev-page": previous,
                    "next-page": following,
                    "total-pages": total_pages,
                    "total-count": len(items),
                }
            },
        },
    )


def _int_or(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


# ---------------------------------------------------------------------------------------------
# Route handlers: each takes one call (under the lock) and returns a reply, or raises _Answer.


@dataclass(frozen=True)
class _Call:
    state: _State
    params: dict[str, str]
    query: dict[str, str]
    body: Any  # JSON for API routes; bytes for the archivist
    path: str
    base_url: str

    def workspace(self) -> _Workspace:
        found = self.state.workspaces.get(self.params["workspace_id"])
        if found is None:
            raise _not_found()
        return found

    def run(self) -> _Run:
        found = self.state.runs.get(self.params["run_id"])
        if found is None:
            raise _not_found()
        return found


def _show_workspace_by_name(call: _Call) -> _Reply:
    organization = call.state.organizations.get(call.params["organization"])
    workspace = organization.workspaces.get(call.params["name"]) if organization else None
    if workspace is None:
        raise _not_found()
    return _Reply(200, _workspace_document(call.state, workspace))


def _show_workspace(call: _Call) -> _Reply:
    return _Reply(200, _workspace_document(call.state, call.workspace()))


def _resource_body(call: _Call, kind: str) -> dict[str, Any]:
    """data of a JSON:API request body of that type; 422 otherwise."""
    data = call.body.get("data") if isinstance(call.body, dict) else None
    if not isinstance(data, dict) or data.get("type") != kind:
        raise _error(422, "invalid attribute", f'data.type must be "{kind}"', "/data/type")
    attributes = data.setdefault("attributes", {})
    if not isinstance(attributes, dict):
        raise _error(422, "invalid attribute", "attributes must be an object", "/data/attributes")
    return data


def _boolean(attributes: Mapping[str, Any], key: str, default: bool) -> bool:
    value = attributes.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _error(
            422, "invalid attribute", f"{key} must be a boolean", f"/data/attributes/{key}"
        )
    return value


def _create_configuration_version(call: _Call) -> _Reply:
    workspace = call.workspace()
    attributes = _resource_body(call, "configuration-versions")["attributes"]
    version = call.state.create_configuration_version(
        workspace,
        auto_queue_runs=_boolean(attributes, "auto-queue-runs", True),
        speculative=_boolean(attributes, "speculative", False),
        provisional=_boolean(attributes, "provisional", False),
    )
    upload_url = f"{call.base_url}{ARCHIVIST}/{version.upload_key}"
    return _Reply(201, _configuration_version_document(version, upload_url))


def _show_configuration_version(call: _Call) -> _Reply:
    version = call.state.configuration_versions.get(call.params["cv_id"])
    if version is None:
        raise _not_found()
    return _Reply(200, _configuration_version_document(version, None))


def _show_ingress_attributes(call: _Call) -> _Reply:
    version = call.state.configuration_versions.get(call.params["cv_id"])
    if version is None or version.ingress is None:
        raise _not_found()
    ingress = dict(version.ingress)
    return _Reply(
        200,
        {
            "data": {
                "id": ingress.pop("id"),
                "type": "ingress-attributes",
                "attributes": ingress,
            }
        },
    )


def _create_run(call: _Call) -> _Reply:
    data = _resource_body(call, "runs")
    attributes = data["attributes"]
    relationships = data.get("relationships")
    relationships = relationships if isinstance(relationships, dict) else {}
    workspace_id = _related_id(relationships, "workspace")
    if workspace_id is None:
        raise _error(
            422, "invalid attribute", "Workspace is required", "/data/relationships/workspace"
        )
    workspace = call.state.workspaces.get(workspace_id)
    if workspace is None:
        raise _not_found()
    version = _run_configuration_version(call.state, workspace, relationships)
    message = attributes.get("message") or "Queued manually via the Terraform Enterprise API"
    if not isinstance(message, str):
        raise _error(
            422, "invalid attribute", "message must be a string", "/data/attributes/message"
        )
    run = call.state.create_run(
        workspace,
        version,
        message=message,
        plan_only=_boolean(attributes, "plan-only", version.speculative),
        auto_apply=_boolean(attributes, "auto-apply", workspace.auto_apply),
        variables=_run_variables(attributes.get("variables")),
        source="tfe-api",
    )
    return _Reply(201, {"data": _run_resource(call.state, run)})


def _related_id(relationships: Mapping[str, Any], name: str) -> str | None:
    related = relationships.get(name)
    data = related.get("data") if isinstance(related, dict) else None
    identifier = data.get("id") if isinstance(data, dict) else None
    return identifier if isinstance(identifier, str) else None


def _run_configuration_version(
    state: _State, workspace: _Workspace, relationships: Mapping[str, Any]
) -> _ConfigurationVersion:
    """The run's configuration version: the one named (any workspace's), else the workspace's
    latest. It must be uploaded (the stand-in answers 422 otherwise)."""
    cv_id = (
        _related_id(relationships, "configuration-version") or workspace.configuration_version_id
    )
    if cv_id is None:
        raise _error(
            422,
            "invalid attribute",
            "the workspace has no configuration version",
            "/data/relationships/configuration-version",
        )
    version = state.configuration_versions.get(cv_id)
    if version is None:
        raise _not_found()
    if version.status != "uploaded":
        raise _error(
            422,
            "invalid attribute",
            f"configuration version {cv_id} is {version.status}, not uploaded",
            "/data/relationships/configuration-version",
        )
    return version


def _run_variables(variables: Any) -> list[dict[str, str]]:
    """The run variables: [{key, value}] where value is an HCL literal string."""
    if variables is None:
        return []
    pointer = "/data/attributes/variables"
    if not isinstance(variables, list):
        raise _error(422, "invalid attribute", "variables must be an array", pointer)
    parsed = []
    for index, variable in enumerate(variables):
        if not (
            isinstance(variable, dict)
            and isinstance(variable.get("key"), str)
            and isinstance(variable.get("value"), str)
            and variable["key"]
        ):
            raise _error(
                422,
                "invalid attribute",
                "a run variable is {key, value}, both strings (value an HCL literal)",
                f"{pointer}/{index}",
            )
        parsed.append({"key": variable["key"], "value": variable["value"]})
    return parsed


def _show_run(call: _Call) -> _Reply:
    return _Reply(200, {"data": _run_resource(call.state, call.run())})


def _list_runs(call: _Call) -> _Reply:
    """Newest first. By default, as HashiCorp does, plan-only runs are left out unless
    filter[operation] asks for them; filter[status] and search[commit] narrow the list."""
    workspace = call.workspace()
    runs = list(reversed(workspace.runs))
    operations = set(call.query.get("filter[operation]", "plan_and_apply").split(","))
    runs = [r for r in runs if ("plan_only" if r.plan_only else "plan_and_apply") in operations]
    if "filter[status]" in call.query:
        statuses = set(call.query["filter[status]"].split(","))
        runs = [r for r in runs if r.status in statuses]
    if "search[commit]" in call.query:
        commit = call.query["search[commit]"]
        runs = [
            r for r in runs if (r.configuration_version.ingress or {}).get("commit-sha") == commit
        ]
    return _paginated(call, [_run_resource(call.state, run) for run in runs])


def _apply_run(call: _Call) -> _Reply:
    run = call.run()
    if not run.is_confirmable():
        raise _error(409, "conflict", "Run was not paused for confirmation; apply not allowed.")
    run.requested = "apply"
    call.state.cond.notify_all()
    return _Reply(202)


def _discard_run(call: _Call) -> _Reply:
    run = call.run()
    if not run.is_discardable():
        raise _error(
            409,
            "conflict",
            "Run was not paused for confirmation or priority; discard not allowed.",
        )
    run.requested = "discard"
    call.state.cond.notify_all()
    return _Reply(202)


def _cancel_run(call: _Call) -> _Reply:
    run = call.run()
    if not run.is_cancelable():
        raise _error(409, "conflict", "Run was not planning or applying; cancel not allowed.")
    run.requested = "cancel"
    if run.process is not None:
        run.process.send_signal(signal.SIGINT)  # terraform's graceful stop, as ctrl+c
    call.state.cond.notify_all()
    return _Reply(202)


def _list_policy_checks(call: _Call) -> _Reply:
    run = call.run()
    checks = [_policy_check_resource(run, run.policy_check)] if run.policy_check else []
    return _paginated(call, checks)


def _policy_check_of(call: _Call) -> tuple[_Run, _PolicyCheck]:
    run = call.state.policy_checks.get(call.params["policy_check_id"])
    if run is None or run.policy_check is None:
        raise _not_found()
    return run, run.policy_check


def _show_policy_check(call: _Call) -> _Reply:
    run, check = _policy_check_of(call)
    return _Reply(200, {"data": _policy_check_resource(run, check)})


def _override_policy_check(call: _Call) -> _Reply:
    run, check = _policy_check_of(call)
    if check.status != "soft_failed" or run.status != "policy_override" or run.requested:
        raise _error(409, "conflict", "The policy check is not overridable.")
    run.requested = "override"
    call.state.cond.notify_all()
    return _Reply(200, {"data": _policy_check_resource(run, check)})


def _evaluation_of(call: _Call, key: str) -> tuple[_Run, _PolicyEvaluation]:
    found = call.state.task_stages if key == "task_stage_id" else call.state.policy_evaluations
    run = found.get(call.params[key])
    if run is None or run.policy_evaluation is None:
        raise _not_found()
    return run, run.policy_evaluation


def _list_task_stages(call: _Call) -> _Reply:
    run = call.run()
    evaluation = run.policy_evaluation
    return _paginated(call, [_task_stage_resource(run, evaluation)] if evaluation else [])


def _show_task_stage(call: _Call) -> _Reply:
    """With include=policy_evaluations (go-tfe's PolicyEvaluationsTaskResults), the
    evaluations come along in `included`."""
    run, evaluation = _evaluation_of(call, "task_stage_id")
    document: dict[str, Any] = {"data": _task_stage_resource(run, evaluation)}
    if "policy_evaluations" in call.query.get("include", "").split(","):
        document["included"] = [_policy_evaluation_resource(evaluation)]
    return _Reply(200, document)


def _list_policy_evaluations(call: _Call) -> _Reply:
    _, evaluation = _evaluation_of(call, "task_stage_id")
    return _paginated(call, [_policy_evaluation_resource(evaluation)])


def _list_policy_set_outcomes(call: _Call) -> _Reply:
    _, evaluation = _evaluation_of(call, "policy_evaluation_id")
    decided = evaluation.status in {"passed", "failed"}
    return _paginated(call, [_policy_set_outcome_resource(evaluation)] if decided else [])


def _show_plan(call: _Call) -> _Reply:
    run = call.state.plans.get(call.params["plan_id"])
    if run is None:
        raise _not_found()
    return _Reply(200, _phase_document(call.base_url, "plans", run.plan))


def _json_output(call: _Call, run: _Run | None) -> _Reply:
    """307 to a temporary unauthenticated URL; 204 No Content, with no body, while the plan has
    not finished (plans page: "Plan JSON supported, but plan has not yet completed") and, after
    it, for json_plan_delay_seconds, as HCP Terraform writes the JSON plan after the plan."""
    if run is None:
        raise _not_found()
    plan = run.plan
    if plan.json_plan is None or plan.status != "finished":
        return _Reply(204)
    if time.monotonic() < plan.json_plan_ready_at:
        return _Reply(204)
    key = call.state.new_object("json-plan", run.plan.id, JSON_PLAN_URL_SECONDS)
    location = f"{call.base_url}{ARCHIVIST}/{key}"
    return _Reply(307, None, (("Location", location),))


def _plan_json_output(call: _Call) -> _Reply:
    return _json_output(call, call.state.plans.get(call.params["plan_id"]))


def _run_plan_json_output(call: _Call) -> _Reply:
    return _json_output(call, call.run())


def _show_apply(call: _Call) -> _Reply:
    run = call.state.applies.get(call.params["apply_id"])
    if run is None:
        raise _not_found()
    return _Reply(200, _phase_document(call.base_url, "applies", run.apply))


def _current_state_version(call: _Call) -> _Reply:
    workspace = call.workspace()
    if not workspace.state_versions:
        raise _not_found()
    return _Reply(200, _state_version_document(call.base_url, workspace.state_versions[-1]))


def _current_state_version_outputs(call: _Call) -> _Reply:
    """The current outputs, sensitive values null; 503 while the state is processed."""
    workspace = call.workspace()
    if not workspace.state_versions:
        raise _not_found()
    version = workspace.state_versions[-1]
    if not version.processed():
        raise _error(
            503,
            "service unavailable",
            "State version outputs are being processed and are not ready. Retry the request.",
        )
    return _Reply(200, {"data": [_output_resource(o, reveal=False) for o in version.outputs]})


def _show_state_version(call: _Call) -> _Reply:
    version = call.state.state_versions.get(call.params["state_version_id"])
    if version is None:
        raise _not_found()
    return _Reply(200, _state_version_document(call.base_url, version))


def _list_state_version_outputs(call: _Call) -> _Reply:
    version = call.state.state_versions.get(call.params["state_version_id"])
    if version is None:
        raise _not_found()
    outputs = version.outputs if version.processed() else []
    return _paginated(call, [_output_resource(o, reveal=False) for o in outputs])


def _show_state_version_output(call: _Call) -> _Reply:
    output = call.state.outputs.get(call.params["output_id"])
    if output is None:
        raise _not_found()
    return _Reply(200, {"data": _output_resource(output, reveal=True)})


def _archivist_object(call: _Call) -> _Object:
    found = call.state.objects.get(call.params["key"])
    if found is None or (found.expires_at is not None and time.monotonic() > found.expires_at):
        raise _Answer(_Reply(404, b"not found", content_type="text/plain"))
    return found


def _archivist_put(call: _Call) -> _Reply:
    """The upload of a configuration version's tar.gz: no token. The version becomes uploaded
    (or errored) after one step, as HashiCorp processes uploads asynchronously."""
    found = _archivist_object(call)
    version = call.state.configuration_versions.get(found.owner)
    if found.kind != "upload" or version is None:
        raise _Answer(_Reply(405, b"method not allowed", content_type="text/plain"))
    if version.archive is not None:
        raise _Answer(_Reply(409, b"already uploaded", content_type="text/plain"))
    version.archive = bytes(call.body)
    call.state.start_thread(f"tfc-{version.id}", lambda: _process_upload(call.state, version))
    return _Reply(200, b"", content_type="text/plain")


def _process_upload(state: _State, version: _ConfigurationVersion) -> None:
    time.sleep(state.step_seconds)
    problem = _check_archive(version.archive or b"")
    with state.cond:
        if state.stopping:
            return
        version.status = "errored" if problem else "uploaded"
        version.error_message = problem
        version.timestamps[f"{version.status}-at"] = _iso()
        workspace = state.workspaces[version.workspace_id]
        if problem is None and version.auto_queue_runs:
            state.create_run(
                workspace,
                version,
                message="Triggered via API",
                plan_only=version.speculative,
                auto_apply=workspace.auto_apply,
                variables=[],
                source="tfe-configuration-version",
            )
        state.cond.notify_all()


def _archivist_get(call: _Call) -> _Reply:
    """A log (with the `offset` and `limit` go-tfe's log reader sends), a JSON plan or a state."""
    found = _archivist_object(call)
    state = call.state
    if found.kind == "log":
        run = state.plans.get(found.owner) or state.applies.get(found.owner)
        if run is None:
            raise _Answer(_Reply(404, b"not found", content_type="text/plain"))
        phase = run.plan if run.plan.id == found.owner else run.apply
        content = phase.log.render()
        offset = max(_int_or(call.query.get("offset"), 0), 0)
        limit = _int_or(call.query.get("limit"), len(content))
        return _Reply(200, content[offset : offset + max(limit, 0)], content_type="text/plain")
    if found.kind == "json-plan":
        plan_run = state.plans[found.owner]
        return _Reply(200, plan_run.plan.json_plan or b"", content_type="application/json")
    if found.kind == "state":
        return _Reply(200, state.state_versions[found.owner].raw, content_type="application/json")
    raise _Answer(_Reply(405, b"method not allowed", content_type="text/plain"))


@dataclass(frozen=True)
class _Route:
    spec: RouteSpec
    pattern: re.Pattern[str]
    handler: Callable[[_Call], _Reply]


def _route(
    method: str,
    template: str,
    handler: Callable[[_Call], _Reply],
    statuses: Collection[int],
    *,
    authenticated: bool = True,
    organization_token: bool = True,
) -> _Route:
    pattern = re.sub(r":(\w+)", r"(?P<\1>[^/]+)", re.escape(template))
    spec = RouteSpec(method, template, frozenset(statuses), authenticated, organization_token)
    return _Route(spec, re.compile(pattern), handler)


# Templates spell parameters as HashiCorp's documentation does (:run_id).
_ROUTES: tuple[_Route, ...] = (
    _route(
        "GET",
        f"{API}/organizations/:organization/workspaces/:name",
        _show_workspace_by_name,
        {200, 404},
    ),
    _route("GET", f"{API}/workspaces/:workspace_id", _show_workspace, {200, 404}),
    _route(
        "POST",
        f"{API}/workspaces/:workspace_id/configuration-versions",
        _create_configuration_version,
        {201, 404, 422},
        organization_token=False,
    ),
    _route("GET", f"{API}/configuration-versions/:cv_id", _show_configuration_version, {200, 404}),
    _route(
        "GET",
        f"{API}/configuration-versions/:cv_id/ingress-attributes",
        _show_ingress_attributes,
        {200, 404},
    ),
    _route("POST", f"{API}/runs", _create_run, {201, 404, 422}, organization_token=False),
    _route("GET", f"{API}/runs/:run_id", _show_run, {200, 404}),
    _route("GET", f"{API}/workspaces/:workspace_id/runs", _list_runs, {200, 404}),
    _route(
        "POST",
        f"{API}/runs/:run_id/actions/apply",
        _apply_run,
        {202, 404, 409},
        organization_token=False,
    ),
    _route(
        "POST",
        f"{API}/runs/:run_id/actions/discard",
        _discard_run,
        {202, 404, 409},
        organization_token=False,
    ),
    _route(
        "POST",
        f"{API}/runs/:run_id/actions/cancel",
        _cancel_run,
        {202, 404, 409},
        organization_token=False,
    ),
    _route("GET", f"{API}/runs/:run_id/policy-checks", _list_policy_checks, {200, 404}),
    _route("GET", f"{API}/policy-checks/:policy_check_id", _show_policy_check, {200, 404}),
    _route(
        "POST",
        f"{API}/policy-checks/:policy_check_id/actions/override",
        _override_policy_check,
        {200, 404, 409},
        organization_token=False,
    ),
    _route("GET", f"{API}/runs/:run_id/task-stages", _list_task_stages, {200, 404}),
    _route("GET", f"{API}/task-stages/:task_stage_id", _show_task_stage, {200, 404}),
    _route(
        "GET",
        f"{API}/task-stages/:task_stage_id/policy-evaluations",
        _list_policy_evaluations,
        {200, 404},
    ),
    _route(
        "GET",
        f"{API}/policy-evaluations/:policy_evaluation_id/policy-set-outcomes",
        _list_policy_set_outcomes,
        {200, 404},
    ),
    _route("GET", f"{API}/plans/:plan_id", _show_plan, {200, 404}),
    _route(
        "GET",
        f"{API}/plans/:plan_id/json-output",
        _plan_json_output,
        {204, 307, 404},
        organization_token=False,
    ),
    _route(
        "GET",
        f"{API}/runs/:run_id/plan/json-output",
        _run_plan_json_output,
        {204, 307, 404},
        organization_token=False,
    ),
    _route("GET", f"{API}/applies/:apply_id", _show_apply, {200, 404}),
    _route(
        "GET",
        f"{API}/workspaces/:workspace_id/current-state-version",
        _current_state_version,
        {200, 404},
    ),
    _route(
        "GET",
        f"{API}/workspaces/:workspace_id/current-state-version-outputs",
        _current_state_version_outputs,
        {200, 404, 503},
    ),
    _route("GET", f"{API}/state-versions/:state_version_id", _show_state_version, {200, 404}),
    _route(
        "GET",
        f"{API}/state-versions/:state_version_id/outputs",
        _list_state_version_outputs,
        {200, 404},
    ),
    _route(
        "GET", f"{API}/state-version-outputs/:output_id", _show_state_version_output, {200, 404}
    ),
    _route("PUT", f"{ARCHIVIST}/:key", _archivist_put, {200, 404, 405, 409}, authenticated=False),
    _route("GET", f"{ARCHIVIST}/:key", _archivist_get, {200, 404, 405}, authenticated=False),
)


def _match(method: str, path: str) -> tuple[_Route | None, dict[str, str]]:
    for route in _ROUTES:
        found = route.pattern.fullmatch(path)
        if found and route.spec.method == method:
            return route, {key: unquote(value) for key, value in found.groupdict().items()}
    return None, {}


# ---------------------------------------------------------------------------------------------
# Faults and rate limits


@dataclass
class _PathFailure:
    pattern: re.Pattern[str]
    method: str | None
    status: int
    remaining: int | None  # None: for ever
    reset_seconds: float
    retry_after: str | None


@dataclass
class _RateWindow:
    start: float
    count: int = 0


def _rate_limit_headers(limit: float, remaining: int, reset: float) -> tuple[tuple[str, str], ...]:
    """HashiCorp's headers; the reset is in seconds, a float (e.g. 0.734)."""
    return (
        ("X-RateLimit-Limit", f"{limit:g}"),
        ("X-RateLimit-Remaining", str(max(remaining, 0))),
        ("X-RateLimit-Reset", f"{max(reset, 0.0):.3f}"),
    )


def _too_many_requests(headers: tuple[tuple[str, str], ...]) -> _Reply:
    """The documentation's 429 document (its `status` is a number there)."""
    body = {
        "errors": [
            {
                "detail": "You have exceeded the API's rate limit.",
                "status": 429,
                "title": "Too many requests",
            }
        ]
    }
    return _Reply(429, body, headers)


# ---------------------------------------------------------------------------------------------
# The server


class TfcServer:
    """The stand-in, on 127.0.0.1 and a free port. Use as a context manager, or start()/stop().

    step_seconds: how long a run stays in each passing status (terraform's own time comes on top
    in planning and applying). state_processing_seconds: how long after an apply the new state
    version stays unprocessed (resources-processed false, its outputs answered 503).
    """

    def __init__(
        self,
        *,
        step_seconds: float = DEFAULT_STEP_SECONDS,
        state_processing_seconds: float = DEFAULT_STATE_PROCESSING_SECONDS,
        terraform: str = TERRAFORM,
    ) -> None:
        self.latency_seconds: float = 0.0  # slept before answering every request
        self._root = Path(tempfile.mkdtemp(prefix="tfc-stand-in-"))
        self._state = _State(self._root, terraform)
        self._state.step_seconds = step_seconds
        self._state.state_processing_seconds = state_processing_seconds
        self._log: dict[int, LoggedRequest] = {}  # by arrival number
        self._arrivals = 0
        self._path_failures: list[_PathFailure] = []
        self._rate_limit: float | None = None
        self._rate_windows: dict[str, _RateWindow] = {}
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._state.terraform_version()  # once, before any request waits on it under the lock
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="tfc-server",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, interrupt every run (its terraform killed) and delete every file."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._thread is not None:
            self._thread.join()
        self._http, self._thread = None, None
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
        """The server's address, for --tfc-address (the API is under /api/v2)."""
        if self._http is None:
            raise RuntimeError("the server is not started")
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    @staticmethod
    def routes() -> tuple[RouteSpec, ...]:
        return tuple(route.spec for route in _ROUTES)

    @property
    def step_seconds(self) -> float:
        return self._state.step_seconds

    @step_seconds.setter
    def step_seconds(self, seconds: float) -> None:
        with self._state.cond:
            self._state.step_seconds = seconds

    @property
    def json_plan_delay_seconds(self) -> float:
        """How long after its plan finishes a run's JSON plan is still answered 204."""
        return self._state.json_plan_delay_seconds

    @json_plan_delay_seconds.setter
    def json_plan_delay_seconds(self, seconds: float) -> None:
        with self._state.cond:
            self._state.json_plan_delay_seconds = seconds

    @property
    def state_processing_seconds(self) -> float:
        return self._state.state_processing_seconds

    @state_processing_seconds.setter
    def state_processing_seconds(self, seconds: float) -> None:
        with self._state.cond:
            self._state.state_processing_seconds = seconds

    # -- seeding --------------------------------------------------------------------------------

    def add_organization(self, name: str) -> None:
        with self._state.cond:
            self._state.organizations.setdefault(name, _Organization(name))

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
    ) -> str:
        """A workspace (API-driven, remote execution) and its id. Its optional stages:
        cost estimation, policy checks that pass, soft-fail or hard-fail, a policy evaluation
        in the post-plan task stage that passes or fails a mandatory policy, and run tasks
        (pre-plan, post-plan and pre-apply stages that pass)."""
        with self._state.cond:
            found = self._state.organizations.get(organization)
            if found is None:
                raise KeyError(f"no organization {organization!r}: add_organization() it first")
            if name in found.workspaces:
                raise ValueError(f"workspace {organization}/{name} exists")
            workspace_id = self._state.new_id("ws")
            (self._root / "states").mkdir(exist_ok=True)
            workspace = _Workspace(
                id=workspace_id,
                name=name,
                organization=organization,
                created_at=_iso_ms(),
                auto_apply=auto_apply,
                cost_estimation=cost_estimation,
                policies=policies,
                policy_evaluations=policy_evaluations,
                run_tasks=run_tasks,
                state_path=self._root / "states" / f"{workspace_id}.tfstate",
            )
            found.workspaces[name] = workspace
            self._state.workspaces[workspace_id] = workspace
            return workspace_id

    def add_token(self, token: str, kind: TokenKind = "team") -> None:
        """A token that sees every organization; an organization token cannot run."""
        if kind not in {"user", "team", "organization"}:
            raise ValueError(f"a token is a user, team or organization token, not {kind!r}")
        with self._state.cond:
            self._state.tokens[token] = kind

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

    def queue_vcs_run(
        self,
        organization: str,
        name: str,
        archive: bytes,
        *,
        commit_sha: str,
        branch: str = "main",
        message: str = "Merge pull request",
    ) -> str:
        """A run as a VCS push starts one: a configuration version from the commit (with its
        ingress attributes), uploaded, and a run queued from it. The run's id."""
        with self._state.cond:
            workspace = self._state.workspace(organization, name)
            version = self._state.create_configuration_version(
                workspace, auto_queue_runs=True, speculative=False
            )
            version.source = "github"
            version.archive = archive
            version.status = "uploaded"
            version.timestamps["uploaded-at"] = _iso()
            version.ingress = {
                "id": self._state.new_id("ia"),
                "branch": branch,
                "commit-sha": commit_sha,
                "commit-message": message,
                "identifier": f"{organization}/{name}",
                "is-pull-request": False,
                "on-default-branch": branch == "main",
            }
            run = self._state.create_run(
                workspace,
                version,
                message=message,
                plan_only=False,
                auto_apply=workspace.auto_apply,
                variables=[],
                source="tfe-configuration-version",
            )
            return run.id

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

    @property
    def errors(self) -> list[str]:
        """Bugs of the stand-in itself (a crashed handler or worker, an undeclared status)."""
        with self._state.cond:
            return list(self._state.errors)

    # -- the request log ------------------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every answered request, in arrival order."""
        with self._state.cond:
            return [self._log[number] for number in sorted(self._log)]

    def clear_requests(self) -> None:
        with self._state.cond:
            self._log.clear()

    def requests_to(self, route: str, method: str | None = None) -> list[LoggedRequest]:
        """The requests that matched a route template (e.g. "/api/v2/runs/:run_id")."""
        return [
            r for r in self.requests if r.route == route and (method is None or r.method == method)
        ]

    # -- faults and rate limits -----------------------------------------------------------------

    def rate_limit(self, per_second: float | None) -> None:
        """Allow per_second requests in each one-second window, per token (unauthenticated ones
        share one window), and answer 429 beyond; every answer then carries X-RateLimit-Limit,
        -Remaining and -Reset (seconds to the window's end, a float). None turns it off."""
        with self._state.cond:
            self._rate_limit = per_second
            self._rate_windows.clear()

    def fail_path(
        self,
        pattern: str,
        status: int = 503,
        times: int | None = 1,
        *,
        method: str | None = None,
        reset_seconds: float = 0.2,
        retry_after: str | None = None,
    ) -> None:
        """Answer the next `times` requests (None: all) whose path matches the regular
        expression (re.search) with status, before anything else. A 429 carries the rate limit
        headers with X-RateLimit-Reset = reset_seconds; retry_after adds Retry-After."""
        with self._state.cond:
            self._path_failures.append(
                _PathFailure(re.compile(pattern), method, status, times, reset_seconds, retry_after)
            )

    def clear_faults(self) -> None:
        with self._state.cond:
            self._path_failures.clear()
            self._rate_limit = None

    # -- answering ------------------------------------------------------------------------------

    def _answer(
        self, method: str, target: str, authorization: str | None, raw_body: bytes
    ) -> _Reply:
        with self._state.cond:
            self._arrivals += 1
            arrival = self._arrivals
        if self.latency_seconds > 0:
            time.sleep(self.latency_seconds)
        path, _, query = target.partition("?")
        route, params = _match(method, path)
        token = _token_of(authorization)
        with self._state.cond:
            reply = self._fault(method, unquote(path)) or self._limited(token)
            if reply is None:
                reply = self._serve(route, params, token, target=target, raw_body=raw_body)
            reply = self._with_rate_limit_headers(reply, token)
            run_status = None
            shows_run = route is not None and route.spec.template == f"{API}/runs/:run_id"
            if shows_run and reply.status == 200:
                run_status = self._state.runs[params["run_id"]].status
            self._log[arrival] = LoggedRequest(
                method,
                path,
                reply.status,
                time.monotonic(),
                query,
                route.spec.template if route else None,
                run_status,
            )
        return reply

    def _fault(self, method: str, decoded_path: str) -> _Reply | None:
        for failure in self._path_failures:
            if failure.remaining == 0 or failure.method not in {None, method}:
                continue
            if failure.pattern.search(decoded_path):
                if failure.remaining is not None:
                    failure.remaining -= 1
                headers: tuple[tuple[str, str], ...] = ()
                if failure.retry_after is not None:
                    headers = (("Retry-After", failure.retry_after),)
                if failure.status == 429:
                    limit = self._rate_limit or 30
                    headers += _rate_limit_headers(limit, 0, failure.reset_seconds)
                    return _too_many_requests(headers)
                return _Reply(
                    failure.status,
                    {"errors": [{"status": str(failure.status), "title": "injected fault"}]},
                    headers,
                )
        return None

    def _window(self, token: str | None) -> _RateWindow:
        key = token or "unauthenticated"
        now = time.monotonic()
        window = self._rate_windows.get(key)
        if window is None or now - window.start >= 1.0:
            window = self._rate_windows[key] = _RateWindow(now)
        return window

    def _limited(self, token: str | None) -> _Reply | None:
        if self._rate_limit is None:
            return None
        window = self._window(token)
        window.count += 1
        if window.count <= self._rate_limit:
            return None
        reset = window.start + 1.0 - time.monotonic()
        return _too_many_requests(_rate_limit_headers(self._rate_limit, 0, reset))

    def _with_rate_limit_headers(self, reply: _Reply, token: str | None) -> _Reply:
        if self._rate_limit is None or reply.status == 429:
            return reply
        window = self._window(token)
        remaining = int(self._rate_limit) - window.count
        reset = window.start + 1.0 - time.monotonic()
        headers = _rate_limit_headers(self._rate_limit, remaining, reset)
        return _Reply(reply.status, reply.body, reply.headers + headers, reply.content_type)

    def _serve(
        self,
        route: _Route | None,
        params: dict[str, str],
        token: str | None,
        *,
        target: str,
        raw_body: bytes,
    ) -> _Reply:
        """HashiCorp's checks in order: credentials, route, token kind, body; then the route."""
        authenticated = route is None or route.spec.authenticated
        if authenticated and (token is None or token not in self._state.tokens):
            return _error(401, "unauthorized").reply
        if route is None:
            return _not_found().reply
        if (
            not route.spec.organization_token
            and self._state.tokens.get(token or "") == "organization"
        ):
            return _error(403, "forbidden", _ORGANIZATION_TOKEN_FORBIDDEN).reply
        body: Any = raw_body
        if route.spec.authenticated:
            try:
                body = json.loads(raw_body) if raw_body.strip() else None
            except ValueError:
                return _error(400, "bad request", "the request body is not JSON").reply
        path, _, query = target.partition("?")
        call = _Call(self._state, params, dict(parse_qsl(query)), body, path, self.url)
        return self._run(route, call)

    def _run(self, route: _Route, call: _Call) -> _Reply:
        try:
            reply = route.handler(call)
        except _Answer as answer:
            reply = answer.reply
        except Exception as crash:  # a bug of the stand-in: answered 500 and kept for the tests
            self._state.errors.append(f"{route.spec.method} {route.spec.template}: {crash!r}")
            return _error(500, "internal server error", f"stand-in: {crash!r}").reply
        if reply.status not in route.spec.statuses | COMMON_STATUSES:
            self._state.errors.append(f"{route.spec.method} {route.spec.template}: {reply.status}")
            return _error(500, "internal server error", f"undeclared {reply.status}").reply
        return reply


def _token_of(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body: Content-Length, or chunked transfer encoding."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        return b"".join(_chunks(handler))
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _chunks(handler: BaseHTTPRequestHandler) -> Iterator[bytes]:
    while True:
        size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while handler.rfile.readline().strip():  # trailers, then the empty line
                pass
            return
        yield handler.rfile.read(size)
        handler.rfile.readline()  # the CRLF after each chunk


def _handler_class(server: TfcServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a requests.Session expects
        # Headers and body leave in two writes: without this, Nagle's algorithm and the client's
        # delayed ACK hold every answer back some 40 ms.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            raw_body = _read_body(self)
            reply = server._answer(  # the handler is part of the server
                self.command, self.path, self.headers.get("Authorization"), raw_body
            )
            if isinstance(reply.body, bytes):
                payload = reply.body
            else:
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.body is not None:
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: server.requests is the log."""

    return Handler
