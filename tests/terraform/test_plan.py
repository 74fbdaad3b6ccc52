"""Plan summaries and the destroy guard's view of a plan."""

from __future__ import annotations

from toto_actions.terraform.plan import (
    PlanSummary,
    ResourceChange,
    plan_markdown,
    summarize,
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
    assert summary == PlanSummary(0, 0, 0, (ResourceChange("terraform_data.kept", "forget"),))
    assert summary.has_changes  # the state changes: plan-only reports it, an apply applies it
    assert summary.destroyed() == []
    assert "| forget | `terraform_data.kept` |" in plan_markdown(summary)


def test_a_create_that_forgets_the_old_object_counts_as_a_create() -> None:
    summary = summarize({"resource_changes": [change("terraform_data.new", "create", "forget")]})
    assert (summary.add, summary.change, summary.destroy) == (1, 0, 0)
    assert summary.resources == (ResourceChange("terraform_data.new", "create-forget"),)
    assert summary.destroyed() == []  # the old object is not destroyed: no guard
    assert "| create-forget | `terraform_data.new` |" in plan_markdown(summary)
