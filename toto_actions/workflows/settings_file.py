"""toto.yml, read strictly: a key YAML does not read as a string and a key given twice are refused.

PyYAML reads YAML 1.1, as GitHub does: an environment named `yes:`, `on:` or `off:` would become
True or False and a duplicate key would silently replace the first one. Both are mistakes a
reader of the file cannot see, so they fail with the line and the way to write it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
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


class _BlockDumper(yaml.SafeDumper):
    """Writes a multi-line string as a `|` block, as a person would (build-args)."""


_BlockDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def settings_text(current: str, changes: Mapping[str, object | None]) -> str:
    """current (toto.yml's text) with each key of changes set to its value, or removed for None:
    a key it holds is replaced where it stands, a new one appended, and every other line (the
    comments included) kept as it is. A flow-style mapping (`{kind: core}`) is written anew."""
    root = yaml.compose(current, Loader=yaml.SafeLoader) if current.strip() else None
    if root is not None and (not isinstance(root, yaml.MappingNode) or root.flow_style):
        merged = {**yaml.safe_load(current), **changes}
        return _dumped({k: v for k, v in merged.items() if v is not None})
    spans = {} if root is None else _key_spans(current, root)
    text = current
    # From the end of the file, so that the spans still ahead keep their offsets.
    for key, (start, end) in sorted(spans.items(), key=lambda item: -item[1][0]):
        if key in changes:
            value = changes[key]
            kept_newline = "\n" if text[start:end].endswith("\n") else ""
            replacement = "" if value is None else _dumped({key: value}).rstrip("\n") + kept_newline
            # A removed key takes its line's end with it.
            line_end = value is None and not kept_newline and text[end:].startswith("\n")
            after = end + 1 if line_end else end
            text = text[:start] + replacement + text[after:]
    added = {k: v for k, v in changes.items() if k not in spans and v is not None}
    if added:
        text = (text if not text or text.endswith("\n") else text + "\n") + _dumped(added)
    return text


def _key_spans(text: str, root: yaml.MappingNode) -> dict[str, tuple[int, int]]:
    """Each top-level key's `key: value` text, from the key to its value's last line (the blank
    lines and comments after a block value belong to what follows)."""
    spans = {}
    for key_node, value_node in root.value:
        start, end = key_node.start_mark.index, value_node.end_mark.index
        lines = text[start:end].splitlines(keepends=True)
        while len(lines) > 1 and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
            end -= len(lines.pop())
        spans[str(key_node.value)] = (start, end)
    return spans


def _dumped(settings: Mapping[str, object]) -> str:
    return yaml.dump(
        settings, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=10**6
    )


def settings_changes(
    current: Mapping[str, Any], given: Mapping[str, object], alternatives: Mapping[str, str]
) -> dict[str, object | None]:
    """What toto.yml (read as current) must change to hold the given settings: each given value
    it does not hold yet (NAME=VALUE pairs as NAME=VALUE strings), and None (remove it) for the
    alternative spelling of a given key (alternatives: key -> the other key)."""
    changes: dict[str, object | None] = {}
    for key, value in given.items():
        written = [f"{name}={text}" for name, text in value] if isinstance(value, tuple) else value
        if current.get(key) != written:
            changes[key] = written
        other = alternatives.get(key)
        if other is not None and other in current:
            changes[other] = None
    return changes
