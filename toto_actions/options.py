"""Command options that can come from a flag or from an action input in the environment.

GitHub passes action inputs as INPUT_<NAME> variables (upper-cased, hyphens kept), so every option
`--foo-bar` also reads INPUT_FOO-BAR. A flag on the command line wins over the environment; an
empty variable counts as unset, since the runner sets one for every input the workflow left empty.

Each option is declared once, with its kind (text, switch, seconds, integer, URL, NAME=VALUE
lines, choice) and its default; `resolve` checks every given value against its kind, reports
every problem at once, and returns typed values, so a command never parses a raw string.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NamedTuple, TypeVar
from urllib.parse import urlsplit

from toto_actions.errors import UsageError

# Booleans as actions/toolkit's getBooleanInput reads them (YAML 1.2 core schema).
_TRUE_WORDS = frozenset({"true", "True", "TRUE"})
_FALSE_WORDS = frozenset({"false", "False", "FALSE"})

TEXT = "text"
SWITCH = "switch"  # --dry-run, --dry-run true, --dry-run=false; INPUT_DRY-RUN=true|false
SECONDS = "seconds"  # a finite number of seconds, from low to high
INTEGER = "integer"  # a whole number, from low to high
URL = "url"  # https, or http to this machine only (a token may travel to it), with a host
LINES = "lines"  # NAME=VALUE, one per line (or per repeated flag)
CHOICE = "choice"  # one of choices
KINDS = (TEXT, SWITCH, SECONDS, INTEGER, URL, LINES, CHOICE)

T = TypeVar("T")
Pairs = tuple[tuple[str, str], ...]
OptionValue = str | bool | int | float | Pairs


class GivenOptions(Mapping[str, OptionValue]):
    """The resolved options, by key, with a typed reader per kind (a key that is absent reads as
    None, False or an empty tuple)."""

    def __init__(self, values: Mapping[str, OptionValue]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> OptionValue:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"GivenOptions({self._values!r})"

    def text(self, key: str) -> str | None:
        value = self._values.get(key)
        return None if value is None else str(value)

    def switch(self, key: str) -> bool:
        return self._values.get(key) is True

    def seconds(self, key: str) -> float:
        return _typed(key, self._values[key], float)

    def integer(self, key: str) -> int:
        return _typed(key, self._values[key], int)

    def pairs(self, key: str) -> Pairs:
        return _typed(key, self._values.get(key, ()), tuple)


def _typed(key: str, value: OptionValue, kind: type[T]) -> T:
    """The value, which its option's kind made of this type (a command asked the wrong reader
    otherwise: a bug, not a user's mistake)."""
    if not isinstance(value, kind):
        raise TypeError(f"option {key} is {type(value).__name__}, not {kind.__name__}")
    return value


class Option(NamedTuple):
    """One `--flag` of a command: its kind, its default (None: absent unless given), its help."""

    flag: str
    help: str
    kind: str = TEXT
    default: OptionValue | None = None
    choices: tuple[str, ...] = ()
    low: float | None = None  # seconds and integers: the smallest value allowed
    high: float | None = None  # and the largest
    metavar: str | None = None
    fallback_variable: str | None = None  # read when neither flag nor input is given
    required: bool = False  # must be given one way or another
    sensitive: bool = False  # its value may be secret: messages never repeat it

    @property
    def key(self) -> str:
        """The option's name without dashes, as settings files spell it: `output-dir`."""
        return self.flag.removeprefix("--")

    @property
    def input_variable(self) -> str:
        return "INPUT_" + self.key.upper()

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        variables = " or ".join(self._variables())
        if self.kind == SWITCH:
            parser.add_argument(
                self.flag,
                dest=self.key,
                nargs="?",
                const="true",
                default=None,
                metavar="true|false",
                help=f"{self.help} [env: {variables}=true]",
            )
            return
        parser.add_argument(
            self.flag,
            dest=self.key,
            default=None,
            action="append" if self.kind == LINES else "store",
            metavar=self.metavar or self._metavar(),
            choices=self.choices or None,
            help=f"{self.help} [env: {variables}]",
        )

    def _metavar(self) -> str | None:
        # None for text and choices: argparse then shows the choices, `{microservice,core}`.
        return None if self.kind in (TEXT, CHOICE) else self.kind.upper()

    def _variables(self) -> list[str]:
        return [self.input_variable, *filter(None, [self.fallback_variable])]


def resolve(
    options: Sequence[Option], parsed: argparse.Namespace, environ: Mapping[str, str]
) -> GivenOptions:
    """Return each option's typed value, by key: the flag if present, else the input variable,
    else the fallback variable, else the option's default. Options without a default that were
    not given are absent (a command may then fall back to a settings file). Every value that
    breaks its kind is reported, one line each, in one UsageError."""
    given: dict[str, OptionValue] = {}
    problems: list[str] = []
    for option in options:
        raw, source = _raw_value(option, parsed, environ)
        if raw is None:
            if option.required:
                problems.append(f"{option.flag} is required: {_requirement(option)}")
            elif option.default is not None:
                given[option.key] = option.default
            continue
        try:
            given[option.key] = convert(option, raw, source)
        except UsageError as problem:
            problems.append(str(problem))
    if problems:
        raise UsageError("\n".join(problems))
    return GivenOptions(given)


