"""tf-apply's cli engine: the terraform binary in the runner plans, and exactly the plan the
destroy guard checked is applied.

One `terraform apply` plans, shows its plan as text and waits for approval; the guard reads that
text (plan_text.py, trusted only when its resources add up to terraform's own counts) and
approves or declines (after it, the settings' review may decline too), so terraform starts as
often as a plain `init`, `apply`, `output`, and the plan applied is the plan shown. The log
shows no value: the plan's resource headers and counts, the apply's lines without resource
IDs, no output (tf-apply masks each when it writes them).
A text the guard cannot read with certainty is declined, and the step plans the exact way: a
saved plan, its changes from the machine-readable stream (`show -json` for a `replace`), that
saved plan applied, a sensitive output's value read with `output -json`. A
plan-only run prints terraform's own plan, for people to review, and reads the saved plan with
`show -json`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from toto_actions import actions_runtime
from toto_actions.terraform import json_ui, plan_text
from toto_actions.terraform.binary import TerraformCli
from toto_actions.terraform.engine import (
    EngineResult,
    RunChoices,
    StepStatus,
    mask_output_value,
    mask_outputs,
    on_signals,
)
from toto_actions.terraform.plan import (
    Decision,
    PlanSummary,
    summarize,
    summarize_drift,
    summarize_planned_changes,
)


class CliSettings(NamedTuple):
    directory: Path
    workspace: str | None  # selected, created when missing
    variables: dict[str, str]
    var_file: Path | None
    backend_config: Path | None
    lock_timeout: str | None  # as terraform reads it, e.g. 5m
    choices: RunChoices


class _Planned(NamedTuple):
    changes: bool  # whether anything, even an output alone, would change
    summary: PlanSummary


def plan_and_apply(settings: CliSettings) -> EngineResult:
    """init, select the workspace, plan to a file, and apply that plan unless the destroy guard
    stops it. A cancelled job interrupts terraform, which then releases its state lock; so does
    a plan or an apply that outlasts its timeout."""
    terraform = TerraformCli(settings.directory, on_warning=actions_runtime.warning)

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
    # The text an apply asks approval with shows no planned value a reviewed plan's digest
    # covers: with a review, the saved plan is read as JSON (_plan_streamed) and applied.
    if not settings.choices.plan_only and settings.choices.review is None:
        reviewed = _apply_reviewed(terraform, settings)
        if reviewed is not None:
            return reviewed
    with actions_runtime.group("terraform plan"):
        if settings.choices.plan_only:
            planned = _plan_for_review(terraform, settings, plan_file)
        else:
            planned = _plan_streamed(terraform, settings, plan_file)
    summary = planned.summary
    if not planned.changes:  # nothing, not even an output, would change
        outputs = None if settings.choices.plan_only else terraform.outputs()
        return EngineResult(StepStatus.NO_CHANGES, summary, outputs)
    decision = settings.choices.decision(summary)
    if decision is Decision.STOP:
        return EngineResult(StepStatus.PLANNED, summary, None)
    if decision is Decision.REFUSE:
        return EngineResult(StepStatus.REFUSED, summary, None)
    refusal = settings.choices.refusal(summary)
    if refusal is not None:  # the saved plan is deleted unapplied
        return EngineResult(StepStatus.REFUSED, summary, None, refusal=refusal)
    with actions_runtime.group("terraform apply"):
        outputs = _apply(terraform, settings, plan_file)
    return EngineResult(StepStatus.APPLIED, summary, outputs)


def _apply_reviewed(terraform: TerraformCli, settings: CliSettings) -> EngineResult | None:
    """Plan and apply in one terraform process, the destroy guard reading the plan's text
    and then the settings' review before it approves; None when that text could not be read
    with certainty (the plan was declined, nothing applied: the caller plans again the exact
    way)."""
    reviewed: list[tuple[PlanSummary, Decision, str | None] | None] = []

    def review(lines: list[str]) -> bool:
        for line in plan_text.plan_log(lines):
            actions_runtime.info(line)
        summary = plan_text.summarize_plan_text(lines)
        if summary is None:
            reviewed.append(None)
            actions_runtime.info("the plan's text is not one this version reads: planning again")
            return False
        decision = settings.choices.decision(summary)  # not plan-only: this path applies
        refusal = settings.choices.refusal(summary) if decision is Decision.APPLY else None
        reviewed.append((summary, decision, refusal))
        return decision is Decision.APPLY and refusal is None

    with actions_runtime.group("terraform apply"):
        _, planned = terraform.apply_reviewed(
            (settings.variables, settings.var_file, settings.lock_timeout),
            review,
            actions_runtime.info,
            plan_timeout=settings.choices.plan_timeout,
            apply_timeout=settings.choices.apply_timeout,
        )
    if not reviewed:  # no approval asked: nothing to change
        for line in plan_text.plan_log(planned):
            actions_runtime.info(line)
        return EngineResult(StepStatus.NO_CHANGES, PlanSummary(0, 0, 0, ()), _outputs(terraform))
    if reviewed[0] is None:
        return None
    summary, decision, refusal = reviewed[0]
    if decision is Decision.REFUSE or refusal is not None:
        return EngineResult(StepStatus.REFUSED, summary, None, refusal=refusal)
    return EngineResult(StepStatus.APPLIED, summary, _outputs(terraform))


def _outputs(terraform: TerraformCli) -> dict[str, Any]:
    """The workspace's outputs (none of them printed: tf-apply masks each when it writes them)."""
    return terraform.outputs()


