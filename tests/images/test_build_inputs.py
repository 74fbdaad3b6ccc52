"""The digest of a build's inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from toto_actions.images.build_inputs import (
    BuildInputs,
    inputs_digest,
    inputs_tag,
)


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY app /app\n", encoding="utf-8")
    (tmp_path / "app").write_text("v1", encoding="utf-8")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util").write_text("u", encoding="utf-8")
    return tmp_path


def digest(context: Path, **changes: Any) -> str:
    inputs = BuildInputs(
        context, ("app", "lib/util"), context / "Dockerfile", {"A": "1"}, None, {"team": "a"}
    )
    return inputs_digest(inputs._replace(**changes))


def test_the_same_inputs_give_the_same_digest(context: Path) -> None:
    first = digest(context)
    assert digest(context) == first
    assert digest(context, files=("lib/util", "app")) == first  # order does not matter
    assert inputs_tag(first) == "toto-inputs-" + first[:40]


def _replace_with_symlink(path: Path) -> None:
    path.rename(path.with_name("other"))
    path.symlink_to("other")


@pytest.mark.parametrize(
    "change",
    [
        lambda c: (c / "app").write_text("v2", encoding="utf-8"),
        lambda c: (c / "lib" / "util").chmod(0o755),
        lambda c: (c / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8"),
        lambda c: _replace_with_symlink(c / "lib" / "util"),
    ],
)
def test_a_change_of_a_file_changes_the_digest(context: Path, change: object) -> None:
    before = digest(context)
    change(context)  # type: ignore[operator]
    assert digest(context) != before


def test_arguments_target_and_the_file_list_count(context: Path) -> None:
    before = digest(context)
    assert digest(context, build_args={"A": "2"}) != before
    assert digest(context, target="prod") != before
    assert digest(context, files=("app",)) != before
    assert digest(context, labels={"team": "b"}) != before


def test_secret_ids_platforms_and_network_count(context: Path) -> None:
    before = digest(context)
    with_secret = digest(context, secret_ids=("npm_token",))
    assert with_secret != before
    assert digest(context, secret_ids=("other",)) != with_secret
    assert digest(context, secret_ids=("npm_token", "npm_token")) == with_secret
    assert digest(context, platforms=("linux/arm64",)) != before
    assert digest(context, platforms=("linux/amd64", "linux/arm64")) == digest(
        context, platforms=("linux/arm64", "linux/amd64")
    )
    assert digest(context, network="none") != before


def test_the_base_images_digests_count(context: Path) -> None:
    python = "docker.io/library/python:3.12-slim@sha256:" + "1" * 64
    moved = "docker.io/library/python:3.12-slim@sha256:" + "2" * 64
    alpine = "docker.io/library/alpine:3.20@sha256:" + "3" * 64
    before = digest(context)
    on_python = digest(context, base_images=(python,))
    assert on_python != before
    assert digest(context, base_images=(moved,)) != on_python  # a moved tag: a new digest
    assert digest(context, base_images=(python, alpine)) == digest(
        context, base_images=(alpine, python)
    )
