"""Variables: the `NAME=VALUE` lines given to the step, the variables a Terraform configuration
declares, and their values as HCP Terraform run variables or as a variables file.

A run variable's value is an HCL expression: a string must be quoted, a list or map is written
as HCL. On the CLI, `-var name=value` takes the value as a string for a variable of a primitive
type or of none, and as an HCL expression otherwise (hashicorp/terraform,
internal/configs/named_values.go, `decodeVariableType`); run variables and the variables file
follow the same rule, from the declared type.
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


# A block's label may be quoted or a bare identifier (HCL native syntax).
_DECLARATION = re.compile(r'^\s*variable\s+("?)([A-Za-z_][A-Za-z0-9_-]*)\1\s*\{', re.MULTILINE)
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


# The escapes of an HCL quoted string (hashicorp/hcl, hclsyntax/parser.go,
# `ParseStringLiteralToken`): these, and \uNNNN; nothing else (no \b, no \f).
_HCL_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# A literal `${` or `%{` in a quoted string: the sequence doubled (hclsyntax's `$${`, `%%{`).
# A run of the sign before the brace is doubled whole, so the scanner, reading `$$` as a literal
# `$` unless `{` follows, finds exactly one escape at its end.
_TEMPLATE_START = re.compile(r"([$%]+)\{")


def hcl_string(text: str) -> str:
    """text as an HCL quoted string that reads back as exactly text: the quote, the backslash
    and control characters escaped, template sequences doubled, anything else as it is (HCL
    reads UTF-8; a \\u escape of half a surrogate pair would not read back)."""
    escaped = "".join(
        _HCL_ESCAPES.get(character)
        or (f"\\u{ord(character):04x}" if ord(character) < 0x20 else character)
        for character in text
    )
    return '"' + _TEMPLATE_START.sub(_doubled_last, escaped) + '"'


def _doubled_last(match: re.Match[str]) -> str:
    """`$$${` -> `$$$${`: the signs before the last as they are, the last doubled."""
    signs = match.group(1)
    return signs + signs[-1] + "{"


def hcl_literal(value: object) -> str:
    """A run variable's value as HCP Terraform wants it: an HCL literal (a string quoted)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return hcl_string(value)
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
            declared[match.group(2)] = found.group(1) if found else None
    for path in sorted(directory.glob("*.tf.json")):
        declared.update(_json_declarations(path))
    return declared


def _json_declarations(path: Path) -> dict[str, str | None]:
    """The variables a .tf.json file declares (`{"variable": {NAME: {"type": ...}}}`, or a
    list of such objects), with their types; none from a file that is not such JSON."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    blocks = document.get("variable", {}) if isinstance(document, dict) else {}
    declared: dict[str, str | None] = {}
    for block in blocks if isinstance(blocks, list) else [blocks]:
        for name, body in block.items() if isinstance(block, dict) else ():
            kind = body.get("type") if isinstance(body, dict) else None
            declared[name] = kind if isinstance(kind, str) else None
    return declared


def undeclared(variables: Mapping[str, str], declared: Mapping[str, str | None]) -> list[str]:
    """The names of variables the configuration does not declare: `-var` made terraform fail
    on one, a variables file only warns, so the step refuses them itself."""
    return [name for name in variables if name not in declared]


_PRIMITIVE_TYPE = re.compile(r"(string|number|bool)\s*(#.*|//.*)?")


def takes_literal(declared_type: str | None) -> bool:
    """Whether terraform takes a `-var` value for a variable of this type (None: no type, or
    not declared) as literal text rather than as an HCL expression: for no type, or a
    primitive one (named_values.go, `decodeVariableType`)."""
    return declared_type is None or bool(_PRIMITIVE_TYPE.fullmatch(declared_type.strip()))


def var_file_text(variables: Mapping[str, str], declared: Mapping[str, str | None]) -> str:
    """A variables file (.tfvars) that gives terraform each of variables as `-var NAME=VALUE`
    would: the value quoted for a variable takes_literal says so of, else as written (an HCL
    expression). declared: each declared variable's type (declared_variables)."""
    lines = []
    for name, value in variables.items():
        if not is_variable_name(name):
            raise UsageError(f"{name!r} is not a Terraform variable name")
        if name not in declared:
            raise UsageError(undeclared_message(name))
        if "\0" in value or any(0xD800 <= ord(character) <= 0xDFFF for character in value):
            raise UsageError(f"variable {name}: its value is not text terraform can read")
        literal = takes_literal(declared.get(name))
        lines.append(f"{name} = {hcl_string(value) if literal else value}")
    return "".join(f"{line}\n" for line in lines)


def undeclared_message(name: str) -> str:
    return (
        f'variable {name!r} is not declared by the configuration (no `variable "{name}"` '
        "block in its .tf or .tf.json files)"
    )


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
