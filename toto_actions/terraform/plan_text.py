"""terraform's own plan and apply text (`apply -no-color` before its approval prompt), as plain
values: the resources it changes, checked against its `Plan:` counts, and the lines the step's
log may show.

A one-process apply shows its plan as text and waits for approval: the destroy guard reads that
text, and what is then applied is exactly the plan it showed. The text is trusted only when the
changes read from its resource headers add up to terraform's own counts; otherwise the caller
declines and plans the slow, exact way (a saved plan and its JSON).

The log shows no value: of the plan, only each resource's header (`# ADDRESS will be created`),
the counts and terraform's diagnostics; of the apply, each line without its ` [id=...]` (a
resource's ID is often an output, masked only once the outputs are read), and nothing from the
final `Outputs:` list on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from toto_actions.terraform.plan import PlanSummary, ResourceAction, ResourceChange

# What terraform prints while it waits for the approval of its plan (the line has no end), and
# the question just before it (a variable without a value is asked with the same prompt).
APPROVAL_PROMPT = "Enter a value: "
APPROVAL_QUESTION = "Only 'yes' will be accepted to approve."
# A resource's header in the plan, after the column of its action's symbol:
# `  # ADDRESS will be created`, ` # ADDRESS will no longer be managed by Terraform, but ...`.
_HEADER = re.compile(
    r"^ {1,3}# (?P<address>.+?) (?P<verb>(?:is tainted, so )?must be replaced|will .+)$"
)
# Each header's verb, by how it starts; None: it changes no object.
_VERBS: tuple[tuple[str, ResourceAction | None], ...] = (
    ("will be created", "create"),
    ("will be destroyed", "delete"),
    ("will be updated in-place", "update"),
    ("must be replaced", "replace"),
    ("is tainted, so must be replaced", "replace"),
    ("will be replaced, as requested", "replace"),
    ("will be replaced due to changes in replace_triggered_by", "replace"),
    ("will no longer be managed by Terraform", "forget"),
    ("will be read during apply", None),
)
_COUNTS = re.compile(r"(\d+) to (import|add|change|destroy|forget)")
_RESOURCE_ID = re.compile(r" \[\w+=[^\]]*\]")


def summarize_plan_text(lines: Sequence[str]) -> PlanSummary | None:
    """The plan's changes, read from its resource headers; None when a header says what this
    version does not know, or the changes do not add up to terraform's `Plan:` line."""
    resources = []
    counted: dict[str, int] = {}
    for line in lines:
        header = _HEADER.match(line)
        if header:
            verb = header.group("verb")
            known = [action for start, action in _VERBS if verb.startswith(start)]
            if not known:
                return None
            if known[0] is not None:
                resources.append(ResourceChange(header.group("address"), known[0]))
        elif line.startswith("Plan: "):
            counted = {kind: int(number) for number, kind in _COUNTS.findall(line)}
    add = sum(1 for r in resources if r.action in {"create", "replace"})
    change = sum(1 for r in resources if r.action == "update")
    destroy = sum(1 for r in resources if r.action in {"delete", "replace"})
    forget = sum(1 for r in resources if r.action == "forget")
    found = {"add": add, "change": change, "destroy": destroy}
    if not counted and (any(found.values()) or forget):
        return None
    if any(counted.get(kind, 0) != number for kind, number in found.items()):
        return None
    if "forget" in counted and counted["forget"] != forget:  # printed by some versions only
        return None
    return PlanSummary(add, change, destroy, tuple(resources))


def plan_log(lines: Sequence[str]) -> list[str]:
    """What the log shows of the plan: the resource headers, the counts, terraform's notes and
    diagnostics (the boxed lines); no attribute and no output, whose values it would show."""
    shown = []
    for line in lines:
        if _HEADER.match(line) or line.startswith(("Plan: ", "No changes.", "Changes to Outputs")):
            shown.append(line.strip())
        elif line.startswith(("╷", "│", "╵", "Warning:", "Error:")):
            shown.append(line)
    return shown


def apply_log_line(line: str) -> str:
    """An apply's line as the log shows it: without the resource's ID."""
    return _RESOURCE_ID.sub("", line)
