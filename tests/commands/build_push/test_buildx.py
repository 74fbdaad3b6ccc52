"""`toto-actions build-push` with the buildx plugin: BuildKit pushes the image itself, every
platform at once, as docker/build-push-action has it.

This machine has no buildx (Debian ships none): testing/buildx.py stands in for it, building each
platform for real with Debian's BuildKit client into the test engine and pushing the result to
the local registry as an OCI index, with the login of the Docker config build-push gives it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import requests

from testing.buildx import write_client
from testing.local_stack import BaseImage, Registry
from tests.commands.build_push.conftest import (
    Service,
    on_registry,
    outputs_of,
    push_to_registry,
)

SECRET_VALUE = "buildx-secret-value-4c2e"
INDEX_ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"


class Buildx:
    """The stand-in buildx client first on PATH, and the command lines it received."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir()
        write_client(directory)
        self.log = directory / "argv.jsonl"
        self.env = {
            "PATH": f"{directory}{os.pathsep}{os.environ['PATH']}",
            "TOTO_BUILDX_LOG": str(self.log),
        }

    def builds(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [argv for argv in map(json.loads, lines) if argv[:2] == ["buildx", "build"]]


@pytest.fixture
def buildx(tmp_path: Path) -> Buildx:
    return Buildx(tmp_path / "buildx")


def manifest(registry: Registry, repository: str, reference: str) -> dict[str, Any]:
    answer = requests.get(
        f"{registry.url}/v2/{repository}/manifests/{reference}",
        headers={"Accept": INDEX_ACCEPT},
        timeout=10,
    )
    assert answer.status_code == 200, (reference, answer.status_code)
    document: dict[str, Any] = answer.json()
    return document


def served_digest(registry: Registry, repository: str, tag: str) -> str:
    answer = requests.head(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": INDEX_ACCEPT},
        timeout=10,
    )
    return answer.headers.get("Docker-Content-Digest", f"none: {answer.status_code}")


def test_several_platforms_are_built_and_pushed_by_buildx_as_one_index(
    service: Service,
    registry: Registry,
    base_image: BaseImage,
    engine_client: Any,
    buildx: Buildx,
) -> None:
    base = f"{registry.host}/toto/base:1"  # in a registry, as a builder reads its base
    push_to_registry(engine_client, base_image.tag, base)
    (service.root / "Dockerfile").write_text(
        f"FROM {base}\n"
        "RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /token-length\n"
        "COPY app.txt /app.txt\n",
        encoding="utf-8",
    )
    arguments = on_registry(registry, "toto/multi", "--platforms", "linux/amd64,linux/arm64")
    arguments += ["--secrets", f"token={SECRET_VALUE}"]

    first = service(*arguments, env=buildx.env)
    again = service(*arguments, env=buildx.env)

    assert first.exit_code == 0, first.stdout + first.stderr
    assert again.exit_code == 0, again.stdout + again.stderr
    outputs = outputs_of(first)
    index = manifest(registry, "toto/multi", outputs["digest"])
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    platforms = [entry["platform"]["architecture"] for entry in index["manifests"]]
    assert platforms == ["amd64", "arm64"]
    for tag in ("0123456", "1.4.0"):
        assert served_digest(registry, "toto/multi", tag) == outputs["digest"]
    (build,) = buildx.builds()  # the second run reused the index
    assert build[build.index("--platform") + 1] == "linux/amd64,linux/arm64"
    assert {"--push", "--metadata-file"} <= set(build) and "--load" not in build
    assert outputs_of(again)["skipped"] == "true"
    assert outputs_of(again)["digest"] == outputs["digest"]
    log = buildx.log.read_text(encoding="utf-8")
    for text in (log, first.stdout.replace(f"::add-mask::{SECRET_VALUE}", ""), first.stderr):
        assert SECRET_VALUE not in text


def test_buildx_pushes_with_the_login_of_the_private_docker_config(
    service: Service, private_registry: Registry, buildx: Buildx
) -> None:
    assert private_registry.login is not None
    user, password = private_registry.login.basic

    result = service(
        *on_registry(private_registry, "toto/private-multi"),
        "--platforms",
        "linux/amd64,linux/arm64",
        "--registry-username",
        user,
        "--registry-password",
        password,
        env=buildx.env,
    )

    assert result.exit_code == 0, result.stdout + result.stderr
    answer = requests.head(
        f"{private_registry.url}/v2/toto/private-multi/manifests/0123456",
        headers={"Accept": INDEX_ACCEPT},
        auth=(user, password),
        timeout=10,
    )
    assert answer.headers["Docker-Content-Digest"] == outputs_of(result)["digest"]
    assert password not in buildx.log.read_text(encoding="utf-8")


def test_a_builder_without_the_platforms_is_one_line_before_anything_is_pushed(
    service: Service, registry: Registry, buildx: Buildx
) -> None:
    env = {**buildx.env, "TOTO_BUILDX_PLATFORMS": "linux/amd64, linux/386"}

    result = service(
        *on_registry(registry, "toto/no-arm", "--platforms", "linux/amd64,linux/arm64"),
        env=env,
    )

    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --platforms: the buildx builder cannot build linux/arm64 (it builds linux/386, "
        "linux/amd64): set up QEMU and a builder for them (docker/setup-qemu-action, "
        "docker/setup-buildx-action)"
    ]
    assert buildx.builds() == []
    assert requests.get(f"{registry.url}/v2/toto/no-arm/tags/list", timeout=10).status_code == 404
