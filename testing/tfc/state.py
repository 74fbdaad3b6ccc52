"""Everything the stand-in HCP Terraform holds, and the workers that move runs. Guarded by the
state's condition variable."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from testing.tfc.model import (
    DEFAULT_STATE_PROCESSING_SECONDS,
    DEFAULT_STEP_SECONDS,
    ID_ALPHABET,
    ConfigurationVersion,
    Object,
    ObjectKind,
    Organization,
    Phase,
    PolicyCheck,
    PolicyEvaluation,
    Run,
    StateOutput,
    StateVersion,
    StatusChange,
    TokenKind,
    Workspace,
    WorkspaceAccess,
    iso,
    iso_ms,
    timestamp_key,
)
from testing.tfc.run_worker import RunWorker


class State:
    """Everything the server holds, and the workers that move runs. Guarded by `cond`."""

    def __init__(self, root: Path, terraform: str) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.root = root
        self.terraform = terraform
        # terraform's CLI configuration in the runs: a provider_installation block stands for
        # the registry HCP Terraform downloads providers from.
        self.cli_config = ""
        self.step_seconds = DEFAULT_STEP_SECONDS
        self.state_processing_seconds = DEFAULT_STATE_PROCESSING_SECONDS
        self.organizations: dict[str, Organization] = {}
        self.workspaces: dict[str, Workspace] = {}
        self.configuration_versions: dict[str, ConfigurationVersion] = {}
        self.runs: dict[str, Run] = {}
        self.plans: dict[str, Run] = {}  # plan id -> run
        self.applies: dict[str, Run] = {}  # apply id -> run
        self.policy_checks: dict[str, Run] = {}
        self.task_stages: dict[str, Run] = {}  # task stage id -> run
        self.policy_evaluations: dict[str, Run] = {}  # policy evaluation id -> run
        self.json_plan_delay_seconds = 0.0
        self.state_versions: dict[str, StateVersion] = {}
        self.outputs: dict[str, StateOutput] = {}
        self.objects: dict[str, Object] = {}
        self.tokens: dict[str, TokenKind] = {}
        self.workspace_access: dict[str, WorkspaceAccess] = {}  # by token; absent: admin
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []
        self.stopping = False
        self._random = random.Random(0)  # ids that repeat from one run of the suite to the next
        self._terraform_version: str | None = None

    # -- ids and lookups ------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-" + "".join(self._random.choice(ID_ALPHABET) for _ in range(16))

    def new_object(self, kind: ObjectKind, owner: str, ttl: float | None) -> str:
        key = "".join(self._random.choice(ID_ALPHABET) for _ in range(40))
        expires = None if ttl is None else time.monotonic() + ttl
        self.objects[key] = Object(kind, owner, expires)
        return key

    def workspace(self, organization: str, name: str) -> Workspace:
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

    def terraform_environment(self, workspace: Workspace | None = None) -> dict[str, str]:
        """A clean environment: nothing of the test process (TF_VAR_*, AWS_*) leaks into a run;
        only the workspace's own environment variables."""
        config = self.root / "terraformrc"
        if not config.exists():
            config.write_text(self.cli_config)
        return {
            **(workspace.environment if workspace else {}),
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
        workspace: Workspace,
        *,
        auto_queue_runs: bool,
        speculative: bool,
        provisional: bool = False,
    ) -> ConfigurationVersion:
        cv_id = self.new_id("cv")
        version = ConfigurationVersion(
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

    def make_current(self, workspace: Workspace, version: ConfigurationVersion) -> None:
        """A provisional version whose run applied: current, "unless a newer one exists"."""
        current = self.configuration_versions.get(workspace.configuration_version_id or "")
        if current is None or current.number < version.number:
            workspace.configuration_version_id = version.id

    def create_run(
        self,
        workspace: Workspace,
        version: ConfigurationVersion,
        *,
        message: str,
        plan_only: bool,
        auto_apply: bool,
        variables: list[dict[str, str]],
        source: str,
        refresh_only: bool = False,
    ) -> Run:
        run_id = self.new_id("run")
        plan_id, apply_id = self.new_id("plan"), self.new_id("apply")
        policy_check = None
        if workspace.policies is not None:
            policy_check = PolicyCheck(id=self.new_id("polchk"), outcome=workspace.policies)
        evaluation = None
        if workspace.policy_evaluations is not None:
            evaluation = PolicyEvaluation(
                self.new_id("ts"),
                self.new_id("poleval"),
                self.new_id("psout"),
                workspace.policy_evaluations,
            )
        run = Run(
            id=run_id,
            workspace=workspace,
            configuration_version=version,
            message=message,
            plan_only=plan_only or version.speculative,
            auto_apply=auto_apply,
            variables=variables,
            source=source,
            created_at=iso_ms(),
            directory=self.root / "runs" / run_id,
            plan=Phase(id=plan_id, log_key=self.new_object("log", plan_id, None)),
            apply=Phase(id=apply_id, log_key=self.new_object("log", apply_id, None)),
            policy_check=policy_check,
            policy_evaluation=evaluation,
            cost_estimate_id=self.new_id("ce") if workspace.cost_estimation else None,
            refresh_only=refresh_only,
        )
        run.plan.timestamps["pending-at"] = iso()
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
        self.start_thread(f"tfc-{run_id}", RunWorker(self, run).drive)
        return run

    def start_thread(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self.threads.append(thread)
        thread.start()

    # -- moving runs (called under cond) --------------------------------------------------------

    def set_status(self, run: Run, status: str, *, waiting: bool = False) -> None:
        run.status = status
        run.waiting = waiting
        run.timestamps[timestamp_key(status)] = iso()
        run.changes.append(StatusChange(status, time.monotonic()))
        self.cond.notify_all()

    def finish(self, run: Run, status: str) -> None:
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

    def add_state_version(self, run: Run) -> None:
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
            StateOutput(
                self.new_id("wsout"),
                name,
                output.get("value"),
                output.get("type"),
                bool(output.get("sensitive", False)),
            )
            for name, output in sorted(document.get("outputs", {}).items())
        ]
        sv_id = self.new_id("sv")
        version = StateVersion(
            id=sv_id,
            workspace_id=workspace.id,
            run_id=run.id,
            serial=serial,
            lineage=str(document.get("lineage", "")),
            created_at=iso_ms(),
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
