"""Following an HCP Terraform run: its documented statuses, in the phases tf-apply times out
separately, and what to do at each.

Plain values only; toto_actions/terraform/cloud_api.py fetches the runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

Phase = Literal["queue", "plan", "decide", "apply", "done", "failed"]

# Every status HashiCorp documents for a run, by the phase it belongs to. An unknown status (a
# newer one) counts as the phase the run was in, so the step keeps following rather than failing.
QUEUE_STATUSES = frozenset(
    {
        "pending",
        "fetching",
        "fetching_completed",
        "pre_plan_running",
        "pre_plan_completed",
        "queuing",
        "plan_queued",
    }
)
PLAN_STATUSES = frozenset(
    {
        "planning",
        "planned",
        "cost_estimating",
        "cost_estimated",
        "policy_checking",
        "policy_checked",
        "post_plan_running",
        "post_plan_completed",
        # "Saved plan run is ready to be confirmed for apply": confirmable, not final.
        "planned_and_saved",
    }
)
APPLY_STATUSES = frozenset(
    {
        "confirmed",
        "pre_apply_running",
        "pre_apply_completed",
        "queuing_apply",
        "apply_queued",
        "applying",
        "post_apply_running",
        "post_apply_completed",
    }
)
DONE_STATUSES = frozenset({"applied", "planned_and_finished"})
FAILED_STATUSES = frozenset({"errored", "discarded", "canceled", "force_canceled"})
# A policy or run task that a person must decide on: the step cannot, and says so.
NEEDS_A_PERSON = frozenset({"policy_override", "policy_soft_failed", "post_plan_awaiting_decision"})


class RunView(NamedTuple):
    """What the step needs of a run document."""

    id: str
    status: str
    is_confirmable: bool
    is_discardable: bool
    is_cancelable: bool
    position_in_queue: int | None
    plan_id: str | None
    apply_id: str | None
    configuration_version_id: str | None = None


def run_view(data: Mapping[str, Any]) -> RunView:
    """The RunView of a run's JSON:API resource (the runs API's `data`)."""
    attributes = data.get("attributes", {})
    actions = attributes.get("actions", {})
    relationships = data.get("relationships", {})

    def related(name: str) -> str | None:
        related_data = relationships.get(name, {}).get("data") or {}
        return related_data.get("id")

    return RunView(
        id=str(data["id"]),
        status=str(attributes.get("status", "")),
        is_confirmable=bool(actions.get("is-confirmable")),
        is_discardable=bool(actions.get("is-discardable")),
        is_cancelable=bool(actions.get("is-cancelable")),
        position_in_queue=attributes.get("position-in-queue"),
        plan_id=related("plan"),
        apply_id=related("apply"),
        configuration_version_id=related("configuration-version"),
    )


_PHASES: dict[str, Phase] = {
    **dict.fromkeys(QUEUE_STATUSES, "queue"),
    **dict.fromkeys(PLAN_STATUSES, "plan"),
    **dict.fromkeys(APPLY_STATUSES, "apply"),
    **dict.fromkeys(DONE_STATUSES, "done"),
    **dict.fromkeys(FAILED_STATUSES | NEEDS_A_PERSON, "failed"),
}


def phase_of(run: RunView, previous: Phase = "queue") -> Phase:
    """The phase a run is in. A confirmable run waits for the step's decision."""
    phase = _PHASES.get(run.status, previous)
    if phase in {"done", "failed"}:
        return phase
    return "decide" if run.is_confirmable else phase


def is_applying(run: RunView) -> bool:
    """Whether the run was confirmed and goes on to apply (or applies): past its decision."""
    return run.status in APPLY_STATUSES


def interruption(run: RunView) -> Literal["discard", "cancel"] | None:
    """How to release the workspace from a run this step created, when the job is cancelled:
    discard what waits (for a decision, or in the queue: the runs API's discard), cancel what
    plans (its cancel). None for a run that is over, and for one that applies: interrupting
    terraform mid-apply leaves resources half changed, so it is left to finish."""
    if run.status in DONE_STATUSES or run.status in FAILED_STATUSES or is_applying(run):
        return None
    if run.is_discardable:
        return "discard"
    if run.is_cancelable:
        return "cancel"
    return None


class PollPolicy(NamedTuple):
    """Polling backs off while nothing changes and starts quick again when something does."""

    first: float = 0.5
    factor: float = 1.5
    longest: float = 5.0

    def next_delay(self, delay: float, changed: bool) -> float:
        return self.first if changed else min(delay * self.factor, self.longest)
