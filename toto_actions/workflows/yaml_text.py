"""YAML scalars as the workflow templates write them: plain where YAML reads them back unchanged."""

from __future__ import annotations

import json
import re

_PLAIN_SCALAR = re.compile(r"[A-Za-z_][A-Za-z0-9._/-]*")
# Words YAML 1.1 readers take for booleans or null when unquoted.
_YAML_SPECIAL_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def plain_condition(expression: str) -> str:
    """An `if:` expression written as it is where YAML reads it back unchanged (it starts with a
    letter and holds no `: `, ` #` or quote YAML would take apart), else quoted."""
    plain = re.fullmatch(r"[A-Za-z][^\"#:]*", expression) and ": " not in expression
    return expression if plain else json.dumps(expression)


def yaml_scalar(value: str) -> str:
    """A YAML scalar for value: plain when it reads back as the same string, else double-quoted."""
    if _PLAIN_SCALAR.fullmatch(value) and value.lower() not in _YAML_SPECIAL_WORDS:
        return value
    return json.dumps(value)
