"""What the tests of examples/ share: where the examples are, and their Terraform read as data."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
CORE = EXAMPLES / "core"
SERVICE = EXAMPLES / "service"
IAM = EXAMPLES / "iam"
REPOSITORIES = EXAMPLES / "repositories"

# Plain values: names without their quotes, no comments, no block markers.
PLAIN = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


@functools.cache
def configuration(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Every top-level block of the .tf files of directory, by block type (variable, output,
    resource...), as python-hcl2 reads them (once: the tests only read it)."""
    blocks: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open(encoding="utf-8") as file:
            for kind, entries in hcl2.load(file, serialization_options=PLAIN).items():
                blocks.setdefault(kind, []).extend(entries)
    return blocks


def labelled(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """Blocks of one label (variable, output) by that label."""
    return {label: body for block in blocks for label, body in block.items()}


def resources(directory: Path) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(type, name, body) of each resource the configuration declares."""
    for block in configuration(directory).get("resource", []):
        for kind, named in block.items():
            for name, body in named.items():
                yield kind, name, body