def _requirement(option: Option) -> str:
    also = f" (or set {option.fallback_variable})" if option.fallback_variable else ""
    return f"{option.help}{also}"


def _raw_value(
    option: Option, parsed: argparse.Namespace, environ: Mapping[str, str]
) -> tuple[str | None, str]:
    from_flag = getattr(parsed, option.key, None)
    if isinstance(from_flag, list):
        from_flag = "\n".join(from_flag)
    if isinstance(from_flag, str):
        if not from_flag.strip():
            raise UsageError(f"{option.flag}: an empty value; leave the option out instead")
        return from_flag, option.flag
    for variable in (option.input_variable, option.fallback_variable):
        from_env = environ.get(variable, "").strip() if variable else ""
        if from_env:
            return from_env, variable or ""
    return None, ""


def convert(option: Option, raw: str, source: str) -> OptionValue:
    """raw as the option's kind; a UsageError naming source and what was expected."""
    if option.sensitive or option.kind == LINES:  # NAME=VALUE lines may hold secrets too
        shown = source
    else:
        shown = f"{source} {raw!r}" if source.startswith("--") else f"{source}={raw!r}"
    if option.choices and raw not in option.choices:
        raise UsageError(f"{shown}: expected one of {', '.join(option.choices)}")
    converter = _CONVERTERS.get(option.kind)
    return raw if converter is None else converter(option, raw, shown)


def _switch(option: Option, raw: str, shown: str) -> bool:
    if raw in _TRUE_WORDS:
        return True
    if raw in _FALSE_WORDS:
        return False
    raise UsageError(f"{shown}: expected true or false")


def _seconds(option: Option, raw: str, shown: str) -> float:
    return _number(option, raw, shown, "a number of seconds")


def _integer(option: Option, raw: str, shown: str) -> int:
    value = _number(option, raw, shown, "a whole number")
    if not value.is_integer():
        raise UsageError(f"{shown}: expected a whole number{_range(option)}")
    return int(value)


def _number(option: Option, raw: str, shown: str, expected: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    low = -math.inf if option.low is None else option.low
    high = math.inf if option.high is None else option.high
    if not (math.isfinite(value) and low <= value <= high):
        raise UsageError(f"{shown}: expected {expected}{_range(option)}")
    return value


def _range(option: Option) -> str:
    if option.low is not None and option.high is not None:
        return f" from {option.low:g} to {option.high:g}"
    if option.low is not None:
        return f" of at least {option.low:g}"
    return ""


def _url(option: Option, raw: str, shown: str) -> str:
    problem = check_url(raw)
    if problem:
        raise UsageError(f"{shown}: {problem}")
    return raw


def check_url(raw: str) -> str | None:
    """None for an https URL with a host, or an http one to this machine (the GitHub API or
    HCP Terraform address a token is sent to: never in clear over a network); else what was
    expected."""
    try:
        parts = urlsplit(raw)
        valid = parts.scheme in {"http", "https"} and bool(parts.hostname)
    except ValueError:  # an unbalanced [
        valid = False
    if not valid or any(character.isspace() for character in raw):
        return "expected an http or https URL with a host"
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        return (
            "plain http only to this machine (127.0.0.0/8, ::1 or localhost): use https, "
            "a token is sent there"
        )
    return None


def is_loopback(host: str) -> bool:
    """Whether host (as urlsplit gives it: lower case, no brackets) is this machine: localhost,
    an IPv4 address in 127.0.0.0/8 or ::1, each in its one canonical spelling (`127.1`,
    `::ffff:127.0.0.1` or a zone are refused: the safe reading)."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    canonical = str(address) == host
    return canonical and (address in _LOOPBACK_V4 or address == ipaddress.IPv6Address("::1"))


_LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")


def _pairs(option: Option, raw: str, shown: str) -> Pairs:
    """NAME=VALUE lines. A bad line is named by its number, never shown: the values may be
    secrets, and nothing is masked yet when options are read."""
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        name, equals, value = line.strip().partition("=")
        if not equals or not name.strip():
            raise UsageError(f"{shown}: line {number} is not NAME=VALUE")
        pairs.append((name.strip(), value))
    return tuple(pairs)


_CONVERTERS: dict[str, Callable[[Option, str, str], OptionValue]] = {
    SWITCH: _switch,
    SECONDS: _seconds,
    INTEGER: _integer,
    URL: _url,
    LINES: _pairs,
}
