"""Options come from a flag or from the INPUT_ variable GitHub sets for an action input, and arrive
typed: one table of raw values per kind, and the line a user sees for each bad one."""

from __future__ import annotations

import argparse

import pytest

from toto_actions.errors import UsageError
from toto_actions.options import (
    CHOICE,
    INTEGER,
    LINES,
    SECONDS,
    SWITCH,
    URL,
    Option,
    OptionValue,
    resolve,
)

OPTIONS = (
    Option("--output-dir", "where"),
    Option("--kind", "which", kind=CHOICE, choices=("microservice", "core")),
    Option("--check", "compare only", kind=SWITCH),
    Option("--timeout", "seconds", kind=SECONDS, default=30.0, low=0.001, high=3600),
    Option("--workers", "at once", kind=INTEGER, default=4, low=1, high=32),
    Option("--api-url", "where", kind=URL, fallback_variable="GITHUB_API_URL"),
    Option("--var", "variables", kind=LINES),
)
DEFAULTS: dict[str, OptionValue] = {"timeout": 30.0, "workers": 4}


def parse(*arguments: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(exit_on_error=False)
    for option in OPTIONS:
        option.add_to(parser)
    return parser.parse_args(arguments)


def test_the_input_variable_keeps_hyphens_and_is_upper_case() -> None:
    assert Option("--output-dir", "").input_variable == "INPUT_OUTPUT-DIR"


def test_an_option_comes_from_its_input_variable() -> None:
    result = resolve(OPTIONS, parse(), {"INPUT_OUTPUT-DIR": "/repo", "INPUT_KIND": "core"})
    assert result == {"output-dir": "/repo", "kind": "core", **DEFAULTS}


def test_a_flag_wins_over_the_input_variable_which_wins_over_the_fallback() -> None:
    environ = {"INPUT_API-URL": "https://input.example", "GITHUB_API_URL": "https://gh.example"}
    assert resolve(OPTIONS, parse(), environ)["api-url"] == "https://input.example"
    assert resolve(OPTIONS, parse(), {"GITHUB_API_URL": "https://gh.example"})["api-url"] == (
        "https://gh.example"
    )
    flagged = resolve(OPTIONS, parse("--api-url", "https://flag.example"), environ)
    assert flagged["api-url"] == "https://flag.example"


def test_an_empty_input_variable_counts_as_unset() -> None:
    assert resolve(OPTIONS, parse(), {"INPUT_OUTPUT-DIR": "", "INPUT_KIND": "  "}) == DEFAULTS


def test_options_without_a_default_are_absent_unless_given() -> None:
    assert resolve(OPTIONS, parse(), {}) == DEFAULTS


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--check"], True),
        (["--check", "true"], True),
        (["--check=false"], False),
        (["--check", "False"], False),
        (["--check", "--output-dir", "x"], True),
    ],
)
def test_a_switch_takes_an_explicit_value_or_none(arguments: list[str], expected: bool) -> None:
    assert resolve(OPTIONS, parse(*arguments), {"INPUT_CHECK": "false"})["check"] is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False)],
)
def test_a_switch_reads_yaml_booleans(raw: str, expected: bool) -> None:
    assert resolve(OPTIONS, parse(), {"INPUT_CHECK": raw})["check"] is expected


@pytest.mark.parametrize(
    ("arguments", "key", "expected"),
    [
        (["--timeout", "2.5"], "timeout", 2.5),
        (["--timeout", "3600"], "timeout", 3600.0),
        (["--workers", "32"], "workers", 32),
        (["--workers", "4.0"], "workers", 4),
        (["--api-url", "http://127.0.0.1:8080/api"], "api-url", "http://127.0.0.1:8080/api"),
        (["--var", "a=1", "--var", "b=x=y"], "var", (("a", "1"), ("b", "x=y"))),
        (["--var", "a=1\n\nb = 2"], "var", (("a", "1"), ("b", " 2"))),
    ],
)
def test_values_arrive_typed(arguments: list[str], key: str, expected: OptionValue) -> None:
    value = resolve(OPTIONS, parse(*arguments), {})[key]
    assert value == expected and type(value) is type(expected)


BAD_VALUES = [
    (["--timeout", "nan"], "--timeout 'nan': expected a number of seconds from 0.001 to 3600"),
    (["--timeout", "inf"], "--timeout 'inf': expected a number of seconds from 0.001 to 3600"),
    (["--timeout", "-1"], "--timeout '-1': expected a number of seconds from 0.001 to 3600"),
    (["--timeout", "0"], "--timeout '0': expected a number of seconds from 0.001 to 3600"),
    (["--timeout", "soon"], "--timeout 'soon': expected a number of seconds from 0.001 to 3600"),
    (["--workers", "2.5"], "--workers '2.5': expected a whole number from 1 to 32"),
    (["--workers", "0"], "--workers '0': expected a whole number from 1 to 32"),
    (["--api-url", "htp:/bad"], "--api-url 'htp:/bad': expected an http or https URL with a host"),
    (
        ["--api-url", "not a url"],
        "--api-url 'not a url': expected an http or https URL with a host",
    ),
    (["--api-url", "https://"], "--api-url 'https://': expected an http or https URL with a host"),
    (["--var", "a=1", "--var", "novalue"], "--var: line 2 is not NAME=VALUE"),
    (["--var", "=1"], "--var: line 1 is not NAME=VALUE"),
    (["--check", "yes"], "--check 'yes': expected true or false"),
    (["--output-dir", " "], "--output-dir: an empty value; leave the option out instead"),
]


@pytest.mark.parametrize(("arguments", "message"), BAD_VALUES)
def test_a_bad_value_is_one_line(arguments: list[str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        resolve(OPTIONS, parse(*arguments), {})
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"INPUT_CHECK": "yes"}, "INPUT_CHECK='yes': expected true or false"),
        ({"INPUT_KIND": "service"}, "INPUT_KIND='service': expected one of microservice, core"),
        (
            {"GITHUB_API_URL": "ftp://x"},
            "GITHUB_API_URL='ftp://x': expected an http or https URL with a host",
        ),
    ],
)
def test_a_bad_input_variable_is_a_usage_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        resolve(OPTIONS, parse(), environ)
    assert str(raised.value) == message


def test_every_bad_value_is_reported_at_once() -> None:
    with pytest.raises(UsageError) as raised:
        resolve(OPTIONS, parse("--timeout", "x", "--workers", "x"), {"INPUT_CHECK": "maybe"})
    assert str(raised.value).splitlines() == [
        "INPUT_CHECK='maybe': expected true or false",
        "--timeout 'x': expected a number of seconds from 0.001 to 3600",
        "--workers 'x': expected a whole number from 1 to 32",
    ]


def test_a_bad_line_of_values_shows_no_value() -> None:
    """The values of NAME=VALUE lines may be secrets: a bad line is named, never echoed."""
    environ = {"INPUT_VAR": "db_password=hunter2-secret\nbroken-hunter3"}
    with pytest.raises(UsageError) as raised:
        resolve(OPTIONS, parse(), environ)
    assert str(raised.value) == "INPUT_VAR: line 2 is not NAME=VALUE"
