"""toto.yml, read strictly: a key YAML does not read as a string and a key given twice are refused.

PyYAML reads YAML 1.1, as GitHub does: an environment named `yes:`, `on:` or `off:` would become
True or False and a duplicate key would silently replace the first one. Both are mistakes a
reader of the file cannot see, so they fail with the line and the way to write it.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from toto_actions.errors import UsageError
from toto_actions.workflows.repository_files import refuse_links

SETTINGS_FILE = "toto.yml"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _KeyProblem(Exception):
    """A mapping key the settings cannot take, at a line of the file (1-based)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _StrictLoader(yaml.SafeLoader):
    """The safe loader, refusing keys that are not strings or that a mapping gives twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *anchor` may repeat keys on purpose
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise _KeyProblem(
                    line,
                    f"key {key_node.value} is read as {key!r}, not as a name (YAML 1.1): "
                    f'quote it, "{key_node.value}"',
                )
            if key in seen:
                raise _KeyProblem(line, f"key {key!r} is given twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_settings_file(repo_dir: Path, known_keys: Collection[str]) -> dict[str, Any]:
    """Read the repository's toto.yml (absent: no settings); its keys are the options' names
    without dashes. A link, bad YAML, a key not read as a string or given twice: UsageError."""
    refuse_links(repo_dir, PurePosixPath(SETTINGS_FILE))
    path = repo_dir / SETTINGS_FILE
    if not path.exists():
        return {}
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    try:
        content = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader
    except _KeyProblem as problem:
        raise UsageError(f"{path}, line {problem.line}: {problem.message}") from problem
    except (yaml.YAMLError, UnicodeDecodeError) as problem:
        raise UsageError(f"{path}: not valid YAML ({problem})".replace("\n", " ")) from problem
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise UsageError(f"{path}: expected a mapping of settings, found {type(content).__name__}")
    for key in content:
        if key not in known_keys:
            raise UsageError(f"{path}: unknown setting {key!r} (known: {', '.join(known_keys)})")
    return content
