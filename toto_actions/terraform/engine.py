"""What both tf-apply engines share: the result they hand back to the command, the masking of
its outputs, stopping when the job is cancelled, and what the run may do (RunChoices, with
the review a plan may be refused by).

Each engine (cli_engine.py, cloud_engine.py) offers `plan_and_apply(settings) -> EngineResult`.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import Enum
from typing import Any, NamedTuple

from toto_actions import actions_runtime
from toto_actions.interrupts import on_stopping_signals
from toto_actions.terraform.outputs import as_text, strings_within
from toto_actions.terraform.plan import Decision, PlanSummary, decide

# Called with the plan once the destroy guard let it through, just before it would be applied:
# None to apply it, or a one-line reason to refuse it (nothing is then applied).
Review = Callable[[PlanSummary], str | None]


class RunChoices(NamedTuple):
    """What the step's run may do, whichever engine runs it: plan only, or apply what the
    destroy guard and the review let through; and how long each phase may take."""

    plan_only: bool
    allow_destroy: bool
    plan_timeout: float  # seconds the plan may take
    apply_timeout: float  # seconds the apply may take
    refresh_only: bool = False  # a plan of what changed outside Terraform (with plan_only)
    review: Review | None = None  # asked once before an apply; a reason it returns refuses

    def decision(self, summary: PlanSummary) -> Decision:
        """What the destroy guard decides for this plan (before the review)."""
        return decide(summary, plan_only=self.plan_only, allow_destroy=self.allow_destroy)

    def refusal(self, summary: PlanSummary) -> str | None:
        """Why the review refuses a plan the destroy guard let through; None: apply it."""
        return None if self.review is None else self.review(summary)


class StepStatus(Enum):
    """How the step ended, as its `status` output says it."""

    APPLIED = "applied"
    NO_CHANGES = "no-changes"
    PLANNED = "planned"
    REFUSED = "refused"
    NO_RUN = "no-run"  # the workspace's VCS connection starts no run for the commit


class EngineResult(NamedTuple):
    status: StepStatus
    summary: PlanSummary
    outputs: dict[str, Any] | None  # in `terraform output -json` form; None when not applied
    run_id: str | None = None  # the HCP Terraform run (cloud)
    run_url: str | None = None
    refusal: str | None = None  # why the settings' review refused the plan (status REFUSED)
    reason: str | None = None  # why no run came (status NO_RUN)


def mask_outputs(outputs: Mapping[str, Mapping[str, Any]]) -> None:
    """Mask the value of each output (in `terraform output -json` form) that has one: a list
    or a map as the compact JSON that sync-secrets writes."""
    for output in outputs.values():
        mask_output_value(output.get("value"), sensitive=output.get("sensitive") is True)


def mask_output_value(value: object, *, sensitive: bool) -> None:
    """Mask an output's value: its text (a list or a map as compact JSON) and, for a
    sensitive one, every string within it too, which a log can show alone where it never
    shows the whole JSON. Not a public list's strings: a region or a team name masked would
    garble every line that names it."""
    text = as_text(value)
    if text is not None:
        actions_runtime.mask(text)
    if sensitive:
        for piece in strings_within(value):
            actions_runtime.mask(piece)


@contextmanager
def on_signals(handle: Callable[[int], None]) -> Iterator[None]:
    """While the block runs, SIGTERM and SIGINT (a cancelled job) call handle(signal number)."""

    def warned(number: int) -> None:
        actions_runtime.warning(f"received {signal.Signals(number).name}: stopping")
        handle(number)

    with on_stopping_signals(warned):
        yield
