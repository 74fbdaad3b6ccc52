"""Plan summaries and the destroy guard's decision."""

from __future__ import annotations

import pytest

from toto_actions.terraform.plan import (
    Decision,
    PlanSummary,
    ResourceChange,
    decide,
    plan_markdown,
    summarize,
    summarize_planned_changes,
)


def change(address: str, *actions: str) -> dict[str, object]:
    return {"address": address, "change": {"actions": list(actions)}}


JSON_PLAN = {
    "format_version": "1.2",
    "resource_changes": [
        change("terraform_data.new", "create"),
        change("terraform_data.tag", "update"),
        change("terraform_data.gone", "delete"),
        change("terraform_data.swap", "delete", "create"),
        change("terraform_data.swap_first", "create", "delete"),
        change("terraform_data.same", "no-op"),
        change("data.terraform_remote_state.core", "read"),
    ],
}


def test_counts_follow_terraform_a_replacement_adds_and_destroys() -> None:
    summary = summarize(JSON_PLAN)
    assert (summary.add, summary.change, summary.destroy) == (3, 1, 3)
    assert summary.has_changes
    assert [r.address for r in summary.destroyed()] == [
        "terraform_data.gone",
        "terraform_data.swap",
        "terraform_data.swap_first",
    ]


def test_an_empty_plan_has_no_changes() -> None:
    summary = summarize({"resource_changes": [change("terraform_data.same", "no-op")]})
    assert summary == PlanSummary(0, 0, 0, ())
    assert not summary.has_changes and summary.destroyed() == []


def test_the_summary_lists_resources_by_action_and_links_the_run() -> None:
    summary = PlanSummary(1, 0, 1, (ResourceChange("terraform_data.a", "replace"),))
    markdown = plan_markdown(summary, "https://app.terraform.io/app/acme/workspaces/w/runs/run-1")
    assert "**1 to add, 0 to change, 1 to destroy.**" in markdown
    assert "| replace | `terraform_data.a` |" in markdown
    assert "(https://app.terraform.io/app/acme/workspaces/w/runs/run-1)" in markdown


# Terraform's "forget" (a `removed` block with `lifecycle { destroy = false }`): the object leaves
# the state and stays where it is. terraform 1.11 writes ["forget"] for it in `show -json` and
# counts it nowhere in "Plan: 0 to add, 0 to change, 0 to destroy."; a replacement whose old
# object is forgotten is ["create", "forget"] (Terraform's plans.CreateThenForget).
def test_a_forget_is_shown_and_destroys_nothing() -> None:
    summary = summarize({"resource_changes": [change("terraform_data.kept", "forget")]})
    kept = ResourceChange("terraform_data.kept", "forget", "null")  # no `after`: it leaves
    assert summary == PlanSummary(0, 0, 0, (kept,))
    assert summary.has_changes  # the state changes: plan-only reports it, an apply applies it
    assert summary.destroyed() == []
    assert "| forget | `terraform_data.kept` |" in plan_markdown(summary)


def test_a_create_that_forgets_the_old_object_counts_as_a_create() -> None:
    summary = summarize({"resource_changes": [change("terraform_data.new", "create", "forget")]})
    assert (summary.add, summary.change, summary.destroy) == (1, 0, 0)
    assert summary.resources == (ResourceChange("terraform_data.new", "create-forget", "null"),)
    assert summary.destroyed() == []  # the old object is not destroyed: no guard
    assert "| create-forget | `terraform_data.new` |" in plan_markdown(summary)


CREATES = summarize({"resource_changes": [change("terraform_data.new", "create")]})
UPDATES = summarize({"resource_changes": [change("terraform_data.tag", "update")]})
DELETES = summarize({"resource_changes": [change("terraform_data.gone", "delete")]})
REPLACES = summarize({"resource_changes": [change("terraform_data.swap", "create", "delete")]})
FORGETS = summarize(
    {
        "resource_changes": [
            change("terraform_data.kept", "forget"),
            change("terraform_data.renewed", "create", "forget"),
        ]
    }
)


