"""The digest of a build's inputs, and the Dockerfile features the classic builder lacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from toto_actions.images.build_inputs import (
    BuildInputs,
    buildkit_problems,
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


@pytest.mark.parametrize(
    ("lines", "number", "feature"),
    [
        (["# syntax=docker/dockerfile:1", "FROM scratch"], 1, "a `# syntax=` directive"),
        (
            ["FROM alpine", "RUN --mount=type=cache,target=/root/.cache pip install x"],
            2,
            "RUN --mount",
        ),
        (["FROM alpine", "RUN --network=none true"], 2, "RUN --network"),
        (
            ["FROM alpine", "COPY --chmod=755 app /app"],
            2,
            "COPY/ADD --chmod, --link, --parents or --exclude",
        ),
        (["FROM alpine", "RUN <<EOF", "echo hi", "EOF"], 2, "a heredoc"),
        (["FROM alpine", "COPY <<-'EOT' /etc/conf", "x", "EOT"], 2, "a heredoc"),
        (
            ["FROM alpine", "RUN \\", "    --mount=type=secret,id=a cat /run/secrets/a"],
            2,
            "RUN --mount",
        ),
        (["FROM alpine", "ADD --checksum=sha256:abc https://x/y /y"], 2, "ADD --checksum"),
    ],
)
def test_buildkit_features_are_found_with_their_line(
    lines: list[str], number: int, feature: str
) -> None:
    assert buildkit_problems(Path("Dockerfile"), lines) == [
        f"Dockerfile:{number}: {feature} needs BuildKit, which the classic builder that the "
        "docker SDK drives lacks; rewrite the line without it"
    ]


def test_what_the_classic_builder_understands_passes() -> None:
    lines = [
        "# a comment",
        "FROM alpine AS base",
        "ARG X=1",
        "RUN echo $((1<<2)) && true",
        "COPY --from=base --chown=1:1 /a /b",
        "FROM scratch",
        "# syntax=late, a comment",
    ]
    assert buildkit_problems(Path("Dockerfile"), lines) == []
