"""Waiting for the run a workspace's VCS connection starts for a commit, and knowing when none
will come.

The runs list is asked for the commit's run first, at most once every 2 s (the endpoint allows
30 requests a minute: api-docs/run.mdx, "List Runs in a Workspace"). When it has none, the
workspace's VCS settings are read once: a workspace that never had a run fails at once (HCP
Terraform starts no VCS run before a first one is queued by hand); when its settings say HCP
Terraform starts no run for this push (vcs_trigger.py), the step keeps looking for a grace
period only, then ends without a run, with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

from toto_actions import actions_runtime
from toto_actions.errors import OperationError
from toto_actions.terraform.cloud_api import TfcError, Workspace
from toto_actions.terraform.cloud_vcs_api import VcsTfcClient
from toto_actions.terraform.engine import EngineResult, StepStatus
from toto_actions.terraform.plan import PlanSummary
from toto_actions.terraform.runs import RunView
from toto_actions.terraform.vcs_trigger import VcsEvent, accepts_vcs_runs, no_run_reason

RUNS_LIST_INTERVAL = 2.0  # seconds between two runs-list requests: 30 a minute
LONGEST_POLL = 10.0
DEFAULT_GRACE = 120.0


class NoRun(NamedTuple):
    """HCP Terraform starts no run for the commit, and why."""

    reason: str


class CommitRunWait(NamedTuple):
    commit: str
    speculative: bool  # a pull request's plan-only run
    queue_timeout: float
    grace: float  # how long to keep looking once the settings say no run comes
    event: VcsEvent | None  # None: what was pushed is unknown


def wait_for_commit_run(
    client: VcsTfcClient,
    workspace: Workspace,
    wait: CommitRunWait,
    sleep: Callable[[float], None] = time.sleep,
) -> RunView | NoRun:
    """The run for the commit once listed; NoRun when the workspace's settings say none comes
    and none came within the grace period. OperationError when the workspace never had a run,
    or no run came within the queue timeout."""
    started = time.monotonic()
    deadline = started + wait.queue_timeout
    reason: str | None = None
    settings_read = False
    delay = RUNS_LIST_INTERVAL
    while True:
        run = client.run_for_commit(workspace, wait.commit, speculative=wait.speculative)
        if run is not None:
            return run
        if not settings_read:
            settings_read = True
            reason = _no_run_reason(client, workspace, wait)
            if reason is not None:
                deadline = min(deadline, started + wait.grace)
        if time.monotonic() >= deadline:
            if reason is not None:
                return NoRun(reason)
            kind = "speculative run" if wait.speculative else "run"
            raise OperationError(
                f"no {kind} of {workspace.name} for commit {wait.commit} started within "
                f"{wait.queue_timeout:g} s"
            )
        sleep(max(min(delay, deadline - time.monotonic()), RUNS_LIST_INTERVAL))
        delay = min(delay * 1.5, LONGEST_POLL)


def _no_run_reason(client: VcsTfcClient, workspace: Workspace, wait: CommitRunWait) -> str | None:
    settings = client.vcs_settings(workspace)
    if not accepts_vcs_runs(settings):
        raise OperationError(
            f"{workspace.name} has never had a run, and HCP Terraform starts none from its VCS "
            "connection before the first: queue the initial run in HCP Terraform"
        )
    reason = no_run_reason(settings, wait.event)
    if reason is not None:
        actions_runtime.info(
            f"{reason}: HCP Terraform should start no run for {wait.commit}; looking for one "
            f"for {wait.grace:g} s"
        )
    return reason


def no_run_result(
    client: VcsTfcClient, workspace: Workspace, no_run: NoRun, *, plan_only: bool, timeout: float
) -> EngineResult:
    """The step's result without a run: the current state's outputs (so the sync that follows
    an apply still runs), none for a plan, nor for a workspace without a state yet."""
    actions_runtime.notice(f"no run of {workspace.name}: {no_run.reason}")
    outputs = None
    if not plan_only:
        try:
            outputs = client.outputs(workspace, timeout)
        except TfcError as problem:
            if problem.status != 404:
                raise
            actions_runtime.warning(f"{workspace.name} has no state yet: no outputs to write")
    summary = PlanSummary(0, 0, 0, ())
    return EngineResult(StepStatus.NO_RUN, summary, outputs, reason=no_run.reason)
