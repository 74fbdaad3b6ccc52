"""Declared variables, and run variables written as HCL by declared type."""

from __future__ import annotations

from pathlib import Path

from toto_actions.terraform.variables import declared_variables, run_variable


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
