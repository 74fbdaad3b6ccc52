"""tf-apply's cli engine: the terraform binary in the runner plans, and exactly the saved plan is
applied when the destroy guard allows it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from toto_actions import actions_runtime
from toto_actions.terraform.binary import TerraformCli
from toto_actions.terraform.engine import EngineResult, StepStatus, on_signals
from toto_actions.terraform.plan import Decision, decide, summarize


class CliSettings(NamedTuple):
    directory: Path
    workspace: str | None  # selected, created when missing
    variables: dict[str, str]
    var_file: Path | None
    backend_config: Path | None
    lock_timeout: str | None  # as terraform reads it, e.g. 5m
    plan_only: bool
    allow_destroy: bool


def plan_and_apply(settings: CliSettings) -> EngineResult:
    """init, select the workspace, plan to a file, and apply that plan unless the destroy guard
    stops it. A cancelled job interrupts terraform, which then releases its state lock."""
    terraform = TerraformCli(settings.directory)

    def stop(number: int) -> None:
        terraform.cancel()  # interrupts the child; terraform then releases its state lock
        raise KeyboardInterrupt

    with on_signals(stop):
        with actions_runtime.group("terraform init"):
            terraform.init(settings.backend_config, actions_runtime.info)
            if settings.workspace:
                terraform.select_workspace(settings.workspace, actions_runtime.info)
        plan_file = settings.directory.resolve() / ".toto-tf-apply.tfplan"
        try:
            return _plan_decide_apply(terraform, settings, plan_file)
        finally:
            plan_file.unlink(missing_ok=True)


def _plan_decide_apply(
    terraform: TerraformCli, settings: CliSettings, plan_file: Path
) -> EngineResult:
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
        outputs = None if settings.plan_only else terraform.outputs()
        return EngineResult(StepStatus.NO_CHANGES, summary, outputs)
    decision = decide(summary, plan_only=settings.plan_only, allow_destroy=settings.allow_destroy)
    if decision is Decision.STOP:
        return EngineResult(StepStatus.PLANNED, summary, None)
    if decision is Decision.REFUSE:
        return EngineResult(StepStatus.REFUSED, summary, None)
    with actions_runtime.group("terraform apply"):
        terraform.apply(plan_file, actions_runtime.info, lock_timeout=settings.lock_timeout)
    return EngineResult(StepStatus.APPLIED, summary, terraform.outputs())


def _mask_planned_outputs(json_plan: Mapping[str, Any]) -> None:
    """Mask the outputs' new values before the plan's text or the apply prints them."""
    for change in json_plan.get("output_changes", {}).values():
        after = change.get("after")
        if after is not None:
            actions_runtime.mask(
                after if isinstance(after, str) else json.dumps(after, separators=(",", ":"))
            )
