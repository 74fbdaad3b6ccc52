"""The variables file tf-apply gives terraform instead of `-var NAME=VALUE` (issue 28, point 9):
each value as `-var` would give it (hashicorp/terraform, internal/configs/named_values.go,
`decodeVariableType`: literal text for no type or a primitive one, an HCL expression otherwise),
strings in the escapes HCL reads back (hashicorp/hcl, hclsyntax/parser.go,
`ParseStringLiteralToken`: \\n \\r \\t \\" \\\\ \\uNNNN, `$${` and `%%{`; no \\b nor \\f). The
real terraform reads these files in tests/commands/test_tf_apply_cli_var_file.py."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from toto_actions.errors import UsageError
from toto_actions.terraform.var_file import private_var_file
from toto_actions.terraform.variables import (
    declared_variables,
    hcl_string,
    takes_literal,
    var_file_text,
)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("plain", '"plain"'),
        ("two\nlines\r\n", '"two\\nlines\\r\\n"'),
        ("\b\f\x1b", '"\\u0008\\u000c\\u001b"'),
        ('a "b" \\c', '"a \\"b\\" \\\\c"'),
        ("${x} %{y}", '"$${x} %%{y}"'),
        ("$$${x} %%%{y} $x %y $ %", '"$$$${x} %%%%{y} $x %y $ %"'),
        ("😀 é", '"😀 é"'),
    ],
)
def test_hcl_strings(text: str, quoted: str) -> None:
    assert hcl_string(text) == quoted


@pytest.mark.parametrize(
    ("declared", "literal"),
    [
        (None, True),
        ("string", True),
        ("number", True),
        ("bool  # a comment", True),
        ("list(string)", False),
        ("map(string)", False),
        ("any", False),
        ("object({ a = string })", False),
        ("string_list_alias", False),
    ],
)
def test_literal_text_for_no_type_or_a_primitive_one(declared: str | None, literal: bool) -> None:
    assert takes_literal(declared) is literal


def test_the_file_quotes_literals_and_writes_expressions_as_given() -> None:
    declared = {"tag": "string", "subnets": "list(string)", "count_of": "number", "other": None}
    variables = {"tag": 'v"1', "subnets": '["a", "b"]', "count_of": "3", "other": "${x}"}
    assert var_file_text(variables, declared) == (
        'tag = "v\\"1"\nsubnets = ["a", "b"]\ncount_of = "3"\nother = "$${x}"\n'
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"a=b": "c"}, "'a=b' is not a Terraform variable name"),
        ({"nope": "c"}, "variable 'nope' is not declared by the configuration"),
        ({"tag": "a\0b"}, "variable tag: its value is not text terraform can read"),
        ({"tag": "\udcff"}, "variable tag: its value is not text terraform can read"),
    ],
)
def test_a_bad_variable_is_refused_and_nothing_written(
    tmp_path: Path, variables: dict[str, str], message: str
) -> None:
    (tmp_path / "main.tf").write_text('variable "tag" {}\n', encoding="utf-8")
    with pytest.raises(UsageError, match=message), private_var_file(variables, tmp_path, tmp_path):
        pass
    assert [path.name for path in tmp_path.iterdir()] == ["main.tf"]


def test_the_file_is_private_and_removed_even_on_an_error(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "main.tf").write_text('variable "tag" {}\n', encoding="utf-8")
    seen: list[Path] = []
    with (
        pytest.raises(RuntimeError),
        private_var_file({"tag": "v1"}, tmp_path, tmp_path / "tmp") as written,
    ):
        assert written is not None
        seen.append(written)
        assert written.parent == tmp_path / "tmp"
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
        assert written.read_text(encoding="utf-8") == 'tag = "v1"\n'
        raise RuntimeError("terraform failed")
    assert not seen[0].exists()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_declarations_with_a_bare_label_and_in_json_are_read(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text("variable bare {\n  type = number\n}\n", encoding="utf-8")
    (tmp_path / "vars.tf.json").write_text(
        '{"variable": {"from_json": {"type": "list(string)"}, "untyped_json": {}}}',
        encoding="utf-8",
    )
    assert declared_variables(tmp_path) == {
        "bare": "number",
        "from_json": "list(string)",
        "untyped_json": None,
    }
