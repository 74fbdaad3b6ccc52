"""The README's tables of each action's inputs and outputs match its action.yml."""

from __future__ import annotations

import re

import pytest

from testing.actions_metadata import ACTIONS, COMPOSED_DEFAULTS, metadata
from tests.conftest import REPO_ROOT
from toto_actions.cli import command_module


def readme_tables(name: str) -> tuple[list[str], list[str]]:
    """The first column of the input and output tables in the README section of the action."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
    tables: dict[str, list[str]] = {"input": [], "output": []}
    current: list[str] | None = None
    for line in section.splitlines():
        header = re.fullmatch(r"\| (input|output) \|.*", line)
        if header:
            current = tables[header.group(1)]
        elif current is not None and (row := re.fullmatch(r"\| `([a-z-]+)` \|.*", line)):
            current.append(row.group(1))
        elif not line.startswith("|"):
            current = None
    return tables["input"], tables["output"]


@pytest.mark.parametrize("name", ACTIONS)
def test_the_readme_documents_every_input_and_output(name: str) -> None:
    inputs, outputs = readme_tables(name)
    action = metadata(name)
    assert inputs == list(action["inputs"])
    assert outputs == list(action["outputs"])


def readme_defaults(name: str) -> dict[str, str]:
    """input -> the README's default cell, for the action's input table."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
    table = section.split("| input | default | meaning |", 1)[1].split("\n\n", 1)[0]
    cells = [
        [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        for line in table.splitlines()
        if line.startswith("| `")
    ]
    return {row[0].strip("`"): row[1] for row in cells}


@pytest.mark.parametrize("name", ACTIONS)
def test_the_readme_defaults_are_the_actions_and_the_options(name: str) -> None:
    defaults = readme_defaults(name)
    inputs = metadata(name)["inputs"]
    for option in command_module(name).OPTIONS:
        cell, default = defaults[option.key], inputs[option.key].get("default")
        if option.required:
            assert cell == "(required)", option.key
        elif (name, option.key) in COMPOSED_DEFAULTS:
            assert cell and not cell.startswith("`"), option.key  # said in words
        elif default is not None:
            assert cell == f"`{default}`", option.key
        elif option.fallback_variable:
            assert f"`{option.fallback_variable}`" in cell, option.key