@pytest.mark.parametrize(
    ("summary", "plan_only", "allow_destroy", "decision"),
    [
        (CREATES, False, False, Decision.APPLY),
        (UPDATES, False, False, Decision.APPLY),
        (FORGETS, False, False, Decision.APPLY),  # nothing is destroyed
        (DELETES, False, False, Decision.REFUSE),
        (REPLACES, False, False, Decision.REFUSE),
        (DELETES, False, True, Decision.APPLY),
        (REPLACES, False, True, Decision.APPLY),
        (CREATES, True, False, Decision.STOP),
        (DELETES, True, False, Decision.STOP),  # plan-only reports, and refuses nothing
        (REPLACES, True, True, Decision.STOP),
    ],
)
def test_the_destroy_guard_decides_from_the_summary_and_the_two_switches(
    summary: PlanSummary, plan_only: bool, allow_destroy: bool, decision: Decision
) -> None:
    assert decide(summary, plan_only=plan_only, allow_destroy=allow_destroy) is decision


def test_a_destroying_plan_known_by_its_counts_alone_is_refused() -> None:
    """The cloud engine without the JSON plan: one unnamed resource stands for the destroys."""
    counts_only = PlanSummary(0, 0, 2, (ResourceChange("(resources unnamed)", "delete"),))
    assert decide(counts_only, plan_only=False, allow_destroy=False) is Decision.REFUSE


def test_an_action_this_version_does_not_know_is_refused_as_destroying() -> None:
    """A newer Terraform's action list is not read as a no-op: the guard fails closed."""
    summary = summarize({"resource_changes": [change("terraform_data.x", "create", "archive")]})
    assert [r.action for r in summary.resources] == ["unknown"]
    assert summary.has_changes
    assert decide(summary, plan_only=False, allow_destroy=False) is Decision.REFUSE
    assert decide(summary, plan_only=False, allow_destroy=True) is Decision.APPLY


# The planned changes of `plan -json`: the same summary as the JSON plan's, or none when the
# stream cannot tell it.
def test_the_planned_changes_of_the_stream_summarize_as_the_json_plan_does() -> None:
    streamed = [
        ("terraform_data.new", "create"),
        ("terraform_data.tag", "update"),
        ("terraform_data.gone", "delete"),
        ("terraform_data.kept", "remove"),
        ("terraform_data.same", "noop"),
        ("terraform_data.moved", "move"),
        ("terraform_data.imported", "import"),
        ("data.terraform_remote_state.core", "read"),
    ]
    json_plan = {
        "resource_changes": [
            change("terraform_data.new", "create"),
            change("terraform_data.tag", "update"),
            change("terraform_data.gone", "delete"),
            change("terraform_data.kept", "forget"),
            change("terraform_data.same", "no-op"),
            change("terraform_data.moved", "no-op"),
            change("terraform_data.imported", "no-op"),
            change("data.terraform_remote_state.core", "read"),
        ]
    }
    # The same changes; only the JSON plan holds their planned values (a review's digest).
    from_stream, from_json = summarize_planned_changes(streamed), summarize(json_plan)
    assert from_stream is not None
    assert from_stream._replace(resources=()) == from_json._replace(resources=())
    assert [r[:2] for r in from_stream.resources] == [r[:2] for r in from_json.resources]
    assert {r.planned for r in from_stream.resources} == {""}


@pytest.mark.parametrize("action", ["replace", "obliterate"])
def test_a_streamed_replace_or_an_unknown_action_gives_no_summary(action: str) -> None:
    """terraform streams `replace` for a replacement and for a create that forgets the old
    object (which destroys nothing): the saved plan must tell them apart."""
    assert summarize_planned_changes([("terraform_data.a", "create"), ("b", action)]) is None
