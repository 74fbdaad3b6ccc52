"""What a sync reports: the table of changes for the log, the job summary, the counts.

Plain text in and out, no Actions runtime: the command prints the lines and writes the summary
and outputs, so the wording is tested here without capturing a log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from toto_actions.github import sync_plan

COUNT_NAMES = {
    sync_plan.CREATE: "created",
    sync_plan.UPDATE: "updated",
    sync_plan.UNCHANGED: "unchanged",
    sync_plan.DELETE: "deleted",
}
COUNTED_AS = {sync_plan.SELECT: sync_plan.UPDATE}


class TargetFailure(NamedTuple):
    target: sync_plan.Target
    message: str


def change_lines(
    changes: Sequence[sync_plan.Change], outcome: Callable[[sync_plan.Change], str] | None = None
) -> list[str]:
    """The changes as aligned columns under a header; with `outcome`, a result column too."""
    rows = [
        (str(c.target), c.kind, c.name, c.action, *([outcome(c)] if outcome else []))
        for c in changes
    ]
    header = ("target", "kind", "name", "action", *(["result"] if outcome else []))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def summary_table(
    title: str, changes: Sequence[sync_plan.Change], failures: Sequence[TargetFailure]
) -> str:
    """The job summary's Markdown: a table of the changes, then the failures."""
    lines = [f"### {title}", "", "| target | kind | name | action |", "| --- | --- | --- | --- |"]
    lines += [f"| {c.target} | {c.kind} | `{c.name}` | {c.action} |" for c in changes]
    if failures:
        lines += ["", "**Failed:**", ""] + [f"- {f.target}: {f.message}" for f in failures]
    return "\n".join(lines)


def counts(changes: Iterable[sync_plan.Change]) -> dict[str, int]:
    """How many secrets and variables were (or would be) created, updated (a new selection of
    repositories included), left, deleted."""
    counted = [c for c in changes if c.kind in {sync_plan.SECRET, sync_plan.VARIABLE}]
    return {
        label: sum(1 for c in counted if COUNTED_AS.get(c.action, c.action) == action)
        for action, label in COUNT_NAMES.items()
    }
