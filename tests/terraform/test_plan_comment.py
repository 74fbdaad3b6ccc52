"""The pull request plan comment (plain logic) and the changes digest."""

from __future__ import annotations

import hashlib

from toto_actions.terraform.plan import PlanSummary, ResourceChange, changes_digest
from toto_actions.terraform.plan_comment import (
    MAX_COMMENT_CHARS,
    CommentContext,
    is_plan_comment,
    marker,
    plan_comment,
    reviewed_record,
)

CONTEXT = CommentContext("core-dev", "0123abc" + "0" * 33, "https://example.test/run/1", False)


def summary_of(*changes: tuple[str, str]) -> PlanSummary:
    resources = tuple(ResourceChange(address, action, "{}") for action, address in changes)  # type: ignore[arg-type]
    add = sum(1 for r in resources if r.action in {"create", "replace"})
    destroy = sum(1 for r in resources if r.action in {"delete", "replace"})
    change = sum(1 for r in resources if r.action == "update")
    return PlanSummary(add, change, destroy, resources)


def test_the_digest_is_the_sha256_of_sorted_action_address_values_lines() -> None:
    summary = summary_of(("update", "b.x"), ("create", "a.y"))
    expected = hashlib.sha256(b"create a.y {}\nupdate b.x {}\n").hexdigest()
    assert changes_digest(summary) == expected
    assert changes_digest(summary_of(("create", "a.y"), ("update", "b.x"))) == expected
    assert changes_digest(summary_of(("replace", "a.y"), ("update", "b.x"))) != expected


def test_the_comment_starts_with_the_marker_and_records_the_digest() -> None:
    summary = summary_of(("create", "terraform_data.image"))
    body = plan_comment(summary, CONTEXT)
    assert (
        body.splitlines()[0]
        == "<!-- toto-actions:plan workspace=core-dev -->"
        == marker("core-dev")
    )
    assert body.splitlines()[1] == (
        f"<!-- toto-actions:changes v2 sha256={changes_digest(summary)} -->"
    )
    assert reviewed_record(body) == (changes_digest(summary), 2, None)
    assert is_plan_comment(body, "core-dev") and not is_plan_comment(body, "core")
    assert "**1 to add, 0 to change, 0 to destroy.**" in body
    assert (
        f"Planned for the pull request's head commit `{CONTEXT.commit}`: "
        "[the job](https://example.test/run/1)."
    ) in body
    assert "**create** (1)\n- `terraform_data.image`" in body
    assert "WARNING" not in body and "<details>" not in body


def test_a_destroy_or_replace_is_warned_about_by_name() -> None:
    summary = summary_of(
        ("delete", "terraform_data.old"), ("replace", "terraform_data.gen"), ("update", "x.y")
    )
    body = plan_comment(summary, CONTEXT._replace(link_is_run=True))
    assert (
        "> [!WARNING]\n> This plan destroys or replaces 2 resources:\n"
        "> - `terraform_data.old` (delete)\n> - `terraform_data.gen` (replace)"
    ) in body
    assert "[the run on HCP Terraform](https://example.test/run/1)" in body


def test_no_changes_says_so() -> None:
    body = plan_comment(PlanSummary(0, 0, 0, ()), CONTEXT)
    assert "**No changes.**" in body
    assert reviewed_record(body).digest == hashlib.sha256(b"").hexdigest()


def test_a_long_list_folds_into_details() -> None:
    summary = summary_of(*(("create", f"terraform_data.r{i}") for i in range(21)))
    body = plan_comment(summary, CONTEXT)
    assert "<details><summary>21 resources</summary>" in body and body.endswith("</details>")


def test_a_list_too_long_for_a_comment_is_cut_with_a_note() -> None:
    summary = summary_of(*(("create", f"module.m.terraform_data.r{i:05}") for i in range(3000)))
    body = plan_comment(summary, CONTEXT)
    assert MAX_COMMENT_CHARS - 100 < len(body) <= MAX_COMMENT_CHARS
    assert body.endswith("the full list is in the job summary._")
    assert "`module.m.terraform_data.r00000`" in body
    assert "`module.m.terraform_data.r02999`" not in body
    assert reviewed_record(body).digest == changes_digest(summary)  # the whole plan


def test_a_plan_that_destroys_thousands_still_fits_and_keeps_its_sections_apart() -> None:
    deleted = [("delete", f"module.old.terraform_data.gone{i:05}") for i in range(1500)]
    created = [("create", f"module.new.terraform_data.made{i:05}") for i in range(1500)]
    body = plan_comment(summary_of(*created, *deleted), CONTEXT)
    assert len(body) <= MAX_COMMENT_CHARS
    assert "> This plan destroys or replaces 1500 resources:" in body
    assert "> - `module.old.terraform_data.gone00049` (delete)" in body
    assert "> - `module.old.terraform_data.gone00050` (delete)" not in body
    assert "> - and 1450 more (see the list)" in body
    assert "\n\n**create** (1500)\n- `module.new.terraform_data.made00000`" in body
    assert body.endswith("the full list is in the job summary._")


def test_an_address_with_backticks_or_a_newline_stays_one_code_span() -> None:
    summary = summary_of(("create", 'terraform_data.x["a`b\nc"]'))
    assert '- ``terraform_data.x["a`b c"]``' in plan_comment(summary, CONTEXT)