def _plan(
    terraform: TerraformCli,
    settings: CliSettings,
    plan_file: Path,
    on_line: Callable[[str], None],
    on_message: Callable[[json_ui.Message], None] | None = None,
) -> bool:
    """terraform plan into plan_file with the step's inputs; whether it changes anything. A
    plan-only run (a pull request's plan, a drift check) takes no state lock: it never applies,
    and a pull request's run must not hold (or wait for) the lock an apply needs."""
    return terraform.plan(
        plan_file,
        settings.variables,
        settings.var_file,
        settings.lock_timeout,
        destroy=False,
        on_line=on_line,
        on_message=on_message,
        timeout=settings.choices.plan_timeout,
        refresh_only=settings.choices.refresh_only,
        lock=not settings.choices.plan_only,
    )


def _plan_streamed(terraform: TerraformCli, settings: CliSettings, plan_file: Path) -> _Planned:
    """Plan with the machine-readable UI, whose log shows no value (outputs are listed by name),
    so it prints as it comes; the summary from its planned changes, else from the saved plan."""
    streamed: list[tuple[str, str]] = []

    def on_message(message: json_ui.Message) -> None:
        change = json_ui.planned_change(message)
        if change is not None:
            streamed.append(change)

    changes = _plan(terraform, settings, plan_file, actions_runtime.info, on_message)
    summary = None if settings.choices.review is not None else summarize_planned_changes(streamed)
    if summary is None:  # the JSON plan also holds the planned values a review compares
        summary = summarize(terraform.show_plan(plan_file))
    return _Planned(changes, summary)


def _plan_for_review(terraform: TerraformCli, settings: CliSettings, plan_file: Path) -> _Planned:
    """Plan with terraform's own text, every attribute's change shown; that text shows the
    outputs' new values too, so it is printed once they are masked."""
    printed: list[str] = []
    try:
        changes = _plan(terraform, settings, plan_file, printed.append)
        json_plan = terraform.show_plan(plan_file)
        _mask_planned_outputs(json_plan)
    finally:
        for line in printed:
            actions_runtime.info(line)
    if settings.choices.refresh_only:
        # terraform's exit code says changes for a refresh-only plan whose configuration
        # differs from the state, drift or not: the drifted resources decide.
        drift = summarize_drift(json_plan)
        return _Planned(drift.has_changes, drift)
    return _Planned(changes, summarize(json_plan))


def _apply(terraform: TerraformCli, settings: CliSettings, plan_file: Path) -> dict[str, Any]:
    """Apply the saved plan; its outputs, each value masked before the apply's last line (the
    outputs' count) prints. A sensitive value, which the stream leaves out, is read with
    `terraform output -json`."""
    reported: list[dict[str, dict[str, Any]]] = []

    def on_message(message: json_ui.Message) -> None:
        outputs = json_ui.outputs(message)
        if outputs is not None:
            mask_outputs(outputs)
            reported.append(outputs)

    terraform.apply(
        plan_file,
        actions_runtime.info,
        lock_timeout=settings.lock_timeout,
        on_message=on_message,
        timeout=settings.choices.apply_timeout,
    )
    if len(reported) != 1 or any(o.get("sensitive") for o in reported[0].values()):
        return terraform.outputs()
    return reported[0]


def _mask_planned_outputs(json_plan: Mapping[str, Any]) -> None:
    """Mask the outputs' new values before the plan's text prints them (a sensitive one's
    strings each, as mask_output_value does)."""
    for change in json_plan.get("output_changes", {}).values():
        after = change.get("after")
        if after is not None:
            mask_output_value(after, sensitive=change.get("after_sensitive") is True)
