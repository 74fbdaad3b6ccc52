"""What a Terraform plan does, as plain values: counts, resources by action, the destroy guard.

Read from the JSON plan (`terraform show -json`, or HCP Terraform's `/plans/:id/json-output`),
which both engines produce, so both engines are guarded by the same code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, Literal, NamedTuple

# "forget": the object leaves the state and is not destroyed (a `removed` block with
# `lifecycle { destroy = false }`); "create-forget": a replacement whose old object is forgotten
# rather than destroyed, so it adds one resource and destroys none; "unknown": a list of actions
# this version does not know (a newer Terraform's), which the destroy guard treats as destroying.
ResourceAction = Literal[
    "create", "update", "delete", "replace", "forget", "create-forget", "read", "no-op", "unknown"
]
_SINGLE_ACTIONS = frozenset({"create", "update", "delete", "forget", "read", "no-op"})


class ResourceChange(NamedTuple):
    address: str
    action: ResourceAction
    # The planned values (the change's `after`) as canonical JSON, sensitive ones as
    # SENSITIVE and unknown ones as UNKNOWN (planned_values); "" when the source has none (the
    # plan's text or its streamed messages): such a change has no digest (changes_digest).
    planned: str = ""


class PlanSummary(NamedTuple):
    """The counts Terraform prints (a replacement is one to add and one to destroy)."""

    add: int
    change: int
    destroy: int
    resources: tuple[ResourceChange, ...]  # those that change, in plan order
    # False: the plan itself could not be read, only its counts: which resources change is
    # unknown (see unlisted_summary), never an empty list.
    listed: bool = True
    unlisted_changes: bool = False  # unlisted: the plan says it has changes (has-changes)

    @property
    def has_changes(self) -> bool:
        """Whether applying the plan changes anything: a forget alone counts in none of the
        numbers, but it changes the state."""
        return bool(
            self.add or self.change or self.destroy or self.resources or self.unlisted_changes
        )

    def destroyed(self) -> list[ResourceChange]:
        """The resources the plan deletes or replaces, or changes in a way this version does not
        know: what the destroy guard stops (it fails closed)."""
        return [r for r in self.resources if r.action in {"delete", "replace", "unknown"}]


class Decision(Enum):
    """What to do with a plan that changes something."""

    APPLY = "apply"
    STOP = "stop"  # plan only: report the plan, apply nothing
    REFUSE = "refuse"  # it destroys or replaces, and destroying was not allowed


UNLISTED_DESTROYED = ResourceChange("(resources the plan would name)", "delete")
UNLISTED_REASON = "reading the plan needs read-runs access to the workspace"


def unlisted_summary(add: int, change: int, destroy: int, has_changes: bool | None) -> PlanSummary:
    """A plan whose resources could not be read, from its counts and its has-changes (None when
    absent: taken as changes, a refresh-only plan counting none of its drift). A destroying
    plan stands for one unnamed resource, so the destroy guard still holds."""
    return PlanSummary(
        add,
        change,
        destroy,
        (UNLISTED_DESTROYED,) if destroy else (),
        listed=False,
        unlisted_changes=has_changes is not False,
    )


def decide(summary: PlanSummary, *, plan_only: bool, allow_destroy: bool) -> Decision:
    """The destroy guard, for both engines: stop after the plan when only planning, refuse a
    plan that destroys or replaces anything unless allowed, else apply."""
    if plan_only:
        return Decision.STOP
    if summary.destroyed() and not allow_destroy:
        return Decision.REFUSE
    return Decision.APPLY


def summarize(json_plan: Mapping[str, Any]) -> PlanSummary:
    """Summarize a JSON plan (format_version 1.x, or HCP Terraform's redacted plan, which has
    the same `resource_changes`), each change with its planned values."""
    resources = []
    for change in json_plan.get("resource_changes", []):
        values = change.get("change", {})
        action = _action(values.get("actions", []))
        if action not in {"no-op", "read"}:
            address = str(change.get("address"))
            resources.append(ResourceChange(address, action, planned_values(values)))
    return _counted(resources)


SENSITIVE = "(sensitive)"
UNKNOWN = "(known after apply)"


def planned_values(change: Mapping[str, Any]) -> str:
    """A change's `after` as canonical JSON, each value `after_sensitive` marks as SENSITIVE
    and each one `after_unknown` marks as UNKNOWN (terraform leaves an unknown attribute out of
    `after`): the same text from the JSON plan and from HCP Terraform's redacted plan, which
    differ only in what a sensitive value holds (hashicorp/terraform internal/command/jsonplan
    and internal/cloud/testdata/*/plan-redacted.json)."""
    masked = _masked(
        change.get("after"), change.get("after_sensitive"), change.get("after_unknown")
    )
    return json.dumps(masked, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _masked(value: Any, sensitive: Any, unknown: Any) -> Any:
    if sensitive is True:
        return SENSITIVE
    if unknown is True:
        return UNKNOWN
    if isinstance(value, dict) or (value is None and isinstance(unknown, dict) and unknown):
        known = value if isinstance(value, dict) else {}
        marks = unknown if isinstance(unknown, dict) else {}
        hidden = sensitive if isinstance(sensitive, dict) else {}
        keys = set(known) | {key for key, mark in marks.items() if mark}
        return {key: _masked(known.get(key), hidden.get(key), marks.get(key)) for key in keys}
    if isinstance(value, list) or (value is None and isinstance(unknown, list) and unknown):
        items = value if isinstance(value, list) else []
        item_marks = unknown if isinstance(unknown, list) else []
        item_hidden = sensitive if isinstance(sensitive, list) else []
        return [
            _masked(
                items[i] if i < len(items) else None,
                item_hidden[i] if i < len(item_hidden) else None,
                item_marks[i] if i < len(item_marks) else None,
            )
            for i in range(max(len(items), len(item_marks)))
        ]
    return value


def summarize_drift(json_plan: Mapping[str, Any]) -> PlanSummary:
    """Summarize what changed outside Terraform, from a JSON plan's `resource_drift` (in a
    refresh-only plan, the whole plan): an update or a delete for each drifted resource."""
    resources = [
        ResourceChange(
            str(drift.get("address")), _action(drift.get("change", {}).get("actions", []))
        )
        for drift in json_plan.get("resource_drift", [])
    ]
    return _counted([r for r in resources if r.action not in {"no-op", "read"}])


# The actions of a plan's `planned_change` messages (`plan -json`) that say exactly what the
# JSON plan would; those left out change no object (a read, a move or an import alone).
_STREAMED_ACTIONS: dict[str, ResourceAction] = {
    "create": "create",
    "update": "update",
    "delete": "delete",
    "remove": "forget",
}
_STREAMED_NO_OPS = frozenset({"noop", "read", "move", "import"})


def summarize_planned_changes(changes: Sequence[tuple[str, str]]) -> PlanSummary | None:
    """Summarize the (address, action) pairs of a plan's `planned_change` messages; None when
    they cannot tell: the stream says `replace` both for a replacement and for a create that
    forgets the old object, and a newer terraform may say a word this version does not know."""
    resources = []
    for address, streamed in changes:
        if streamed in _STREAMED_NO_OPS:
            continue
        action = _STREAMED_ACTIONS.get(streamed)
        if action is None:
            return None
        resources.append(ResourceChange(address, action))
    return _counted(resources)


def _counted(resources: Sequence[ResourceChange]) -> PlanSummary:
    """The counts terraform prints for these changes (a replacement adds one, destroys one)."""
    add = sum(1 for r in resources if r.action in {"create", "replace", "create-forget"})
    destroy = sum(1 for r in resources if r.action in {"delete", "replace"})
    change = sum(1 for r in resources if r.action == "update")
    return PlanSummary(add, change, destroy, tuple(resources))


def _action(actions: Sequence[str]) -> ResourceAction:
    """One action for Terraform's list: its two replace orders are one replace, and a create
    paired with a forget (either order) is a create whose old object is forgotten."""
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    if sorted(actions) == ["create", "forget"]:
        return "create-forget"
    if len(actions) == 1 and actions[0] in _SINGLE_ACTIONS:
        return actions[0]  # type: ignore[return-value]
    return "no-op" if not actions else "unknown"


# The digest's format, recorded beside it in a plan comment: an apply compares only digests of
# its own format, so a comment of an older toto-actions is refused with a reason, never matched.
# 1 (unrecorded): `ACTION ADDRESS` lines; 2: each line also holds the planned values.
DIGEST_VERSION = 2


def changes_digest(summary: PlanSummary) -> str | None:
    """The sha256 (hex) of the plan's changing resources, one `ACTION ADDRESS PLANNED` line
    each (PLANNED: planned_values), sorted by address: what a pull request's plan comment
    records, and an apply compares with. None when a change's planned values are unknown (a
    summary read from the plan's text or stream): no digest stands for what it does not hold."""
    if any(not resource.planned for resource in summary.resources):
        return None
    ordered = sorted(summary.resources, key=lambda resource: resource.address)
    lines = "".join(f"{r.action} {r.address} {r.planned}\n" for r in ordered)
    return hashlib.sha256(lines.encode()).hexdigest()


def read_as(summary: PlanSummary, pairs: Sequence[tuple[str, str]]) -> PlanSummary:
    """The summary with each applied text in the planned values replaced by its reviewed one:
    the deploy's image by digest reads as the tag the pull request's plan showed (an image
    reference holds no character JSON escapes, so it is found inside nested JSON text too)."""
    if not pairs:
        return summary

    def reviewed(planned: str) -> str:
        for applied, shown in pairs:
            planned = planned.replace(applied, shown)
        return planned

    resources = tuple(r._replace(planned=reviewed(r.planned)) for r in summary.resources)
    return summary._replace(resources=resources)


def plan_markdown(summary: PlanSummary, run_url: str | None = None) -> str:
    """The job summary of a plan: counts, then every changing resource by action."""
    counts = f"{summary.add} to add, {summary.change} to change, {summary.destroy} to destroy."
    if not summary.listed:
        counts += f" The resources are unknown: {UNLISTED_REASON}."
    rows = [(r.action, r.address) for r in summary.resources if r != UNLISTED_DESTROYED]
    return _summary_markdown("Terraform plan", counts, run_url, "action", rows)


def drift_markdown(summary: PlanSummary, run_url: str | None = None) -> str:
    """The job summary of a refresh-only plan: every resource changed outside Terraform."""
    headline = drift_headline(summary)
    rows = [(_DRIFTED.get(r.action, r.action), r.address) for r in summary.resources]
    return _summary_markdown("Terraform drift", headline, run_url, "outside Terraform", rows)


def drift_headline(summary: PlanSummary) -> str:
    """How many resources changed outside Terraform, or that it is unknown."""
    if not summary.listed:
        found = "changes" if summary.has_changes else "no changes"
        return f"Unknown drift: the plan says it has {found}, but {UNLISTED_REASON}."
    count = len(summary.resources)
    return f"{count} resource{'' if count == 1 else 's'} changed outside Terraform."


def _summary_markdown(
    title: str, headline: str, run_url: str | None, column: str, rows: Sequence[tuple[str, str]]
) -> str:
    """A title, a bold headline, the run's link, and a table of (what, resource) rows."""
    lines = [f"### {title}", "", f"**{headline}**"]
    if run_url:
        lines += ["", f"[The run on HCP Terraform]({run_url})"]
    if rows:
        lines += ["", f"| {column} | resource |", "| --- | --- |"]
        lines += [f"| {what} | `{address}` |" for what, address in rows]
    return "\n".join(lines)


_DRIFTED = {"update": "changed", "delete": "deleted"}
