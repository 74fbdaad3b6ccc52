"""NAME=VALUE lines, HCL literals, declared variables, and run variables written as HCL by
declared type."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_variables_keep_terraform_names_and_refuse_the_others() -> None:
    problems: list[str] = []
    pairs = (("image_tag", "abc123"), ("note", " a=b"), ("1bad", "x"), ("a b", "y"))
    assert parse_variables(problems, pairs) == {"image_tag": "abc123", "note": " a=b"}
    assert problems == [
        "variable '1bad' is not a Terraform variable name",
        "variable 'a b' is not a Terraform variable name",
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
