"""The plan comment on a pull request, as plain text: what a reviewer sees, and the hidden lines
that find it again (one comment per workspace) and tell an apply which changes were reviewed.

It is made of the plan's counts, resource addresses and actions, the commit and a link: no value
of the plan ever enters it (not even a masked one), so no sensitive value can. The digest it
records covers the planned values (sensitive ones only as "(sensitive)"), as a sha256 that does
not give them back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from toto_actions.terraform.plan import (
    DIGEST_VERSION,
    UNLISTED_REASON,
    PlanSummary,
    ResourceChange,
    changes_digest,
)

MAX_COMMENT_CHARS = 65_536  # GitHub refuses a longer comment body
# More changing resources than this fold into a <details> block.
FOLD_ABOVE = 20
# The destroy warning names at most this many (the rest are in the list below it).
WARN_AT_MOST = 50
_MARKER = "<!-- toto-actions:plan workspace={workspace} -->"
_DIGEST = re.compile(
    r"^<!-- toto-actions:changes (?:v([0-9]+) )?sha256=([0-9a-f]{64}) -->$", re.MULTILINE
)
_RUN = re.compile(r"^<!-- toto-actions:run id=([0-9]+) -->$", re.MULTILINE)
_ACTION_ORDER = ("create", "update", "replace", "delete", "create-forget", "forget", "unknown")
_CUT_NOTE = "\n\n_The list is cut here to fit a comment: the full list is in the job summary._"


class CommentContext(NamedTuple):
    """Where the plan comes from: the workspace, the commit planned, and a link to the run on
    HCP Terraform (cloud) or to the job."""

    workspace: str
    commit: str
    link: str
    link_is_run: bool  # the run on HCP Terraform, else the job
    run_id: str | None = None  # the workflow run that writes the comment (GITHUB_RUN_ID)


class ReviewedRecord(NamedTuple):
    """What a plan comment records for an apply: its changes digest, the digest's format (1: a
    toto-actions before DIGEST_VERSION, which recorded none) and the run that wrote it."""

    digest: str | None  # None: the plan's resources were unknown, no digest
    version: int
    run_id: int | None


def marker(workspace: str) -> str:
    """The comment's first line, which finds it again."""
    return _MARKER.format(workspace=workspace)


def is_plan_comment(body: str, workspace: str) -> bool:
    return body.partition("\n")[0] == marker(workspace)


def reviewed_record(body: str) -> ReviewedRecord:
    """The digest, its format and the run a plan comment records."""
    digest = _DIGEST.search(body)
    run = _RUN.search(body)
    return ReviewedRecord(
        digest.group(2) if digest else None,
        int(digest.group(1) or 1) if digest else DIGEST_VERSION,
        int(run.group(1)) if run else None,
    )


def plan_comment(summary: PlanSummary, context: CommentContext) -> str:
    """The comment's markdown, at most MAX_COMMENT_CHARS characters: when the resources do not
    all fit, the list is cut with a note."""
    head = _head(summary, context)
    sections = _resource_sections(summary.resources) if summary.listed else []
    fold = len(summary.resources) > FOLD_ABOVE
    full = _join(head, sections, fold)
    if len(full) <= MAX_COMMENT_CHARS:
        return full
    kept = _fitting(head, sections, fold)
    return _join(head, _first_lines(sections, kept), fold, cut=True)


def _head(summary: PlanSummary, context: CommentContext) -> str:
    # A plan whose resources are unknown records no digest: no apply can match it.
    digest = changes_digest(summary) if summary.listed else None
    recorded = [f"<!-- toto-actions:changes v{DIGEST_VERSION} sha256={digest} -->"]
    run = [f"<!-- toto-actions:run id={context.run_id} -->"] if context.run_id else []
    lines = [
        marker(context.workspace),
        *(recorded if digest else []),
        *run,
        f"### Terraform plan: {_code(context.workspace)}",
        "",
    ]
    if summary.has_changes:
        lines.append(
            f"**{summary.add} to add, {summary.change} to change, {summary.destroy} to destroy.**"
        )
    else:
        lines.append("**No changes.** The infrastructure matches the configuration.")
    if not summary.listed:
        lines += ["", f"The resources are unknown: {UNLISTED_REASON}."]
    else:
        lines += _destroy_warning(summary.destroyed())
    link = "the run on HCP Terraform" if context.link_is_run else "the job"
    lines += [
        "",
        f"Planned for the pull request's head commit {_code(context.commit)}: "
        f"[{link}]({context.link}).",
    ]
    return "\n".join(lines)


def _destroy_warning(destroyed: Sequence[ResourceChange]) -> list[str]:
    """The warning naming what the plan destroys or replaces: at most WARN_AT_MOST resources,
    and within a quarter of a comment, so the list below always has room."""
    if not destroyed:
        return []
    named = min(len(destroyed), WARN_AT_MOST)
    while True:
        lines = ["", "> [!WARNING]", f"> This plan destroys or replaces {_count(destroyed)}:"]
        lines += [f"> - {_code(r.address)} ({r.action})" for r in destroyed[:named]]
        if named < len(destroyed):
            lines.append(f"> - and {len(destroyed) - named} more (see the list)")
        if named == 0 or len("\n".join(lines)) <= MAX_COMMENT_CHARS // 4:
            return lines
        named //= 2


def _resource_sections(resources: Sequence[ResourceChange]) -> list[list[str]]:
    """One section per action: a heading line, then one line per resource."""
    order = {action: index for index, action in enumerate(_ACTION_ORDER)}
    actions = sorted({r.action for r in resources}, key=lambda a: order.get(a, len(order)))
    sections = []
    for action in actions:
        chosen = [r for r in resources if r.action == action]
        lines = [f"**{action}** ({len(chosen)})"]
        lines += [f"- {_code(r.address)}" for r in chosen]
        sections.append(lines)
    return sections


def _join(head: str, sections: Sequence[Sequence[str]], fold: bool, cut: bool = False) -> str:
    if not any(sections):
        return head + (_CUT_NOTE if cut else "")
    body = "\n\n".join("\n".join(section) for section in sections if section)
    if fold:
        count = sum(1 for section in sections for line in section if line.startswith("- "))
        body = f"<details><summary>{count} resources</summary>\n\n{body}\n\n</details>"
    return f"{head}\n\n{body}" + (_CUT_NOTE if cut else "")


def _first_lines(sections: Sequence[Sequence[str]], count: int) -> list[list[str]]:
    """The sections cut after their first count lines in all."""
    kept: list[list[str]] = []
    for section in sections:
        if count <= 0:
            break
        kept.append(list(section[:count]))
        count -= len(section)
    return kept


def _fitting(head: str, sections: Sequence[Sequence[str]], fold: bool) -> int:
    """How many of the sections' lines fit in a comment with the cut note (a binary search)."""
    low, high = 0, sum(len(section) for section in sections)
    while low < high:
        middle = (low + high + 1) // 2
        cut = _join(head, _first_lines(sections, middle), fold, cut=True)
        if len(cut) <= MAX_COMMENT_CHARS:
            low = middle
        else:
            high = middle - 1
    return low


def _count(resources: Sequence[ResourceChange]) -> str:
    return f"{len(resources)} resource{'' if len(resources) == 1 else 's'}"


def _code(text: str) -> str:
    """text as inline code, on one line, whatever backticks it holds (a for_each key may)."""
    flat = " ".join(text.splitlines())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    padding = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{padding}{flat}{padding}{fence}"
