"""`toto-actions tf-apply`: plan and apply one workspace, on HCP Terraform or with the CLI.

Safe by default: a plan that destroys or replaces anything is not applied unless
--allow-destroy; the plan is reported (counts and resources) whatever happens; the applied
outputs are written in `terraform output -json` form for sync-secrets, masked and never printed.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple

from toto_actions import actions_runtime
from toto_actions.errors import OperationError, UsageError
from toto_actions.options import GivenOptions, Option
from toto_actions.terraform.archive import config_archive
from toto_actions.terraform.binary import TerraformCli
from toto_actions.terraform.cloud_api import DEFAULT_ADDRESS, TfcClient, Workspace
from toto_actions.terraform.plan import (
    PlanSummary,
    ResourceChange,
    plan_markdown,
    summarize,
)
from toto_actions.terraform.runs import NEEDS_A_PERSON, PollPolicy, RunView, interruption, phase_of
from toto_actions.terraform.variables import declared_variables, parse_variables, run_variable

ENGINES = ("cloud", "cli")
TRUE_OR_FALSE = ("true", "false")
_SHORTEST_MASKED = 4  # the runner drops every step output holding a masked text: "1" would go

OPTIONS = (
    Option(
        "--engine",
        "run Terraform on HCP Terraform (cloud) or with the CLI (default cloud)",
        choices=ENGINES,
    ),
    Option("--working-directory", "the Terraform configuration (default .)", metavar="DIR"),
    Option(
        "--var",
        "a variable, NAME=VALUE; repeat it, or one per line in the action input",
        metavar="NAME=VALUE",
        repeated=True,
    ),
    Option("--var-file", "a .tfvars file (cli engine)", metavar="FILE"),
    Option("--workspace", "the workspace (cloud: required; cli: selected, created when missing)"),
    Option(
        "--allow-destroy",
        "apply a plan that destroys or replaces resources (default false)",
        choices=TRUE_OR_FALSE,
    ),
    Option("--plan-only", "stop after the plan (default false)", choices=TRUE_OR_FALSE),
    Option(
        "--outputs-file",
        "where to write the applied outputs, as `terraform output -json` "
        "(default RUNNER_TEMP or the temporary directory)",
        metavar="PATH",
    ),
    Option("--message", "the run's message (cloud)"),
    Option(
        "--queue-timeout", "seconds a run may wait to start planning (default 1800)", metavar="S"
    ),
    Option("--plan-timeout", "seconds the plan may take (default 1800)", metavar="S"),
    Option("--apply-timeout", "seconds the apply may take (default 3600)", metavar="S"),
    Option("--backend-config", "a file of backend settings for init (cli)", metavar="FILE"),
    Option("--lock-timeout", "how long to wait for the state lock (cli), e.g. 5m"),
    Option(
        "--tfc-organization",
        "HCP Terraform organization",
        fallback_variable="TF_CLOUD_ORGANIZATION",
    ),
    Option(
        "--tfc-address",
        "HCP Terraform or Enterprise address (default https://app.terraform.io)",
        fallback_variable="TF_CLOUD_ADDRESS",
    ),
    Option("--tfc-token", "a user or team API token", fallback_variable="TF_API_TOKEN"),
    Option(
        "--run-source",
        "cloud: upload the directory (default), or follow the run the "
        "workspace's VCS connection started for --commit",
        choices=("upload", "vcs"),
    ),
    Option(
        "--commit",
        "cloud, --run-source vcs: the commit whose run to follow",
        fallback_variable="GITHUB_SHA",
    ),
)


class ApplySettings(NamedTuple):
    engine: str
    directory: Path
    variables: dict[str, str]
    var_file: Path | None
    workspace: str | None
    allow_destroy: bool
    plan_only: bool
    outputs_file: Path
    message: str
    queue_timeout: float
    plan_timeout: float
    apply_timeout: float
    backend_config: Path | None
    lock_timeout: str | None


class Outcome(NamedTuple):
    status: str  # applied, no-changes, planned, refused
    summary: PlanSummary
    outputs: dict[str, Any] | None
    run_id: str | None = None
    run_url: str | None = None


def run(given: GivenOptions) -> int:
    """Plan and apply; exit 0, 1 when the run failed or was refused, 2 on bad input."""
    settings = _settings(given)
    outcome = _run_cli(settings) if settings.engine == "cli" else _run_cloud(settings, given)
    return _report(settings, outcome)


def _settings(given: GivenOptions) -> ApplySettings:
    problems: list[str] = []
    directory = Path(str(given.get("working-directory", ".")))
    if not directory.is_dir():
        problems.append(f"working directory {str(directory)!r} is not a directory")
    variables = parse_variables(str(given.get("var", "")).splitlines())
    var_file = _existing(problems, given, "var-file")
    backend_config = _existing(problems, given, "backend-config")
    engine = str(given.get("engine", "cloud"))
    workspace = str(given["workspace"]) if given.get("workspace") else None
    if engine == "cloud" and not workspace:
        problems.append("--workspace is required with the cloud engine")
    only = {
        "cli": ("var-file", "backend-config", "lock-timeout"),
        "cloud": ("tfc-organization", "tfc-token", "run-source", "message"),
    }
    for other_engine, keys in only.items():
        if engine != other_engine:
            problems += [
                f"--{key} applies to the {other_engine} engine only"
                for key in keys
                if given.get(key) and key != "message"
            ]
    if given.get("run-source") == "vcs" and (variables or var_file):
        problems.append("--var and --var-file cannot reach a run the VCS connection started")
    timeouts = {
        key: _seconds(problems, given, key, default)
        for key, default in (
            ("queue-timeout", 1800.0),
            ("plan-timeout", 1800.0),
            ("apply-timeout", 3600.0),
        )
    }
    if problems:
        raise UsageError("\n".join(problems))
    return ApplySettings(
        engine=engine,
        directory=directory,
        variables=variables,
        var_file=var_file,
        workspace=workspace,
        allow_destroy=given.get("allow-destroy") == "true",
        plan_only=given.get("plan-only") == "true",
        outputs_file=Path(str(given["outputs-file"]))
        if given.get("outputs-file")
        else _default_outputs_file(workspace),
        message=str(given.get("message", "Applied by toto-actions tf-apply")),
        queue_timeout=timeouts["queue-timeout"],
        plan_timeout=timeouts["plan-timeout"],
        apply_timeout=timeouts["apply-timeout"],
        backend_config=backend_config,
        lock_timeout=str(given["lock-timeout"]) if given.get("lock-timeout") else None,
    )


def _existing(problems: list[str], given: GivenOptions, key: str) -> Path | None:
    if not given.get(key):
        return None
    path = Path(str(given[key]))
    if not path.is_file():
        problems.append(f"--{key} {str(path)!r} does not exist")
    return path


def _seconds(problems: list[str], given: GivenOptions, key: str, default: float) -> float:
    raw = given.get(key)
    if raw is None:
        return default
    try:
        value = float(str(raw))
    except ValueError:
        value = -1.0
    if value <= 0:
        problems.append(f"--{key} {raw!r}: expected a number of seconds")
    return value


def _default_outputs_file(workspace: str | None) -> Path:
    directory = Path(os.environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    # Not named after the workspace: a step output holding a masked text (`prod`) is dropped.
    return directory / "terraform-outputs.json"


def _mask(value: str) -> None:
    if len(value) >= _SHORTEST_MASKED:
        actions_runtime.mask(value)


def _run_cli(settings: ApplySettings) -> Outcome:
    terraform = TerraformCli(settings.directory)

    def stop(number: int) -> None:
        terraform.cancel()  # interrupts the child; terraform then releases its state lock
        raise KeyboardInterrupt

    with _on_signals(stop):
        with actions_runtime.group("terraform init"):
            terraform.init(settings.backend_config, actions_runtime.info)
            if settings.workspace:
                terraform.select_workspace(settings.workspace, actions_runtime.info)
        plan_file = settings.directory.resolve() / ".toto-tf-apply.tfplan"
        try:
            # The plan's text shows the outputs' new values: it is printed once they are masked.
            plan_text: list[str] = []
            with actions_runtime.group("terraform plan"):
                try:
                    changes = terraform.plan(
                        plan_file,
                        settings.variables,
                        settings.var_file,
                        settings.lock_timeout,
                        destroy=False,
                        on_line=plan_text.append,
                    )
                    json_plan = terraform.show_plan(plan_file)
                    _mask_planned_outputs(json_plan)
                finally:
                    for line in plan_text:
                        actions_runtime.info(line)
            summary = summarize(json_plan)
            if not changes:  # nothing, not even an output, would change
                return Outcome("no-changes", summary, _cli_outputs(terraform, settings))
            if settings.plan_only:
                return Outcome("planned", summary, None)
            if summary.destroyed() and not settings.allow_destroy:
                return Outcome("refused", summary, None)
            with actions_runtime.group("terraform apply"):
                terraform.apply(plan_file, actions_runtime.info, lock_timeout=settings.lock_timeout)
            return Outcome("applied", summary, _cli_outputs(terraform, settings))
        finally:
            plan_file.unlink(missing_ok=True)


def _mask_planned_outputs(json_plan: Mapping[str, Any]) -> None:
    """Mask the outputs' new values before the plan's text or the apply prints them."""
    for change in json_plan.get("output_changes", {}).values():
        after = change.get("after")
        if after is not None:
            _mask(after if isinstance(after, str) else json.dumps(after, separators=(",", ":")))


def _cli_outputs(terraform: TerraformCli, settings: ApplySettings) -> dict[str, Any] | None:
    if settings.plan_only:
        return None
    outputs: dict[str, Any] = terraform.outputs()
    return outputs


@contextmanager
def _on_signals(handle: Callable[[int], None]) -> Iterator[None]:
    """While the block runs, SIGTERM and SIGINT (a cancelled job) call handle(signal number)."""

    def handler(number: int, frame: FrameType | None) -> None:
        actions_runtime.warning(f"received {signal.Signals(number).name}: stopping")
        handle(number)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _interrupt(number: int) -> None:
    """Only unwind: the code that unwinds releases what it holds (a run), outside the handler,
    whose thread may hold a lock the release needs."""
    raise KeyboardInterrupt


def _report(settings: ApplySettings, outcome: Outcome) -> int:
    summary = outcome.summary
    if outcome.outputs is not None:
        _write_outputs(settings.outputs_file, outcome.outputs)
        actions_runtime.set_output("outputs-file", str(settings.outputs_file))
    values = {
        "status": outcome.status,
        "add": str(summary.add),
        "change": str(summary.change),
        "destroy": str(summary.destroy),
        "run-id": outcome.run_id or "",
        "run-url": outcome.run_url or "",
    }
    for name, value in values.items():
        actions_runtime.set_output(name, value)
    actions_runtime.add_summary(
        plan_markdown(summary, outcome.run_url) + f"\n\nResult: **{outcome.status}**"
    )
    actions_runtime.info(
        f"{outcome.status}: {summary.add} to add, {summary.change} to change, "
        f"{summary.destroy} to destroy"
    )
    if outcome.status == "refused":
        destroyed = ", ".join(f"{r.address} ({r.action})" for r in summary.destroyed())
        raise OperationError(
            f"the plan destroys or replaces {destroyed}: not applied; pass "
            "--allow-destroy true to apply it"
        )
    return 0


def _write_outputs(path: Path, outputs: Mapping[str, Any]) -> None:
    """Write the outputs (sensitive values included, for sync-secrets), masking every value
    first; the file is readable by its owner only."""
    for output in outputs.values():
        value = output.get("value")
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        _mask(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(outputs, handle, indent=2)


# -- the cloud engine -------------------------------------------------------------------------


def _run_cloud(settings: ApplySettings, given: GivenOptions) -> Outcome:
    token = str(given.get("tfc-token", ""))
    organization = str(given.get("tfc-organization", ""))
    if not token:
        raise UsageError("no HCP Terraform token: set TF_API_TOKEN (a user or team token)")
    if not organization:
        raise UsageError(
            "no HCP Terraform organization: pass --tfc-organization or set TF_CLOUD_ORGANIZATION"
        )
    actions_runtime.mask(token)
    client = TfcClient(str(given.get("tfc-address", DEFAULT_ADDRESS)), token, organization)
    workspace = client.workspace(settings.workspace or "")
    # The runs this step creates say auto-apply: false, which overrides the workspace's setting;
    # a run the VCS connection started follows the workspace.
    if workspace.auto_apply and given.get("run-source") == "vcs" and not settings.allow_destroy:
        actions_runtime.warning(
            f"{workspace.name} applies its runs by itself: a destroying "
            "plan can be applied before this step can discard it"
        )
    follower = _RunFollower(client, settings, workspace)
    run: RunView | None = None
    with _on_signals(_interrupt):
        try:
            run = _start_run(client, workspace, settings, given)
            actions_runtime.info(f"run {run.id}: {workspace.html_url}/runs/{run.id}")
            return follower.to_the_end(run)
        except BaseException:
            if run is not None:
                follower.release(run.id)  # a run this step started must not hold the workspace
            raise


def _start_run(
    client: TfcClient, workspace: Workspace, settings: ApplySettings, given: GivenOptions
) -> RunView:
    if given.get("run-source") == "vcs":
        return _vcs_run(client, workspace, str(given.get("commit", "")), settings.queue_timeout)
    declared = declared_variables(settings.directory)
    values = {**_tf_vars_from_environment(declared), **settings.variables}
    literals = {name: run_variable(value, declared.get(name)) for name, value in values.items()}
    version = client.upload_configuration(
        workspace,
        config_archive(settings.directory),
        settings.queue_timeout,
        speculative=settings.plan_only,
    )
    return client.create_run(workspace, version, literals, settings.message, settings.plan_only)


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
        _mask(value)  # secrets, already masked by the runner; masked here for laptops too
    return found


def _vcs_run(client: TfcClient, workspace: Workspace, commit: str, timeout: float) -> RunView:
    if not commit:
        raise UsageError("--run-source vcs needs --commit (or GITHUB_SHA)")
    deadline = time.monotonic() + timeout
    while True:
        run = client.run_for_commit(workspace, commit)
        if run is not None:
            return run
        if time.monotonic() > deadline:
            raise OperationError(
                f"no run of {workspace.name} for commit {commit} started within {timeout:g} s"
            )
        time.sleep(5)


class _RunFollower:
    """Follows one run through its phases, deciding when it waits for a decision."""

    def __init__(self, client: TfcClient, settings: ApplySettings, workspace: Workspace) -> None:
        self._client = client
        self._settings = settings
        self._workspace = workspace
        self._poll = PollPolicy()

    def to_the_end(self, run: RunView) -> Outcome:
        run_url = f"{self._workspace.html_url}/runs/{run.id}"
        run = self._follow(run, stop_at={"decide", "done", "failed"})
        self._fail_if_failed(run)
        summary = self._summary(run)
        if run.status == "planned_and_finished":
            planned = self._settings.plan_only and summary.has_changes
            outputs = None if self._settings.plan_only else self._outputs()
            return Outcome(
                "planned" if planned else "no-changes", summary, outputs, run.id, run_url
            )
        if self._settings.plan_only:
            self._client.act(run, "discard", "plan only")
            return Outcome("planned", summary, None, run.id, run_url)
        if summary.destroyed() and not self._settings.allow_destroy:
            if self._client.act(run, "discard", "the plan destroys resources: refused"):
                return Outcome("refused", summary, None, run.id, run_url)
            raise OperationError(
                f"run {run.id} destroys {', '.join(r.address for r in summary.destroyed())} "
                "and could not be discarded (the workspace applies by itself?): see " + run_url
            )
        if not self._client.act(run, "apply", "applied by toto-actions tf-apply"):
            actions_runtime.info(f"run {run.id} moved on before the apply: following it")
        run = self._follow(self._client.run(run.id), stop_at={"done", "failed"})
        self._fail_if_failed(run)
        return Outcome("applied", summary, self._outputs(), run.id, run_url)

    def _outputs(self) -> dict[str, Any]:
        return self._client.outputs(self._workspace, self._settings.apply_timeout)

    def release(self, run_id: str) -> None:
        """On cancellation: discard the run if it waits, cancel it if it plans or applies."""
        try:
            run = self._client.run(run_id)
            action = interruption(run)
            if action and self._client.act(run, action, "the step ended before the run did"):
                actions_runtime.warning(
                    f"run {run_id}: {action}ed, so it does not hold the workspace"
                )
        except (OperationError, UsageError) as problem:  # reported; the first error stands
            actions_runtime.warning(f"run {run_id} could not be released: {problem}")

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
                "plan": self._settings.plan_timeout,
                "apply": self._settings.apply_timeout,
            }.get(phase, self._settings.plan_timeout)
            if time.monotonic() - phase_started > limit:
                self._client.act(run, "discard" if run.is_discardable else "cancel", "timeout")
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
                self._client.act(run, "discard", "tf-apply does not override policies")
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
        """The tail of the apply's log when the apply had begun, else of the plan's."""
        tail = (
            self._client.log_tail(self._client.apply_log_url(run.apply_id))
            if (run.apply_id)
            else ""
        )
        if not tail and run.plan_id:
            tail = self._client.log_tail(self._client.plan(run.plan_id).log_url)
        return tail

    def _summary(self, run: RunView) -> PlanSummary:
        """From the JSON plan; without it (a token that may not read it, or not ready in time),
        from the plan's counts, a destroying plan then standing for one unnamed resource, so the
        guard still holds: never from an empty answer."""
        if not run.plan_id:
            return PlanSummary(0, 0, 0, ())
        try:
            json_plan = self._client.plan_json(run.plan_id)
            if json_plan is not None:
                return summarize(json_plan)
            actions_runtime.warning("the JSON plan is not ready: using the plan's counts")
        except OperationError as problem:
            actions_runtime.warning(f"no JSON plan ({problem}): using the plan's counts")
        counts = self._client.plan(run.plan_id)
        unnamed = (ResourceChange("(resources the JSON plan would name)", "delete"),)
        return PlanSummary(
            counts.additions,
            counts.changes,
            counts.destructions,
            unnamed if counts.destructions else (),
        )


def _queue_position(run: RunView) -> str:
    return f", position {run.position_in_queue} in the queue" if run.position_in_queue else ""
