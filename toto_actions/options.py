"""Command options that can come from a flag or from an action input in the environment.

GitHub passes action inputs as INPUT_<NAME> variables (upper-cased, hyphens kept), so every option
`--foo-bar` also reads INPUT_FOO-BAR. A flag on the command line wins over the environment; an
empty variable counts as unset, since the runner sets one for every input the workflow left empty.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from toto_actions.errors import UsageError

# Booleans as actions/toolkit's getBooleanInput reads them (YAML 1.2 core schema).
_TRUE_WORDS = frozenset({"true", "True", "TRUE"})
_FALSE_WORDS = frozenset({"false", "False", "FALSE"})

OptionValue = str | bool
GivenOptions = Mapping[str, OptionValue]


class Option(NamedTuple):
    """One `--flag` of a command; `is_switch` options are booleans (`--check`, INPUT_CHECK=true)."""

    flag: str
    help: str
    choices: tuple[str, ...] = ()
    is_switch: bool = False
    metavar: str | None = None
    fallback_variable: str | None = None  # read when neither flag nor input is given
    repeated: bool = False  # a flag given several times; one value per line in the input

    @property
    def key(self) -> str:
        """The option's name without dashes, as settings files spell it: `output-dir`."""
        return self.flag.removeprefix("--")

    @property
    def input_variable(self) -> str:
        return "INPUT_" + self.key.upper()

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        if self.is_switch:
            parser.add_argument(
                self.flag,
                dest=self.key,
                action="store_true",
                default=None,
                help=f"{self.help} [env: {self.input_variable}=true]",
            )
            return
        parser.add_argument(
            self.flag,
            dest=self.key,
            default=None,
            action="append" if self.repeated else "store",
            metavar=self.metavar,
            choices=self.choices or None,
            help=f"{self.help} [env: {' or '.join(self._variables())}]",
        )

    def _variables(self) -> list[str]:
        return [self.input_variable, *filter(None, [self.fallback_variable])]


def resolve(
    options: Sequence[Option], parsed: argparse.Namespace, environ: Mapping[str, str]
) -> dict[str, OptionValue]:
    """Return the options that were given, by key: the flag if present, else the input variable.

    Options given neither way are absent, so a command can fall back to a settings file and then
    to its defaults.
    """
    given: dict[str, OptionValue] = {}
    for option in options:
        from_flag = getattr(parsed, option.key)
        if isinstance(from_flag, list):
            from_flag = "\n".join(from_flag)
        if isinstance(from_flag, str) and not from_flag.strip():
            raise UsageError(f"{option.flag}: an empty value; leave the option out instead")
        if from_flag is not None:
            given[option.key] = from_flag
            continue
        for variable in (option.input_variable, option.fallback_variable):
            from_env = environ.get(variable, "").strip() if variable else ""
            if from_env:
                given[option.key] = _from_environment(option, variable or "", from_env)
                break
    return given


def _from_environment(option: Option, variable: str, raw: str) -> OptionValue:
    source = f"{variable}={raw!r}"
    if option.is_switch:
        if raw in _TRUE_WORDS:
            return True
        if raw in _FALSE_WORDS:
            return False
        raise UsageError(f"{source}: expected true or false")
    if option.choices and raw not in option.choices:
        raise UsageError(f"{source}: expected one of {', '.join(option.choices)}")
    return raw
