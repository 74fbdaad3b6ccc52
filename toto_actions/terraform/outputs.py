"""Terraform outputs, as `terraform output -json` writes them: read, check, turn into text."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from toto_actions.errors import UsageError


class TerraformOutput(NamedTuple):
    """One output: its value as the text a secret or variable holds, and whether it is sensitive."""

    text: str | None  # None for a null value
    sensitive: bool


def parse_outputs(content: str, source: str) -> dict[str, TerraformOutput]:
    """Parse `terraform output -json` text; source names the file in messages."""
    try:
        document = json.loads(content)
    except ValueError as problem:
        raise UsageError(f"{source}: not JSON ({problem})") from problem
    if not isinstance(document, dict):
        raise UsageError(f"{source}: expected the object `terraform output -json` writes")
    outputs = {}
    for name, entry in document.items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise UsageError(
                f"{source}: output {name!r} has no value: expected "
                '{"value": ..., "type": ..., "sensitive": ...}'
            )
        outputs[name] = TerraformOutput(as_text(entry["value"]), entry.get("sensitive") is True)
    return outputs


def as_text(value: object) -> str | None:
    """A string as it is; any other value (list, map, number, bool) as compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=False)


def strings_within(value: object) -> Iterator[str]:
    """Every string a list or a map holds, at any depth (not the map's keys)."""
    if isinstance(value, Mapping):
        items = list(value.values())
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return
    for item in items:
        if isinstance(item, str):
            yield item
        else:
            yield from strings_within(item)
