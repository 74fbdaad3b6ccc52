"""The phases of an HCP Terraform run (toto_actions/terraform/runs.py), from the statuses of
the runs API page (developer.hashicorp.com/terraform/cloud-docs/api-docs/run)."""

from __future__ import annotations

from toto_actions.terraform.runs import RunView, interruption, phase_of


def run_in(status: str, *, confirmable: bool = False, discardable: bool = False) -> RunView:
    return RunView("run-1", status, confirmable, discardable, False, None, "plan-1", None)


def test_a_saved_plan_waits_for_a_decision_it_is_not_final() -> None:
    """planned_and_saved: "Saved plan run is ready to be confirmed for apply"."""
    saved = run_in("planned_and_saved", confirmable=True, discardable=True)
    assert phase_of(saved) == "decide"
    assert interruption(saved) == "discard"  # a cancelled job does not leave it waiting


def test_finished_runs_are_done() -> None:
    for status in ("applied", "planned_and_finished"):
        assert phase_of(run_in(status)) == "done"
        assert interruption(run_in(status)) is None
