"""sync_report: the log table, the job summary and the counts of a sync, as plain text."""

from __future__ import annotations

from toto_actions.github.sync_plan import Change, Target
from toto_actions.github.sync_report import TargetFailure, change_lines, counts, summary_table

REPOSITORY = Target("acme/toto-ms-games", None)
ENVIRONMENT = Target("acme/toto-ms-auth", "dev")
CHANGES = [
    Change(ENVIRONMENT, "environment", "dev", "create"),
    Change(ENVIRONMENT, "secret", "VPC_ID", "create"),
    Change(REPOSITORY, "secret", "DB_PASSWORD", "update"),
    Change(REPOSITORY, "variable", "REGION", "unchanged"),
    Change(REPOSITORY, "variable", "OLD", "delete"),
]


def test_change_lines_are_aligned_columns_under_a_header() -> None:
    assert change_lines(CHANGES[1:3]) == [
        "target                   kind    name         action",
        "acme/toto-ms-auth (dev)  secret  VPC_ID       create",
        "acme/toto-ms-games       secret  DB_PASSWORD  update",
    ]


def test_change_lines_with_an_outcome_have_a_result_column() -> None:
    lines = change_lines(CHANGES[3:4], lambda change: "done")
    assert lines == [
        "target              kind      name    action     result",
        "acme/toto-ms-games  variable  REGION  unchanged  done",
    ]


def test_summary_table_lists_changes_then_failures() -> None:
    failure = TargetFailure(REPOSITORY, "write secret X: 502 Bad Gateway")
    assert summary_table("sync-secrets (dev)", CHANGES[1:2], [failure]) == (
        "### sync-secrets (dev)\n\n"
        "| target | kind | name | action |\n| --- | --- | --- | --- |\n"
        "| acme/toto-ms-auth (dev) | secret | `VPC_ID` | create |\n\n"
        "**Failed:**\n\n- acme/toto-ms-games: write secret X: 502 Bad Gateway"
    )


def test_summary_table_without_failures_has_no_failed_section() -> None:
    assert "Failed" not in summary_table("t", CHANGES, [])


def test_counts_leave_environments_out() -> None:
    assert counts(CHANGES) == {"created": 1, "updated": 1, "unchanged": 1, "deleted": 1}
    assert counts([]) == {"created": 0, "updated": 0, "unchanged": 0, "deleted": 0}
