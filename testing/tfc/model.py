"""The stand-in HCP Terraform's data: organizations, workspaces, configuration versions, runs
and their phases, policy checks and evaluations, state versions, archivist objects; the run
statuses of the API documentation; what the server reports of a run."""

from __future__ import annotations

import string
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

API = "/api/v2"
ARCHIVIST = "/_archivist/v1/object"  # where Terraform Enterprise serves its object storage
JSON_API = "application/vnd.api+json"
DEFAULT_STEP_SECONDS = 0.05
DEFAULT_STATE_PROCESSING_SECONDS = 0.3
JSON_PLAN_URL_SECONDS = 60.0  # "This temporary URL ... has a life of 1 minute"
TokenKind = Literal["user", "team", "organization"]
# HCP Terraform's fixed workspace permission sets, each holding the ones before it
# (testing/tfc/permissions.py).
WorkspaceAccess = Literal["read", "plan", "write", "admin"]
PolicyOutcome = Literal["pass", "soft_fail", "hard_fail"]
EvaluationOutcome = Literal["pass", "mandatory_fail"]
ObjectKind = Literal["upload", "log", "json-plan", "json-plan-redacted", "state"]

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
# The statuses of a run that goes through every stage and is applied, in the documentation's
# order (a stage the workspace lacks is skipped; policy_override only after a soft failure).
RUN_STATUS_ORDER = (
    "pending",
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
    "policy_override",
    "policy_checked",
    "post_plan_running",
    "post_plan_completed",
    "confirmed",
    "pre_apply_running",
    "pre_apply_completed",
    "apply_queued",
    "applying",
    "applied",
)
# Statuses that name a stage at work: cancel interrupts them. (policy_override waits.)
_WORKING_STATUSES = frozenset(RUN_STATUS_ORDER[1:-1]) - {"policy_override"}
ID_ALPHABET = string.ascii_letters + string.digits
_STX, _ETX = b"\x02", b"\x03"  # the archivist's start and end of a log


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
    refresh_only: bool = False


# ---------------------------------------------------------------------------------------------
# Time and identifiers


def iso(moment: datetime | None = None) -> str:
    """The form of HashiCorp's status timestamps: 2021-05-24T07:38:04+00:00."""
    return (moment or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def iso_ms() -> str:
    """The form of created-at: 2021-05-24T07:38:04.171Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def timestamp_key(status: str) -> str:
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


@dataclass(kw_only=True)
class _Stage:
    """A plan, an apply or a policy check: its status, and when it entered each (its
    status-timestamps)."""

    id: str
    status: str
    timestamps: dict[str, str] = field(default_factory=dict)

    def move(self, status: str, stamp: str) -> None:
        self.status = status
        self.timestamps[stamp] = iso()


@dataclass(kw_only=True)
class Phase(_Stage):
    """A plan or an apply: its status, timestamps, log and counts."""

    log_key: str
    status: str = "pending"
    log: _Log = field(default_factory=_Log)
    additions: int = 0
    changes: int = 0
    destructions: int = 0
    has_changes: bool = False
    json_plan: bytes | None = None  # plans only: `terraform show -json` of the saved plan
    json_plan_ready_at: float = 0.0  # plans only: time.monotonic() from which it is served
    state_version_ids: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class PolicyCheck(_Stage):
    outcome: PolicyOutcome
    status: str = "queued"


@dataclass
class PolicyEvaluation:
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
class Organization:
    name: str
    workspaces: dict[str, Workspace] = field(default_factory=dict)  # by name


@dataclass
class VcsRepo:
    """A workspace's VCS connection and its run triggers (workspaces API attributes)."""

    identifier: str
    default_branch: str  # the repository's, which an empty `branch` stands for
    branch: str = ""
    tags_regex: str | None = None
    file_triggers_enabled: bool = True
    trigger_patterns: tuple[str, ...] = ()
    trigger_prefixes: tuple[str, ...] = ()
    working_directory: str = ""
    speculative_enabled: bool = True
    queue_all_runs: bool = False


@dataclass
class Workspace:
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
    # Its environment variables (HCP Terraform's `env` category), in every run's terraform.
    environment: dict[str, str] = field(default_factory=dict)
    queue: list[Run] = field(default_factory=list)  # non-speculative, unfinished runs, in order
    runs: list[Run] = field(default_factory=list)
    state_versions: list[StateVersion] = field(default_factory=list)
    configuration_version_id: str | None = None  # the current one (what UI runs would use)
    finished_run_id: str | None = None  # the latest non-speculative run that finished
    vcs: VcsRepo | None = None  # set by connect_vcs()

    def active_run(self) -> Run | None:
        """The run holding the workspace: the head of the queue once it left pending."""
        if self.queue and self.queue[0].status != "pending":
            return self.queue[0]
        return None


@dataclass
class ConfigurationVersion:
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
class Run:
    id: str
    workspace: Workspace
    configuration_version: ConfigurationVersion
    message: str
    plan_only: bool
    auto_apply: bool
    variables: list[dict[str, str]]
    source: str
    created_at: str
    directory: Path
    plan: Phase
    apply: Phase
    policy_check: PolicyCheck | None
    policy_evaluation: PolicyEvaluation | None
    cost_estimate_id: str | None
    refresh_only: bool = False  # the refresh-only plan mode: what changed outside Terraform
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
class StateOutput:
    id: str
    name: str
    value: Any
    detailed_type: Any
    sensitive: bool


@dataclass
class StateVersion:
    id: str
    workspace_id: str
    run_id: str
    serial: int
    lineage: str
    created_at: str
    processed_at: float  # time.monotonic() after which resources-processed is true
    raw: bytes
    outputs: list[StateOutput]
    resources: list[dict[str, Any]]
    download_key: str

    def processed(self) -> bool:
        return time.monotonic() >= self.processed_at


@dataclass
class Object:
    """What an unauthenticated archivist URL points at."""

    kind: ObjectKind
    owner: str  # the id of the configuration version, plan, apply or state version
    expires_at: float | None = None


class Stopped(Exception):  # not an error: the server stops under a run's feet
    pass


class Ended(Exception):  # not an error: the run reached a final status, raised to unwind
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status
