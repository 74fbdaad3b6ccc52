"""Options come from a flag or from the INPUT_ variable GitHub sets for an action input."""

from __future__ import annotations

import argparse

import pytest

from toto_actions.errors import UsageError
from toto_actions.options import Option, resolve

OPTIONS = (
    Option("--output-dir", "where"),
    Option("--kind", "which", choices=("microservice", "core")),
    Option("--check", "compare only", is_switch=True),
)


def parse(*arguments: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    for option in OPTIONS:
        option.add_to(parser)
    return parser.parse_args(arguments)


def test_the_input_variable_keeps_hyphens_and_is_upper_case() -> None:
    assert Option("--output-dir", "").input_variable == "INPUT_OUTPUT-DIR"


def test_an_option_comes_from_its_input_variable() -> None:
    given = resolve(OPTIONS, parse(), {"INPUT_OUTPUT-DIR": "/repo", "INPUT_KIND": "core"})
    assert given == {"output-dir": "/repo", "kind": "core"}


def test_a_flag_wins_over_the_input_variable() -> None:
    given = resolve(OPTIONS, parse("--output-dir", "/flag"), {"INPUT_OUTPUT-DIR": "/env"})
    assert given == {"output-dir": "/flag"}


def test_an_empty_input_variable_counts_as_unset() -> None:
    assert resolve(OPTIONS, parse(), {"INPUT_OUTPUT-DIR": "", "INPUT_KIND": "  "}) == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False)],
)
def test_a_switch_reads_yaml_booleans(raw: str, expected: bool) -> None:
    assert resolve(OPTIONS, parse(), {"INPUT_CHECK": raw}) == {"check": expected}


def test_a_switch_flag_is_true() -> None:
    assert resolve(OPTIONS, parse("--check"), {"INPUT_CHECK": "false"}) == {"check": True}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"INPUT_CHECK": "yes"}, "INPUT_CHECK='yes': expected true or false"),
        ({"INPUT_KIND": "service"}, "INPUT_KIND='service': expected one of microservice, core"),
    ],
)
def test_a_bad_input_variable_is_a_usage_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        resolve(OPTIONS, parse(), environ)
    assert str(raised.value) == message
