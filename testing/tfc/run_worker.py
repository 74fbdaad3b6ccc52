"""The run worker: one thread per run walks it through the documented statuses and runs the real
terraform (init, plan -out, show -json, apply) outside the lock."""

from __future__ import annotations

import io
import json
import re
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from testing.tfc.model import (
    Ended,
    Phase,
    Run,
    Stopped,
    iso,
)

if TYPE_CHECKING:
    from testing.tfc.state import (
        State,
    )

_APPLY_SUMMARY = re.compile(r"Resources: (\d+) added, (\d+) changed, (\d+) destroyed")


# ---------------------------------------------------------------------------------------------
# The run worker: one thread per run walks it through the statuses and runs terraform.


class RunWorker:
    """Moves one run from pending to a final status. Terraform runs outside the lock."""

    def __init__(self, state: State, run: Run) -> None:
        self.state = state
        self.run = run
        self.cond = state.cond

    def drive(self) -> None:
        try:
            self._wait_for_turn()
            self._plan()
            self._checks_and_confirmation()
            self._apply()
        except Ended as ended:
            with self.cond:
                self.state.finish(self.run, ended.status)
        except Stopped:
            return
        except Exception as crash:  # a bug of the stand-in: the run errors, the tests see it
            with self.cond:
                self.state.errors.append(f"run {self.run.id}: {crash!r}")
                self.state.finish(self.run, "errored")

    # -- pauses that honour discard, cancel and stop --------------------------------------------

    def _interruption(self) -> None:
        """Raise what a pending request or the server's stop means (called under cond)."""
        if self.state.stopping:
            raise Stopped
        requested = self.run.requested
        if requested in {"cancel", "discard", "force_cancel"}:
            final = {"cancel": "canceled", "discard": "discarded", "force_cancel": "force_canceled"}
            raise Ended(final[requested])

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

    def _start_phase(self, phase: Phase, queued: str, running: str) -> None:
        """The phase queued while the run is in `queued`, then running (its log started) as the
        run enters `running`."""
        with self.cond:
            phase.move("queued", "queued-at")
        self._step(queued)
        with self.cond:
            self._interruption()
            self.state.set_status(self.run, running)
            phase.move("running", "started-at")
            phase.log.started = True

    # -- the plan -------------------------------------------------------------------------------

    def _plan(self) -> None:
        run = self.run
        self._step("fetching")
        self._step("fetching_completed")
        if run.workspace.run_tasks:
            self._step("pre_plan_running")
            self._step("pre_plan_completed")
        self._step("queuing")
        self._start_phase(run.plan, "plan_queued", "planning")
        succeeded = self._terraform_plan()
        with self.cond:
            self._interruption()
            if not succeeded:
                run.plan.move("errored", "errored-at")
                raise Ended("errored")
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
        if run.refresh_only:
            arguments.append("-refresh-only")
        exit_code = self._terraform(run.plan, arguments, config)
        if exit_code not in {0, 2}:
            return False
        shown = subprocess.run(
            [self.state.terraform, "show", "-json", str(plan_file)],
            cwd=config,
            capture_output=True,
            env=self.state.terraform_environment(self.run.workspace),
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

    def _terraform(self, phase: Phase, arguments: list[str], cwd: Path) -> int:
        """Run terraform, its output appended to the phase's log as it comes; its exit code.
        A cancel sends it SIGINT (terraform's graceful stop), a force-cancel SIGKILL."""
        process = subprocess.Popen(
            [self.state.terraform, *arguments],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.state.terraform_environment(self.run.workspace),
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

    def _log(self, phase: Phase, text: str) -> None:
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
        raise Ended("planned_and_finished")

    def _policy_outcome(self) -> None:
        """After policy_checking: pass on, pause in policy_override, or end the run."""
        run = self.run
        check = run.policy_check
        assert check is not None  # only called when the workspace has policies
        with self.cond:
            check.timestamps["queued-at"] = run.timestamps.get("policy-checking-at", iso())
            if check.outcome == "pass":
                check.move("passed", "passed-at")
                return
            if check.outcome == "hard_fail":
                check.move("hard_failed", "hard-failed-at")
                raise Ended("errored")
            check.move("soft_failed", "soft-failed-at")
            if run.plan_only:
                raise Ended("policy_soft_failed")
        self._wait_for_decision("policy_override", {"override"})
        with self.cond:
            check.move("overridden", "overridden-at")

    def _evaluation_moves(self, status: str) -> None:
        evaluation = self.run.policy_evaluation
        if evaluation is not None:
            with self.cond:
                evaluation.stage_status = evaluation.status = status
                evaluation.timestamps[f"{status}-at"] = iso()

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
            raise Ended("errored")

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
        self._start_phase(run.apply, "apply_queued", "applying")
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
                raise Ended("applied")
            self._interruption()  # canceled (or stopped) rather than errored
            run.apply.move("errored", "errored-at")
        raise Ended("errored")


def _unpack(archive: bytes, destination: Path) -> None:
    """A configuration version's tar.gz into destination; no member may land outside it."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(destination, filter="data")


def check_archive(archive: bytes) -> str | None:
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
