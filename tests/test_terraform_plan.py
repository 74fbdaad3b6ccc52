"""Plan summaries, the destroy guard's view of a plan, and run variables as HCL literals."""

from __future__ import annotations

import pytest

from toto_actions.errors import UsageError
from toto_actions.terraform_plan import (
    PlanSummary,
    ResourceChange,
    hcl_literal,
    parse_variables,
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


def test_variables_parse_and_refuse_what_is_not_name_value() -> None:
    assert parse_variables(["image_tag=abc123", "", " note = a=b "]) == {
        "image_tag": "abc123",
        "note": " a=b",
    }
    with pytest.raises(UsageError) as raised:
        parse_variables(["novalue", "1bad=x"])
    assert str(raised.value).splitlines() == [
        "variable 'novalue' is not NAME=VALUE",
        "variable '1bad=x' is not NAME=VALUE",
    ]


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("abc", '"abc"'),
        ('quote " and \\ back', '"quote \\" and \\\\ back"'),
        ("${not.interpolated} %{if}", '"$${not.interpolated} %%{if}"'),
        (3, "3"),
        (True, "true"),
        (["a", 1], '["a", 1]'),
        ({"k": "v", "n": [1]}, '{"k" = "v", "n" = [1]}'),
        (None, "null"),
    ],
)
def test_hcl_literals(value: object, literal: str) -> None:
    assert hcl_literal(value) == literal


def test_the_summary_lists_resources_by_action_and_links_the_run() -> None:
    summary = PlanSummary(1, 0, 1, (ResourceChange("terraform_data.a", "replace"),))
    markdown = plan_markdown(summary, "https://app.terraform.io/app/acme/workspaces/w/runs/run-1")
    assert "**1 to add, 0 to change, 1 to destroy.**" in markdown
    assert "| replace | `terraform_data.a` |" in markdown
    assert "(https://app.terraform.io/app/acme/workspaces/w/runs/run-1)" in markdown
