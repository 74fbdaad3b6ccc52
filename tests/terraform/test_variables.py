"""NAME=VALUE lines, HCL literals, declared variables, and run variables written as HCL by
declared type."""

from __future__ import annotations

from pathlib import Path

import pytest

from toto_actions.errors import UsageError
from toto_actions.terraform.variables import (
    declared_variables,
    hcl_literal,
    parse_variables,
    run_variable,
)


def test_declarations_and_their_types_are_read(tmp_path: Path) -> None:
    (tmp_path / "variables.tf").write_text(
        'variable "image_tag" {\n  type = string\n}\n\n'
        'variable "subnets" {\n  type    = list(string)\n  default = []\n}\n\n'
        'variable "untyped" {}\n\nvariable "count_of" {\n  type = number\n}\n',
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text('variable "ignored" {}\n', encoding="utf-8")
    assert declared_variables(tmp_path) == {
        "image_tag": "string",
        "subnets": "list(string)",
        "untyped": None,
        "count_of": "number",
    }


def test_run_variables_quote_strings_and_keep_other_types_as_hcl() -> None:
    assert run_variable("abc", "string") == '"abc"'
    assert run_variable("abc", None) == '"abc"'
    assert run_variable('["a","b"]', "list(string)") == '["a","b"]'
    assert run_variable("3", "number") == "3"


def test_variables_parse_and_refuse_what_is_not_name_value() -> None:
    assert parse_variables(["image_tag=abc123", "", " note = a=b "]) == {
        "image_tag": "abc123",
        "note": " a=b",
    }
    with pytest.raises(UsageError) as raised:
        parse_variables(["novalue", "1bad=x"])
    assert str(raised.value).splitlines() == [
        "variable 'novalue' is not NAME=VALUE",
        "variable '1bad=x' is not NAME=VALUE",
    ]


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("abc", '"abc"'),
        ('quote " and \\ back', '"quote \\" and \\\\ back"'),
        ("${not.interpolated} %{if}", '"$${not.interpolated} %%{if}"'),
        (3, "3"),
        (True, "true"),
        (["a", 1], '["a", 1]'),
        ({"k": "v", "n": [1]}, '{"k" = "v", "n" = [1]}'),
        (None, "null"),
    ],
)
def test_hcl_literals(value: object, literal: str) -> None:
    assert hcl_literal(value) == literal
