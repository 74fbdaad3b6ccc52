"""What the image tests share: the SDK on the session's engine, and build contexts written into
a test's directory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

import docker  # type: ignore[import-untyped, unused-ignore]
import pytest

from testing.local_stack import BaseImage
from testing.local_stack import DockerEngine as LocalEngine


@pytest.fixture(scope="module")
def api(docker_engine: LocalEngine) -> Iterator[docker.APIClient]:
    """The SDK itself, to look at what the engine holds."""
    client = docker.APIClient(base_url=docker_engine.base_url, version="auto")
    yield client
    client.close()


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    """Write files (relative paths -> text) under root; root."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


class ContextOnBaseImage(Protocol):
    def __call__(self, steps: str, files: Mapping[str, str] = ...) -> Path: ...


@pytest.fixture
def context_on_base_image(tmp_path: Path, base_image: BaseImage) -> ContextOnBaseImage:
    """Writes a build context into tmp_path: the files, and a Dockerfile whose first stage,
    `base`, is the session's base image, followed by the steps."""

    def write(steps: str, files: Mapping[str, str] = MappingProxyType({})) -> Path:
        return write_tree(
            tmp_path, {**files, "Dockerfile": f"FROM {base_image.tag} AS base\n{steps}"}
        )

    return write
