"""GitHub Actions expressions (`${{ ... }}`), evaluated as far as a workflow's text tells.

What a job reads depends on its inputs: `inputs.terraform-engine == 'cloud' && vars.X || ''`
reads X only with the cloud engine. This evaluates the subset the toolkit's workflows use
(literals, context properties, `!`, `==`, `!=`, `&&`, `||`, parentheses) with the values known
before a run (the inputs, bound names), and UNKNOWN for what only a run knows (github.*,
function calls, step outputs of steps that run).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Final


class _Unknown:
    """A value only a run knows."""

    def __repr__(self) -> str:
        return "UNKNOWN"


class _Set(str):
    """A value a run sets that is not empty (the output of a step that runs): truthy, and
    unknown in a comparison."""

    __slots__ = ()


UNKNOWN: Final = _Unknown()
SET: Final = _Set("(set by the run)")
Value = str | bool | float | None | _Unknown
# A context property: its value, or UNKNOWN. Called with the dotted name (inputs.service).
Lookup = Callable[[str], Value]

_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<operator>\|\||&&|==|!=|<=|>=|[!()<>,\[\]])"
    r"|(?P<number>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_.*-]*))"
)
_LITERALS: Mapping[str, Value] = {"true": True, "false": False, "null": None}


def expressions(text: str) -> list[str]:
    """The `${{ ... }}` expressions of a text, without their braces."""
    return [match.group(1).strip() for match in _EXPRESSION.finditer(text)]


def references(expression: str, context: str) -> list[str]:
    """The properties of a context an expression names: `vars.X` -> X."""
    found = re.findall(rf"(?<![\w.-]){context}\.([A-Za-z_][A-Za-z0-9_]*)", expression)
    return list(dict.fromkeys(found))


def evaluate(expression: str, lookup: Lookup) -> Value:
    """The value of an expression, or UNKNOWN where it depends on what only a run knows."""
    tokens = list(_tokens(expression))
    parser = _Parser(tokens, lookup)
    value = parser.disjunction()
    return value if parser.at_end() else UNKNOWN


def condition(text: str, lookup: Lookup) -> Value:
    """The value of an `if:` (with or without its `${{ }}`)."""
    inner = expressions(text)
    whole = len(inner) == 1 and text.strip().startswith("${{")
    return evaluate(inner[0] if whole else text, lookup)


def render(text: str, lookup: Lookup) -> str | None:
    """The text with each expression replaced by its value; None when one is not known."""
    parts: list[str] = []
    position = 0
    for match in _EXPRESSION.finditer(text):
        value = evaluate(match.group(1).strip(), lookup)
        if isinstance(value, _Unknown | _Set):
            return None
        parts += [text[position : match.start()], _text(value)]
        position = match.end()
    return "".join([*parts, text[position:]])


def _text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def truthy(value: Value) -> bool | _Unknown:
    if isinstance(value, _Unknown):
        return UNKNOWN
    return value not in (None, False, "", 0)


def _tokens(expression: str) -> Iterator[tuple[str, str]]:
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None or match.end() == position:
            if expression[position:].strip():
                yield ("error", expression[position:])
            return
        position = match.end()
        kind = match.lastgroup
        if kind is not None:
            yield (kind, match.group(kind))


class _Parser:
    """Recursive descent over the tokens; a construct it does not know reads as UNKNOWN."""

    def __init__(self, tokens: list[tuple[str, str]], lookup: Lookup) -> None:
        self._tokens = tokens
        self._at = 0
        self._lookup = lookup

    def at_end(self) -> bool:
        return self._at == len(self._tokens)

    def _peek(self) -> str | None:
        return self._tokens[self._at][1] if self._at < len(self._tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._tokens[self._at] if self._at < len(self._tokens) else ("end", "")
        self._at += 1
        return token

    def disjunction(self) -> Value:
        return self._logical("||", self._conjunction)

    def _conjunction(self) -> Value:
        return self._logical("&&", self._comparison)

    def _logical(self, operator: str, operand: Callable[[], Value]) -> Value:
        """`a || b` is a when a is truthy, else b; `a && b` is b when a is truthy, else a."""
        value = operand()
        while self._peek() == operator:
            self._take()
            right = operand()
            known = truthy(value)
            if isinstance(known, _Unknown):
                value = UNKNOWN
            elif known == (operator == "&&"):
                value = right
        return value

    def _comparison(self) -> Value:
        value = self._unary()
        while self._peek() in ("==", "!=", "<", ">", "<=", ">="):
            operator = self._take()[1]
            right = self._unary()
            value = _compare(operator, value, right)
        return value

    def _unary(self) -> Value:
        if self._peek() == "!":
            self._take()
            known = truthy(self._unary())
            return UNKNOWN if isinstance(known, _Unknown) else not known
        return self._primary()

    def _primary(self) -> Value:
        kind, text = self._take()
        if text == "(":
            value = self.disjunction()
            return value if self._take()[1] == ")" else UNKNOWN
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text)
        if kind == "name":
            return self._name(text)
        return UNKNOWN

    def _name(self, text: str) -> Value:
        """A literal, a context property, or a call or index only a run can evaluate."""
        if self._peek() in ("(", "["):
            self._skip_until(")" if self._peek() == "(" else "]")
            return UNKNOWN
        return _LITERALS[text] if text in _LITERALS else self._lookup(text)

    def _skip_until(self, closing: str) -> None:
        opening = "(" if closing == ")" else "["
        depth = 0
        while not self.at_end():
            text = self._take()[1]
            if text == opening:
                depth += 1
            elif text == closing:
                depth -= 1
                if depth == 0:
                    return


def _compare(operator: str, left: Value, right: Value) -> Value:
    if any(isinstance(side, _Unknown | _Set) for side in (left, right)):
        return UNKNOWN
    if operator in ("==", "!="):
        # GitHub compares strings case-insensitively.
        same = (
            left.casefold() == right.casefold()
            if isinstance(left, str) and isinstance(right, str)
            else left == right
        )
        return same if operator == "==" else not same
    return UNKNOWN
