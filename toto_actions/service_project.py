"""The service's own project file: its name and version, from package.json or pyproject.toml.

build-push tags the image with the version; render-workflow names the service (the ECR
repository, the HCP Terraform workspaces) after the name. Plain logic: files in, values out.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from toto_actions.errors import UsageError


def _tomllib_project(text: str) -> object:
    return tomllib.loads(text).get("project")


# Each file, and where in it the project's table is; the first one present wins.
PROJECT_FILES: tuple[tuple[str, Callable[[str], object]], ...] = (
    ("package.json", json.loads),
    ("pyproject.toml", _tomllib_project),
)


def service_name(directory: Path) -> tuple[object, str]:
    """The name in the first project file that has one (an npm scope dropped), and where it was
    found; else the directory's name. An unreadable project file is a UsageError."""
    for file_name, table in _project_tables(directory, "name"):
        name = table.get("name")
        if file_name == "package.json" and isinstance(name, str) and name.startswith("@"):
            name = name.partition("/")[2]  # an npm scope is no part of the repository's name
        if name:
            return name, file_name
    return directory.resolve().name, "the directory name"


def service_version(directory: Path) -> str | None:
    """The version in the first project file present, made a valid tag (`+` becomes `-`); None
    when it has none, or cannot be read (the tags then say what is missing)."""
    try:
        first = next(_project_tables(directory, "version"), None)
    except UsageError:
        return None
    version = first[1].get("version") if first else None
    return version.replace("+", "-") if isinstance(version, str) and version else None


def _project_tables(directory: Path, wanted: str) -> Iterator[tuple[str, Mapping[str, object]]]:
    """(file name, project table) of each project file present, read only when reached."""
    for file_name, table_of in PROJECT_FILES:
        path = directory / file_name
        if not path.is_file():
            continue
        try:
            found = table_of(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as problem:  # JSON and TOML errors are ValueErrors
            raise UsageError(f"{path}: cannot read its {wanted} ({problem})") from problem
        yield file_name, found if isinstance(found, dict) else {}
