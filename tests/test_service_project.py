"""service_project: the service's name and version, from the project files, as plain logic."""

from __future__ import annotations

from pathlib import Path

import pytest

from toto_actions.errors import UsageError
from toto_actions.service_project import service_name, service_version


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "toto-ms-dir"
    root.mkdir()
    for name, content in files.items():
        (root / name).write_text(content, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"package.json": '{"name": "toto-ms-a", "version": "1.2.0"}'}, ("toto-ms-a", "1.2.0")),
        ({"package.json": '{"name": "@acme/toto-ms-a"}'}, ("toto-ms-a", None)),
        (
            {"pyproject.toml": '[project]\nname = "toto-ms-p"\nversion = "2.0.0+local.1"\n'},
            ("toto-ms-p", "2.0.0-local.1"),
        ),
        # package.json wins; a name it lacks is looked for in pyproject.toml, a version is not.
        (
            {"package.json": "{}", "pyproject.toml": '[project]\nname = "p"\nversion = "3"\n'},
            ("p", None),
        ),
        ({"package.json": "[1, 2]"}, ("toto-ms-dir", None)),
        ({"pyproject.toml": "project = 3\n"}, ("toto-ms-dir", None)),
        ({}, ("toto-ms-dir", None)),
    ],
)
def test_name_and_version(
    tmp_path: Path, files: dict[str, str], expected: tuple[str, str | None]
) -> None:
    root = project(tmp_path, files)
    name, _ = service_name(root)
    assert (name, service_version(root)) == expected


def test_where_the_name_was_found(tmp_path: Path) -> None:
    assert service_name(project(tmp_path, {"pyproject.toml": '[project]\nname = "p"\n'})) == (
        "p",
        "pyproject.toml",
    )


def test_an_unreadable_file_has_no_version_but_its_name_is_a_usage_error(tmp_path: Path) -> None:
    root = project(tmp_path, {"package.json": "{not json"})
    assert service_version(root) is None
    with pytest.raises(UsageError, match=r"package\.json: cannot read its name \("):
        service_name(root)
