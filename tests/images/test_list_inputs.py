"""build-push's `build-args` and `labels`, read as docker/build-push-action reads them (plain).

docker/build-push-action, src/context.ts: `Util.getInputList('build-args', {ignoreComma: true})`
and the same for `labels`; @docker/actions-toolkit, src/util.ts, `Util.getList`: the input is
parsed as CSV (csv-parse, relax_quotes, skip_empty_lines, no comment character), a record's
fields are joined again with commas (ignoreComma), each item is trimmed and empty ones dropped.
The cases marked "actions-toolkit" are its own (__tests__/util.test.ts, getInputList).
"""

from __future__ import annotations

import pytest

from toto_actions.images.build_options import build_args, labels, list_items
from toto_actions.images.dockerfile import declared_args


@pytest.mark.parametrize(
    ("raw", "items"),
    [
        ("bar", ["bar"]),  # actions-toolkit: single line
        ("", []),  # actions-toolkit: empty
        ("bar\nbaz", ["bar", "baz"]),  # actions-toolkit: multiline
        ("bar\n\nbaz", ["bar", "baz"]),  # actions-toolkit: empty lines
        ("bar\r\nbaz", ["bar", "baz"]),  # actions-toolkit: different new lines
        # actions-toolkit: multiline and ignoring comma
        (
            "user/app:cache\ntype=local,src=path/to/dir",
            ["user/app:cache", "type=local,src=path/to/dir"],
        ),
        # actions-toolkit: multiline and ignoring comment (no comment character is set)
        ("foo=bar\nbar=qux#baz", ["foo=bar", "bar=qux#baz"]),
        # actions-toolkit: multiline values (a quoted field spans lines, loses its quotes)
        (
            'GIT_AUTH_TOKEN=abcdefgh,ijklmno=0123456789\n"MYSECRET=aaaaaaaa\nbbbbbbb\nccccccccc"\n'
            "FOO=bar",
            [
                "GIT_AUTH_TOKEN=abcdefgh,ijklmno=0123456789",
                "MYSECRET=aaaaaaaa\nbbbbbbb\nccccccccc",
                "FOO=bar",
            ],
        ),
        # actions-toolkit: multiline values escape quotes
        ('"MYSECRET=aaaa\nbbbb""bbb"\nFOO=bar', ['MYSECRET=aaaa\nbbbb"bbb', "FOO=bar"]),
        # relax_quotes: a quote inside an unquoted field stays
        ('NOTE="a, b"', ['NOTE="a, b"']),
        ("  A=1 , B  \n   \n", ["A=1 , B"]),
    ],
)
def test_items_are_lines_and_keep_their_commas(raw: str, items: list[str]) -> None:
    assert list_items(raw) == items


DOCKERFILE = (
    "ARG BASE=alpine\nFROM $BASE AS build\nARG VERSION HOSTS=a.test\n"
    "FROM scratch\nARG GREETING\nCOPY --from=build /x /x\n"
)


def test_the_declared_args_are_every_stage_s_and_the_predefined_ones() -> None:
    declared = declared_args(DOCKERFILE)
    assert {"BASE", "VERSION", "HOSTS", "GREETING"} <= declared
    assert {"HTTP_PROXY", "no_proxy", "BUILDKIT_INLINE_CACHE"} <= declared
    assert "COPY" not in declared
    assert "BUILDPLATFORM" not in declared


def test_build_args_keep_commas_and_quotes_as_build_push_action_does() -> None:
    problems: list[str] = []
    raw = 'HOSTS=a.test,b.test\nGREETING=hello, world\n"VERSION=1,2"\nNO_PROXY=localhost,.test'
    assert build_args(problems, raw, declared_args(DOCKERFILE)) == {
        "HOSTS": "a.test,b.test",
        "GREETING": "hello, world",
        "VERSION": "1,2",
        "NO_PROXY": "localhost,.test",
    }
    assert problems == []


def test_a_comma_before_a_name_that_is_no_declared_arg_stays_in_the_value() -> None:
    problems: list[str] = []
    assert build_args(problems, "GREETING=a,b=c", declared_args(DOCKERFILE)) == {
        "GREETING": "a,b=c"
    }
    assert problems == []


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (
            "VERSION=1,HOSTS=b.test",
            '--build-args: the value of VERSION holds ",HOSTS=" (an ARG of the Dockerfile): '
            "give one NAME=VALUE a line; a comma stays inside a value",
        ),
        (
            "VERSION=1, GREETING=hi,BUILDKIT_INLINE_CACHE=1",
            '--build-args: the value of VERSION holds ",GREETING=", ",BUILDKIT_INLINE_CACHE=" (an '
            "ARG of the Dockerfile): give one NAME=VALUE a line; a comma stays inside a value",
        ),
        ("NOEQUALS", "--build-args: 'NOEQUALS' is not NAME=VALUE"),
        ("=x", "--build-args: '=x' is not NAME=VALUE"),
        (
            '"VERSION=1',
            "--build-args: cannot be read as a list, one item a line (unexpected end of data)",
        ),
    ],
)
def test_a_bad_build_arg_is_one_problem_naming_no_value(raw: str, problem: str) -> None:
    problems: list[str] = []
    build_args(problems, f"A=secret-value-1\n{raw}", declared_args(DOCKERFILE))
    assert problems == [problem]


def test_labels_keep_commas_but_refuse_a_comma_before_any_key() -> None:
    problems: list[str] = []
    assert labels(problems, "team=games\nowners=ana,bo\nurl=https://x.test/?a=1") == {
        "team": "games",
        "owners": "ana,bo",
        "url": "https://x.test/?a=1",
    }
    assert problems == []
    labels(problems, "team=games,owner=ana")
    assert problems == [
        '--labels: the value of team holds ",owner=": give one NAME=VALUE a line; a comma '
        "stays inside a value"
    ]
