"""terraform.plan_text: the destroy guard's reading of terraform's own plan text, checked against
its `Plan:` counts, and what the log may show of it (texts as terraform 1.11 prints them)."""

from __future__ import annotations

import pytest

from toto_actions.terraform.plan import PlanSummary, ResourceChange
from toto_actions.terraform.plan_text import apply_log_line, plan_log, summarize_plan_text

PLAN = """\
Terraform will perform the following actions:

  # terraform_data.app will be updated in-place
  ~ resource "terraform_data" "app" {
        id     = "05f5bb85-d685-7631-fb9a-796bbe73428a"
      ~ input  = "a" -> "b"
    }

  # terraform_data.db must be replaced
-/+ resource "terraform_data" "db" {
      ~ id               = "7726ee75-1111" -> (known after apply)
    }

  # terraform_data.new["a b"] will be created
  + resource "terraform_data" "new" {
      + input = "s3cret-looking"
    }

  # terraform_data.old (deposed object 1f2e3d) will be destroyed
  - resource "terraform_data" "old" {}

 # terraform_data.kept will no longer be managed by Terraform, but will not be destroyed
 # (destroy = false is set in the configuration)
 . resource "terraform_data" "kept" {}

Plan: 2 to add, 1 to change, 2 to destroy.

Changes to Outputs:
  ~ db_id = "7726ee75-1111" -> (known after apply)
  + plain = "hello"
"""


def test_every_header_is_read_and_adds_up_to_terraforms_counts() -> None:
    summary = summarize_plan_text(PLAN.splitlines())
    assert summary == PlanSummary(
        2,
        1,
        2,
        (
            ResourceChange("terraform_data.app", "update"),
            ResourceChange("terraform_data.db", "replace"),
            ResourceChange('terraform_data.new["a b"]', "create"),
            ResourceChange("terraform_data.old (deposed object 1f2e3d)", "delete"),
            ResourceChange("terraform_data.kept", "forget"),
        ),
    )
    assert [r.address for r in summary.destroyed()] == [
        "terraform_data.db",
        "terraform_data.old (deposed object 1f2e3d)",
    ]


@pytest.mark.parametrize(
    "changed",
    [
        PLAN.replace("will be created", "will be conjured"),  # a verb this version does not know
        PLAN.replace("Plan: 2 to add", "Plan: 3 to add"),  # does not add up
        PLAN.replace("Plan: 2 to add, 1 to change, 2 to destroy.\n", ""),  # no counts
    ],
    ids=["unknown-verb", "counts-differ", "no-counts"],
)
def test_a_text_that_cannot_be_read_with_certainty_is_none(changed: str) -> None:
    assert summarize_plan_text(changed.splitlines()) is None


def test_only_outputs_changing_is_a_plan_of_no_resource() -> None:
    text = 'Changes to Outputs:\n  + plain = "hello"\n'
    assert summarize_plan_text(text.splitlines()) == PlanSummary(0, 0, 0, ())


def test_the_log_shows_headers_counts_and_no_value() -> None:
    shown = plan_log(PLAN.splitlines())
    assert shown == [
        "# terraform_data.app will be updated in-place",
        "# terraform_data.db must be replaced",
        '# terraform_data.new["a b"] will be created',
        "# terraform_data.old (deposed object 1f2e3d) will be destroyed",
        "# terraform_data.kept will no longer be managed by Terraform, but will not be destroyed",
        "Plan: 2 to add, 1 to change, 2 to destroy.",
        "Changes to Outputs:",
    ]
    for value in ("s3cret-looking", "7726ee75", "hello", "05f5bb85"):
        assert not [line for line in shown if value in line]


def test_an_apply_line_loses_its_resource_id() -> None:
    line = "terraform_data.app: Modifications complete after 0s [id=05f5bb85-d685-7631]"
    assert apply_log_line(line) == "terraform_data.app: Modifications complete after 0s"
    assert apply_log_line("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.") == (
        "Apply complete! Resources: 0 added, 1 changed, 0 destroyed."
    )
