"""The README's tables of each action's inputs and outputs match its action.yml."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO_ROOT
from tests.test_action_metadata import ACTIONS, metadata


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
