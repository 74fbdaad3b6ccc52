"""What the image tests share: the SDK on the session's engine, and build contexts written into
a test's directory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

import boto3  # type: ignore[import-untyped, unused-ignore]
import docker  # type: ignore[import-untyped, unused-ignore]
import pytest

from testing.local_stack import BaseImage, MotoServer
from testing.local_stack import DockerEngine as LocalEngine

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient


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


# ------------------------------------------------------------------------------------------------
# ECR on moto


@pytest.fixture
def aws_env(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MotoServer:
    """The moto fixture's variables and nothing of the machine's AWS configuration."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "GITHUB_ACTIONS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in moto_server.env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "aws-config").write_text("")
    (tmp_path / "aws-credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no wait for an instance's role
    return moto_server


@pytest.fixture
def ecr_client(aws_env: MotoServer) -> ECRClient:
    """A plain boto3 ECR client on moto, to arrange state and to look at the result."""
    client: ECRClient = boto3.client("ecr")
    return client


@pytest.fixture
def repository() -> str:
    """A repository name no other test uses."""
    return f"toto-ms-{uuid.uuid4().hex[:10]}"
