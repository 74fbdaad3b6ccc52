"""terraform's machine-readable UI (`plan -json`, `apply -json`), as plain values: the log lines
a message prints, the resources a plan changes, and the outputs an apply reports.

Each line terraform prints is one JSON object with `@message` (what the human UI would say) and
`type`; the messages read here are `planned_change`, `outputs` and `diagnostic`, and the hooks
(`apply_start`, `refresh_complete`...) whose text is reworded. Described in terraform's
documentation, "Machine-Readable UI" (internals/machine-readable-ui).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

Message = Mapping[str, Any]

# What an apply of a saved plan repeats from its plan (terraform's version, each planned change):
# its log leaves them out, as terraform's own text does.
APPLY_REPEATS = frozenset({"version", "planned_change"})
# Messages terraform's own text does not print: the log leaves them out too (one line a resource).
_UNPRINTED = frozenset({"refresh_complete"})


def parse(line: str) -> Message | None:
    """The message a line holds; None for a line that is not one (terraform prints a few
    plain lines, e.g. a flag it cannot parse, before its UI starts)."""
    if not line.startswith("{"):
        return None
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) and "@message" in message else None


def log_lines(message: Message) -> list[str]:
    """What the message prints in the step's log.

    A hook's ` [id=...]` is left out: a resource's ID is often an output too (a subnet ID, an
    ARN), and an output unknown at plan time is masked only once the apply has reported it, at
    its end. A diagnostic prints its summary, where it is, and its detail. A message terraform's
    own text leaves out (a refresh's end) prints nothing.
    """
    if message.get("type") in _UNPRINTED:
        return []
    text = str(message.get("@message", ""))
    hook = message.get("hook")
    if isinstance(hook, dict) and hook.get("id_key") and hook.get("id_value"):
        text = text.replace(f" [{hook['id_key']}={hook['id_value']}]", "")
    diagnostic = message.get("diagnostic")
    if message.get("type") != "diagnostic" or not isinstance(diagnostic, dict):
        return [text]
    lines = [text]
    where = diagnostic.get("range")
    if isinstance(where, dict) and isinstance(where.get("start"), dict):
        lines.append(f"  on {where.get('filename')} line {where['start'].get('line')}")
    lines += [f"  {line}".rstrip() for line in str(diagnostic.get("detail") or "").splitlines()]
    return lines


def is_warning(message: Message) -> bool:
    """Whether the message is a diagnostic of severity warning."""
    diagnostic = message.get("diagnostic")
    return (
        message.get("type") == "diagnostic"
        and isinstance(diagnostic, dict)
        and diagnostic.get("severity") == "warning"
    )


def planned_change(message: Message) -> tuple[str, str] | None:
    """A `planned_change` message's resource address and action (terraform's word for it:
    create, update, delete, replace, remove, noop, move, import, read...); None for any other
    message."""
    if message.get("type") != "planned_change":
        return None
    change = message.get("change", {})
    return str(change.get("resource", {}).get("addr")), str(change.get("action"))


def outputs(message: Message) -> dict[str, dict[str, Any]] | None:
    """An apply's `outputs` message as `terraform output -json` writes outputs: {name:
    {"sensitive", "type", "value"}}, a sensitive output without its value (terraform leaves
    it out); None for any other message."""
    if message.get("type") != "outputs" or not isinstance(message.get("outputs"), dict):
        return None
    return {name: dict(output) for name, output in message["outputs"].items()}
