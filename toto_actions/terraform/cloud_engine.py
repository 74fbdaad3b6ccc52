"""tf-apply's cloud engine: a run on HCP Terraform, from an upload of the directory or started by
the workspace's VCS connection, followed through its phases and applied only when confirmable and
the destroy guard and the settings' review allow it. A failure or a cancelled job releases the
run this step started (found by its configuration version when the answer to its creation was
lost), unless that run applies already. With plan_only, a VCS-started run is the workspace's own
speculative run of the commit (a pull request's head), only followed: never discarded, cancelled
or confirmed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from toto_actions import actions_runtime
from toto_actions.errors import OperationError, UsageError
from toto_actions.terraform import cloud_vcs_api
from toto_actions.terraform.archive import config_archive
from toto_actions.terraform.cloud_api import TfcClient, TfcError, Workspace
from toto_actions.terraform.cloud_plan import REFUSED, plan_summary
from toto_actions.terraform.diagnostics import without_warnings
from toto_actions.terraform.engine import EngineResult, RunChoices, StepStatus, on_signals
from toto_actions.terraform.plan import Decision, PlanSummary
from toto_actions.terraform.runs import (
    NEEDS_A_PERSON,
    PollPolicy,
    RunView,
    interruption,
    is_applying,
    phase_of,
)
from toto_actions.terraform.variables import declared_variables, run_variable
from toto_actions.terraform.vcs_trigger import VcsEvent
from toto_actions.terraform.vcs_wait import (
    DEFAULT_GRACE,
    CommitRunWait,
    NoRun,
    no_run_result,
    wait_for_commit_run,
)

CREATE_ATTEMPTS = 3  # POSTs of a run whose answers are lost before the step gives up


class CloudSettings(NamedTuple):
    address: str
    token: str
    organization: str
    workspace: str
    directory: Path
    variables: dict[str, str]
    vcs_commit: str | None  # follow the run the VCS connection started for it; None: upload
    message: str
    choices: RunChoices
    queue_timeout: float  # seconds the run may wait in the queue
    vcs_event: VcsEvent | None = None  # with vcs_commit: what was pushed, when known
    no_run_grace: float = DEFAULT_GRACE  # with vcs_commit: the wait once no run should come


def plan_and_apply(settings: CloudSettings) -> EngineResult:
    """Start (or find) the run, follow it to the end, and apply it unless the destroy guard
    stops it; a failure or a cancelled job releases the run this step started, unless it
    applies already."""
    actions_runtime.mask(settings.token)
    client = cloud_vcs_api.VcsTfcClient(settings.address, settings.token, settings.organization)
    workspace = client.workspace(settings.workspace)
    # The runs this step creates say auto-apply: false, which overrides the workspace's setting;
    # a run the VCS connection started follows the workspace.
    applies = not settings.choices.plan_only and not settings.choices.allow_destroy
    if workspace.auto_apply and settings.vcs_commit and applies:
        actions_runtime.warning(
            f"{workspace.name} applies its runs by itself: a destroying "
            "plan can be applied before this step can discard it"
        )
    follower = _RunFollower(client, settings, workspace)
    started = _Started()
    cancellation = _Cancellation()
    with on_signals(cancellation):
        try:
            run = _start_run(client, workspace, settings, started)
            if isinstance(run, NoRun):
                return no_run_result(
                    client,
                    workspace,
                    run,
                    plan_only=settings.choices.plan_only,
                    timeout=settings.choices.apply_timeout,
                )
            actions_runtime.info(f"run {run.id}: {follower.url(run.id)}")
            return follower.to_the_end(run)
        except BaseException:
            cancellation.unwinding = True  # a second signal must not cut the release short
            follower.release(started)  # a run this step started must not hold the workspace
            raise


class _Cancellation:
    """SIGINT and SIGTERM (a cancelled job, or one that timed out: the runner sends SIGINT,
    then SIGTERM 7.5 s later, then kills) only unwind, once: the code that unwinds releases
    the run, outside the handler, whose thread may hold a lock the release needs, and a
    later signal must not interrupt that release."""

    def __init__(self) -> None:
        self.unwinding = False

    def __call__(self, number: int) -> None:
        if not self.unwinding:
            self.unwinding = True
            raise KeyboardInterrupt


@dataclass
class _Started:
    """What this step started on HCP Terraform: the configuration version it uploaded, and its
    run once known (its creation answered, or the VCS run found)."""

    version: str | None = None
    run: RunView | None = None


def _start_run(
    client: cloud_vcs_api.VcsTfcClient,
    workspace: Workspace,
    settings: CloudSettings,
    started: _Started,
) -> RunView | NoRun:
    if settings.vcs_commit:
        run = _vcs_run(client, workspace, settings, settings.vcs_commit)
        # A speculative run is the pull request's, not this step's.
        if not settings.choices.plan_only and not isinstance(run, NoRun):
            started.run = run
        return run
    declared = declared_variables(settings.directory)
    values = {**_tf_vars_from_environment(declared), **settings.variables}
    literals = {name: run_variable(value, declared.get(name)) for name, value in values.items()}
    started.version = client.upload_configuration(
        workspace,
        config_archive(settings.directory),
        settings.queue_timeout,
        speculative=settings.choices.plan_only,
    )
    started.run = _create_run(client, workspace, started.version, literals, settings)
    return started.run


def _create_run(
    client: TfcClient,
    workspace: Workspace,
    version: str,
    variables: Mapping[str, str],
    settings: CloudSettings,
) -> RunView:
    """Create the run. When the answer is lost (none, or a server error), the server may have
    created it: the version is this step's own and queues no run by itself, so a run of it is
    the one asked for, with these very attributes, and is followed rather than doubled by a
    second POST; without one, the POST is sent again."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            return client.create_run(
                workspace,
                version,
                variables,
                settings.message,
                settings.choices.plan_only,
                refresh_only=settings.choices.refresh_only,
            )
        except TfcError as problem:
            if not problem.unanswered or attempt == CREATE_ATTEMPTS:
                raise
            try:
                created = client.runs_of_configuration_version(workspace, version)
            except TfcError as unknown:
                raise OperationError(
                    f"{problem}, and its runs cannot be listed: {unknown}"
                ) from unknown
            if created:
                actions_runtime.warning(
                    f"{problem}; the run was created: following {created[0].id}"
                )
                return created[0]
            actions_runtime.warning(f"{problem}; no run was created: asking again")
            time.sleep(attempt)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _tf_vars_from_environment(declared: Mapping[str, str | None]) -> dict[str, str]:
    """TF_VAR_<name> of this step's environment, for the variables the configuration declares.

    On HCP Terraform, Terraform runs on HashiCorp's servers, where the runner's environment is not:
    such variables go as run variables instead (the rendered workflows pass the core secrets this
    way). Undeclared ones are left out, as the CLI ignores them: HCP Terraform would refuse them.
    """
    # The one read of the environment outside the CLI and Actions layers: these variables are
    # named by the configuration, not by an option.
    found = {
        name.removeprefix("TF_VAR_"): value
        for name, value in os.environ.items()
        if name.startswith("TF_VAR_") and name.removeprefix("TF_VAR_") in declared
    }
    for value in found.values():
        actions_runtime.mask(
            value
        )  # secrets, already masked by the runner; masked here for laptops too
    return found


