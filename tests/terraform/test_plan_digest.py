"""The changes digest of a reviewed plan covers each change's planned values (plain logic).

Where the values live: terraform's JSON plan gives each resource change `after`, and beside it
`after_sensitive` and `after_unknown`, masks of the same shape (hashicorp/terraform
internal/command/jsonplan/plan.go, `Change`); an unknown value is left out of `after` and marked
true in `after_unknown`. HCP Terraform's redacted plan has the same `resource_changes`, a
sensitive value replaced (internal/command/jsonformat/plan.go, which internal/cloud decodes it
into; internal/cloud/testdata/*/plan-redacted.json); testing/tfc/redacted_plan.py makes it so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from testing.tfc.redacted_plan import redacted_plan
from toto_actions.terraform.plan import (
    SENSITIVE,
    UNKNOWN,
    PlanSummary,
    ResourceChange,
    changes_digest,
    planned_values,
    summarize,
)
from toto_actions.terraform.plan_comment import reviewed_record


def plan_of(**afters: Mapping[str, object]) -> dict[str, object]:
    """A JSON plan updating each resource to its `after`, with an `api_key` that is sensitive
    and an `output` that is unknown."""
    return {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": address,
                "change": {
                    "actions": ["update"],
                    "before": {},
                    "after": after,
                    "after_sensitive": {"api_key": True},
                    "after_unknown": {"output": True},
                },
            }
            for address, after in afters.items()
        ],
    }


def test_sensitive_values_are_hidden_and_unknown_ones_named() -> None:
    change = {
        "after": {"input": "v2", "api_key": "s3cr3t", "tags": ["a", "s3cr3t-too"]},
        "after_sensitive": {"api_key": True, "tags": [False, True]},
        "after_unknown": {"output": True, "tags": [False, False]},
    }
    assert json.loads(planned_values(change)) == {
        "input": "v2",
        "api_key": SENSITIVE,
        "tags": ["a", SENSITIVE],
        "output": UNKNOWN,
    }
    assert "s3cr3t" not in planned_values(change)
    assert (SENSITIVE, UNKNOWN) == ("(sensitive)", "(known after apply)")


def test_the_same_resources_changed_to_other_values_do_not_match() -> None:
    reviewed = summarize(plan_of(**{"terraform_data.image": {"input": "v2", "api_key": "k"}}))
    applied = summarize(plan_of(**{"terraform_data.image": {"input": "v3", "api_key": "k"}}))
    assert [r[:2] for r in reviewed.resources] == [r[:2] for r in applied.resources]
    assert changes_digest(reviewed) != changes_digest(applied)


def test_a_sensitive_value_changed_alone_is_not_seen() -> None:
    """What the digest cannot see, by design: the sensitive value itself."""
    one = summarize(plan_of(**{"terraform_data.key": {"input": "v2", "api_key": "old"}}))
    other = summarize(plan_of(**{"terraform_data.key": {"input": "v2", "api_key": "new"}}))
    assert changes_digest(one) == changes_digest(other)


def test_the_json_plan_and_the_redacted_plan_give_the_same_digest() -> None:
    """A plan job that reads the redacted plan and an apply that reads the JSON plan (or the
    reverse) compare equal digests for the same plan."""
    afters: dict[str, Mapping[str, object]] = {
        "terraform_data.image": {"input": "v2", "api_key": "s3cr3t"},
        "terraform_data.other": {"input": "x", "api_key": {"nested": "s3cr3t"}},
    }
    plan = plan_of(**afters)
    redacted = json.loads(redacted_plan(json.dumps(plan).encode()))
    assert "s3cr3t" not in json.dumps(redacted)  # the stand-in did redact it
    assert changes_digest(summarize(redacted)) == changes_digest(summarize(plan))


def test_a_summary_without_planned_values_has_no_digest() -> None:
    """The plan's text or its stream name the changes without their values: no digest."""
    streamed = PlanSummary(0, 1, 0, (ResourceChange("terraform_data.image", "update"),))
    assert changes_digest(streamed) is None
    assert changes_digest(PlanSummary(0, 0, 0, ())) is not None  # no change is a plan too


def test_an_older_comment_s_digest_is_read_as_format_1() -> None:
    older = (
        "<!-- toto-actions:plan workspace=core-dev -->\n"
        f"<!-- toto-actions:changes sha256={'a' * 64} -->\n### Terraform plan"
    )
    assert reviewed_record(older) == ("a" * 64, 1, None)
