"""The phases of an HCP Terraform run (toto_actions/terraform/runs.py), from the statuses of
the runs API page (developer.hashicorp.com/terraform/cloud-docs/api-docs/run)."""

from __future__ import annotations

from toto_actions.terraform.runs import RunView, interruption, is_applying, phase_of, run_view


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


def test_a_run_past_its_decision_is_left_to_apply() -> None:
    """A cancelled job discards a waiting run and cancels a planning one (runs API: discard is
    for runs "paused waiting for confirmation or priority", cancel for runs "planning or
    applying"), but never stops an apply midway: from confirmed on, it is left to finish."""
    for status in ("confirmed", "apply_queued", "applying", "post_apply_running"):
        applying = RunView("run-1", status, False, False, True, None, "plan-1", "apply-1")
        assert is_applying(applying)
        assert interruption(applying) is None
    planning = RunView("run-1", "planning", False, False, True, None, "plan-1", None)
    assert not is_applying(planning)
    assert interruption(planning) == "cancel"
    assert interruption(run_in("pending", discardable=True)) == "discard"


def test_a_run_document_names_its_configuration_version() -> None:
    document = {
        "id": "run-1",
        "attributes": {"status": "pending", "actions": {"is-discardable": True}},
        "relationships": {
            "configuration-version": {"data": {"id": "cv-1", "type": "configuration-versions"}},
            "plan": {"data": {"id": "plan-1", "type": "plans"}},
        },
    }
    run = run_view(document)
    assert (run.configuration_version_id, run.plan_id, run.is_discardable) == (
        "cv-1",
        "plan-1",
        True,
    )