def _vcs_run(
    client: cloud_vcs_api.VcsTfcClient,
    workspace: Workspace,
    settings: CloudSettings,
    commit: str,
) -> RunView | NoRun:
    """The run the VCS connection started for the commit: with plan_only, the speculative run
    of a pull request whose head it is; else the run of a push. NoRun when the workspace's
    settings say none comes, and none came."""
    wait = CommitRunWait(
        commit,
        settings.choices.plan_only,
        settings.queue_timeout,
        settings.no_run_grace,
        settings.vcs_event,
    )
    return wait_for_commit_run(client, workspace, wait)


class _RunFollower:
    """Follows one run through its phases, deciding when it waits for a decision."""

    def __init__(self, client: TfcClient, settings: CloudSettings, workspace: Workspace) -> None:
        self._client = client
        self._settings = settings
        self._workspace = workspace
        self._poll = PollPolicy()
        # Runs discarded or cancelled (or whose stop was refused): nothing left to release.
        self._stopped: set[str] = set()
        # A pull request's speculative run belongs to the workspace's VCS connection: followed
        # and reported only, whatever happens to this step.
        self._owns_run = not (settings.vcs_commit and settings.choices.plan_only)

    def to_the_end(self, run: RunView) -> EngineResult:
        """Follow the run to its plan, decide, and follow the apply when there is one."""
        run_id, run_url = run.id, self.url(run.id)
        run = self._follow(run, stop_at={"decide", "done", "failed"})
        self._fail_if_failed(run)
        summary = self._summary(run)

        def result(status: StepStatus, outputs: dict[str, Any] | None) -> EngineResult:
            return EngineResult(status, summary, outputs, run_id, run_url)

        choices = self._settings.choices
        plan_only = choices.plan_only
        if run.status == "planned_and_finished":
            planned = plan_only and summary.has_changes
            outputs = None if plan_only else self._outputs()
            return result(StepStatus.PLANNED if planned else StepStatus.NO_CHANGES, outputs)
        decision = choices.decision(summary)
        if decision is Decision.STOP:
            self._act(run, "discard", "plan only")
            return result(StepStatus.PLANNED, None)
        if decision is Decision.REFUSE:
            if self._act(run, "discard", "the plan destroys resources: refused"):
                return result(StepStatus.REFUSED, None)
            raise OperationError(
                f"run {run.id} destroys {', '.join(r.address for r in summary.destroyed())} "
                "and could not be discarded (the workspace applies by itself?): see " + run_url
            )
        refusal = choices.refusal(summary)
        if refusal is not None:
            if self._act(run, "discard", f"not applied: {refusal}"):
                return result(StepStatus.REFUSED, None)._replace(refusal=refusal)
            raise OperationError(
                f"run {run.id} was refused ({refusal}) and could not be discarded "
                "(the workspace applies by itself?): see " + run_url
            )
        if not self._act(run, "apply", "applied by toto-actions tf-apply"):
            actions_runtime.info(f"run {run.id} moved on before the apply: following it")
        run = self._follow(self._client.run(run.id), stop_at={"done", "failed"})
        self._fail_if_failed(run)
        return result(StepStatus.APPLIED, self._outputs())

    def _outputs(self) -> dict[str, Any]:
        return self._client.outputs(self._workspace, self._settings.choices.apply_timeout)

    def url(self, run_id: str) -> str:
        return f"{self._workspace.html_url}/runs/{run_id}"

    def release(self, started: _Started) -> None:
        """On failure or cancellation: release the run this step started or, when its creation
        was never answered, whatever run its configuration version has. What cannot be done is
        a warning: the step's own error stands."""
        try:
            if started.run is not None:
                runs = [started.run]
            elif started.version is not None:
                runs = self._client.runs_of_configuration_version(self._workspace, started.version)
            else:
                return
            for run in runs:
                if run.id not in self._stopped:
                    self._release(run.id)
        except (OperationError, UsageError) as problem:
            actions_runtime.warning(f"the run this step started could not be released: {problem}")

    def _release(self, run_id: str) -> None:
        """Discard the run if it waits, cancel it if it plans; leave it to finish once it was
        confirmed: an apply stopped midway leaves resources half changed."""
        run = self._client.run(run_id)
        if is_applying(run):
            actions_runtime.warning(
                f"run {run_id} is {run.status}: left to finish, as stopping an apply midway "
                f"leaves resources half changed; follow it at {self.url(run_id)}"
            )
            return
        action = interruption(run)
        if action and self._act(run, action, "the step ended before the run did"):
            actions_runtime.warning(f"run {run_id}: {action}ed, so it does not hold the workspace")

    def _act(self, run: RunView, action: str, comment: str) -> bool:
        """The client's act, remembering a run this step discarded or cancelled; never on a
        run the step does not own."""
        if not self._owns_run:
            return False
        acted = self._client.act(run, action, comment)
        if acted and action in {"discard", "cancel"}:
            self._stopped.add(run.id)
        return acted

    def _stop_or_warn(self, run: RunView, action: str, comment: str) -> None:
        """Discard or cancel a run on the way to the step's own error (a timeout, a decision
        left to a person); what HCP Terraform refuses (a token that may not apply runs may not
        discard or cancel them either: run API) is a warning, never in place of that error, and
        is not asked again on release."""
        try:
            self._act(run, action, comment)
        except (OperationError, UsageError) as problem:
            needs = (
                f": {action}ing a run needs permission to apply runs in the workspace"
                if isinstance(problem, TfcError) and problem.status in REFUSED
                else ""
            )
            actions_runtime.warning(f"run {run.id} could not be {action}ed ({problem}){needs}")
            self._stopped.add(run.id)  # the same token would be refused again

    def _follow(self, run: RunView, stop_at: set[str]) -> RunView:
        phase = phase_of(run)
        phase_started = last_lock_check = time.monotonic()
        delay = self._poll.first
        actions_runtime.info(f"run {run.id}: {run.status}{_queue_position(run)}")
        while phase not in stop_at:
            if run.status == "pending" and time.monotonic() - last_lock_check > 2 * delay:
                last_lock_check = time.monotonic()
                holder = self._client.lock_holder(self._workspace)
                if holder:
                    raise OperationError(f"workspace {self._workspace.name} is locked by {holder}")
            limit = {
                "queue": self._settings.queue_timeout,
                "plan": self._settings.choices.plan_timeout,
                "apply": self._settings.choices.apply_timeout,
            }.get(phase, self._settings.choices.plan_timeout)
            if time.monotonic() - phase_started > limit:
                self._stop_or_warn(run, "discard" if run.is_discardable else "cancel", "timeout")
                raise OperationError(
                    f"run {run.id} timed out in its {phase} phase after "
                    f"{limit:g} s (status {run.status})"
                )
            time.sleep(delay)
            latest = self._client.run(run.id)
            changed = latest.status != run.status or (
                latest.position_in_queue != run.position_in_queue
            )
            if changed:
                actions_runtime.info(f"run {latest.id}: {latest.status}{_queue_position(latest)}")
            new_phase = phase_of(latest, phase)
            if new_phase != phase:
                phase, phase_started = new_phase, time.monotonic()
            delay = self._poll.next_delay(delay, changed)
            run = latest
        return run

    def _fail_if_failed(self, run: RunView) -> None:
        if run.status in {"applied", "planned_and_finished"} or (run.is_confirmable):
            return
        if run.status == "errored":
            failed_policies = self._failed_policies(run.id)
            if failed_policies:
                raise OperationError(f"run {run.id}: policies failed: {', '.join(failed_policies)}")
            log = self._log_tail(run)
            raise OperationError(f"run {run.id} errored" + (f":\n{log}" if log else ""))
        if run.status in NEEDS_A_PERSON:
            if run.is_discardable:
                self._stop_or_warn(run, "discard", "tf-apply does not override policies")
            raise OperationError(
                f"run {run.id} stopped at {run.status}: a policy or run task "
                "needs a person's decision in HCP Terraform"
            )
        raise OperationError(f"run {run.id} ended {run.status}")

    def _failed_policies(self, run_id: str) -> list[str]:
        """From policy checks and from policy evaluations; what cannot be read is a warning,
        never in place of the run's own error."""
        failed: list[str] = []
        for read in (self._client.policy_check_failures, self._client.policy_evaluation_failures):
            try:
                failed += read(run_id)
            except (OperationError, UsageError) as problem:
                actions_runtime.warning(
                    f"run {run_id}: policy results could not be read: {problem}"
                )
        return failed

    def _log_tail(self, run: RunView) -> str:
        """The tail of the apply's log when the apply had begun, else of the plan's, its
        warnings reported as warnings; a log that cannot be read is a warning, never in place
        of the run's own error."""
        try:
            lines = self._read_log_tail(run).splitlines()
            return "\n".join(without_warnings(lines, actions_runtime.warning))
        except (OperationError, UsageError) as problem:
            actions_runtime.warning(f"run {run.id}: its log could not be read: {problem}")
            return ""

    def _read_log_tail(self, run: RunView) -> str:
        tail = (
            self._client.log_tail(self._client.apply_log_url(run.apply_id))
            if (run.apply_id)
            else ""
        )
        if not tail and run.plan_id:
            tail = self._client.log_tail(self._client.plan(run.plan_id).log_url)
        return tail

    def _summary(self, run: RunView) -> PlanSummary:
        """From the JSON plan, else the redacted one, else the plan's counts (cloud_plan.py)."""
        if not run.plan_id:
            return PlanSummary(0, 0, 0, ())
        return plan_summary(
            self._client, run.plan_id, refresh_only=self._settings.choices.refresh_only
        )


def _queue_position(run: RunView) -> str:
    return f", position {run.position_in_queue} in the queue" if run.position_in_queue else ""
