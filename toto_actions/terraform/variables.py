"""Variables: the `NAME=VALUE` lines given to the step, the variables a Terraform configuration
declares, and their values as HCP Terraform run variables.

A run variable's value is an HCL expression: a string must be quoted, a list or map is written
as HCL. On the CLI, `-var name=value` takes the value as a string for a string variable and as
an HCL expression otherwise; run variables follow the same rule, from the declared type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from toto_actions.errors import UsageError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# A Go duration, as -lock-timeout takes it: 0, 30s, 5m, 1h30m, 1.5h...
_GO_DURATION = re.compile(r"0|(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+")


def is_variable_name(name: str) -> bool:
    """Whether Terraform accepts name as a variable's name."""
    return bool(_IDENTIFIER.fullmatch(name))


def is_duration(text: str) -> bool:
    """Whether text is a Go duration, as terraform's -lock-timeout takes it."""
    return bool(_GO_DURATION.fullmatch(text))


_DECLARATION = re.compile(r'^\s*variable\s+"([A-Za-z_][A-Za-z0-9_-]*)"\s*\{', re.MULTILINE)
_TYPE = re.compile(r"^\s*type\s*=\s*(.+?)\s*$", re.MULTILINE)


def parse_variables(problems: list[str], pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The `NAME=VALUE` pairs of --var (one per flag, or per line of the action's input) whose
    names Terraform accepts; each other name is a problem."""
    variables: dict[str, str] = {}
    for name, value in pairs:
        if is_variable_name(name):
            variables[name] = value
        else:
            problems.append(f"variable {name!r} is not a Terraform variable name")
    return variables


def hcl_literal(value: object) -> str:
    """A run variable's value as HCP Terraform wants it: an HCL literal (a string quoted)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        # JSON string escapes are HCL's, but for template sequences, which HCL would interpolate.
        return json.dumps(value).replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, Mapping):
        items = ", ".join(f"{json.dumps(str(k))} = {hcl_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(hcl_literal(item) for item in value) + "]"
    if value is None:
        return "null"
    raise UsageError(f"cannot pass {value!r} as a Terraform variable")


def declared_variables(directory: Path) -> dict[str, str | None]:
    """Each variable the *.tf files of directory declare, with its type expression (None when
    the declaration gives no type)."""
    declared: dict[str, str | None] = {}
    for path in sorted(directory.glob("*.tf")):
        text = path.read_text(encoding="utf-8")
        for match in _DECLARATION.finditer(text):
            found = _TYPE.search(_block_body(text, match.end()))
            declared[match.group(1)] = found.group(1) if found else None
    return declared


def run_variable(value: str, declared_type: str | None) -> str:
    """The HCL a run variable carries: the string quoted for a string (or untyped) variable,
    the value as written (HCL: a list, a map, a number) for any other type."""
    if declared_type is None or declared_type.startswith("string"):
        return hcl_literal(value)
    return value


def _block_body(text: str, start: int) -> str:
    """The text from start (just after a `{`) to its matching `}`."""
    depth = 1
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start:index]
    return text[start:]
