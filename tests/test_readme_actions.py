"""Each action's README (actions/<name>/README.md): its input and output tables match its
action.yml, and each input's default and type cells match the command's option declaration."""

from __future__ import annotations

import re

import pytest

from testing.actions_metadata import ACTIONS, COMPOSED_DEFAULTS, metadata
from tests.conftest import REPO_ROOT
from toto_actions import options
from toto_actions.cli import command_module

INPUT_HEADER = "| input | type | default | meaning |"
OUTPUT_HEADER = "| output | type | meaning |"
# What an output holds; outputs are strings on the runner, these say how to read them.
OUTPUT_TYPES = {"string", "boolean", "integer", "choice", "comma list", "URL", "path", "JSON"}


def action_readme(name: str) -> str:
    return (REPO_ROOT / "actions" / name / "README.md").read_text(encoding="utf-8")


def readme_tables(name: str) -> tuple[list[str], list[str]]:
    """The first column of the input and output tables of the action's README."""
    tables: dict[str, list[str]] = {"input": [], "output": []}
    current: list[str] | None = None
    for line in action_readme(name).splitlines():
        header = re.fullmatch(r"\| (input|output) \|.*", line)
        if header:
            current = tables[header.group(1)]
        elif current is not None and (row := re.fullmatch(r"\| `([a-z-]+)` \|.*", line)):
            current.append(row.group(1))
        elif not line.startswith("|"):
            current = None
    return tables["input"], tables["output"]


def input_rows(name: str) -> dict[str, list[str]]:
    """input -> its cells (name, type, default, meaning) in the action's input table."""
    table = action_readme(name).split(INPUT_HEADER, 1)[1].split("\n\n", 1)[0]
    rows = [
        [cell.strip() for cell in re.split(r"(?<=\s)\|(?=\s)", line.strip().strip("|"))]
        for line in table.splitlines()
        if line.startswith("| `")
    ]
    return {row[0].strip("`"): row for row in rows}


def input_type(option: options.Option) -> str:
    """The type a README names for an option: from its declared kind, and for text read as a
    list, from how its help says the list is split (the same words action.yml uses)."""
    by_kind = {
        options.SWITCH: "boolean",
        options.SECONDS: "seconds",
        options.INTEGER: "integer",
        options.URL: "URL",
        options.CHOICE: "choice",
        options.LINES: "line list",
    }
    if option.kind in by_kind:
        return by_kind[option.kind]
    if re.search(r"\bone\b[^,;]*\b(a|per) line\b", option.help):
        return "line list"
    return "comma list" if "comma-separated" in option.help else "string"


@pytest.mark.parametrize("name", ACTIONS)
def test_the_readme_documents_every_input_and_output(name: str) -> None:
    inputs, outputs = readme_tables(name)
    action = metadata(name)
    assert inputs == list(action["inputs"])
    assert outputs == list(action["outputs"])


@pytest.mark.parametrize("name", ACTIONS)
def test_the_readme_defaults_are_the_actions_and_the_options(name: str) -> None:
    rows = input_rows(name)
    inputs = metadata(name)["inputs"]
    for option in command_module(name).OPTIONS:
        cell, default = rows[option.key][2], inputs[option.key].get("default")
        if option.required:
            assert cell == "(required)", option.key
        elif (name, option.key) in COMPOSED_DEFAULTS:
            assert cell and not cell.startswith("`"), option.key  # said in words
        elif default is not None:
            assert cell == f"`{default}`", option.key
        elif option.fallback_variable:
            assert f"`{option.fallback_variable}`" in cell, option.key


@pytest.mark.parametrize("name", ACTIONS)
def test_the_type_column_is_the_options_kind(name: str) -> None:
    rows = input_rows(name)
    declared = command_module(name).OPTIONS
    assert {key: row[1] for key, row in rows.items()} == {
        option.key: input_type(option) for option in declared
    }
    for option in declared:  # a choice names every value it takes
        missing = [value for value in option.choices if f"`{value}`" not in rows[option.key][3]]
        assert missing == [], option.key


@pytest.mark.parametrize("name", ACTIONS)
def test_every_output_has_a_type(name: str) -> None:
    table = action_readme(name).split(OUTPUT_HEADER, 1)[1].split("\n\n", 1)[0]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| `")]
    assert [row[0].strip("| `") for row in rows] == list(metadata(name)["outputs"])
    assert {row[0].strip("| `"): row[1] for row in rows if row[1] not in OUTPUT_TYPES} == {}


def test_the_type_of_a_list_follows_how_the_option_splits_it() -> None:
    """The kinds a README names are what the declarations say, list by list."""
    build_push = {option.key: option for option in command_module("build-push").OPTIONS}
    tf_apply = {option.key: option for option in command_module("tf-apply").OPTIONS}
    assert input_type(build_push["build-args"]) == "line list"
    assert input_type(build_push["tags"]) == "comma list"
    assert input_type(tf_apply["var"]) == "line list"
    assert input_type(tf_apply["wait-for-services"]) == "line list"
    assert input_type(tf_apply["plan-only"]) == "boolean"
    assert input_type(tf_apply["wait-timeout"]) == "seconds"
    assert input_type(tf_apply["workspace"]) == "string"


def test_the_actions_readme_lists_every_action_with_its_readme() -> None:
    index = (REPO_ROOT / "actions" / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^- \[`([a-z-]+)`\]\(([a-z-]+)/README\.md\)", index, re.MULTILINE)
    assert listed == [(name, name) for name in ACTIONS]
