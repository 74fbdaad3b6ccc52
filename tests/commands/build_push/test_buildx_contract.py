"""`toto-actions build-push` against a buildx that answers as buildx's own sources say
(testing/buildx.py): the provenance attestation it attaches unasked, the docker driver on the
containerd image store, platform names, its `ERROR:` lines, the networks it takes.

Sources: docker/buildx build/opt.go (default `attest:provenance` = `mode=min,inline-only=true`
where the driver supports attestations; network modes default, none, host), build/utils.go
(notSupported), driver/docker/driver.go (Features on the containerd snapshotter),
cmd/buildx/main.go (`ERROR: %v`), docs/reference/buildx_build.md (`--provenance=false`);
moby/buildkit docs/attestations/attestation-storage.md (the attestation manifest in the index).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests

from testing.local_stack import BaseImage, Registry
from tests.commands.build_push.conftest import (
    Service,
    on_registry,
    outputs_of,
    write_dockerfile,
)
from tests.commands.build_push.test_buildx import Buildx, manifest

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture
def buildx(tmp_path: Path) -> Buildx:
    return Buildx(tmp_path / "buildx")


def test_one_platform_is_pushed_as_one_image_not_as_an_index_with_provenance(
    service: Service, registry: Registry, buildx: Buildx
) -> None:
    """The stand-in's docker-container builder attaches provenance unasked, as buildx does: an
    index ECR cannot scan. build-push turns it off (`--provenance=false`, buildx >= 0.10)."""
    result = service(*on_registry(registry, "toto/one-image"), env=buildx.env)

    assert result.exit_code == 0, result.stdout + result.stderr
    pushed = manifest(registry, "toto/one-image", outputs_of(result)["digest"])
    assert pushed["mediaType"] == OCI_MANIFEST
    (build,) = buildx.builds()
    assert "--provenance=false" in build


def test_asked_provenance_is_attached_as_buildkit_stores_it(
    service: Service, registry: Registry, buildx: Buildx
) -> None:
    result = service(
        *on_registry(registry, "toto/attested"), "--provenance", "mode=min", env=buildx.env
    )

    assert result.exit_code == 0, result.stdout + result.stderr
    index = manifest(registry, "toto/attested", outputs_of(result)["digest"])
    assert index["mediaType"] == OCI_INDEX
    image, attestation = index["manifests"]
    assert image["platform"] == {"os": "linux", "architecture": "amd64"}
    assert attestation["platform"] == {"os": "unknown", "architecture": "unknown"}
    assert attestation["annotations"] == {
        "vnd.docker.reference.digest": image["digest"],
        "vnd.docker.reference.type": "attestation-manifest",
    }
    (build,) = buildx.builds()
    assert "--provenance=mode=min" in build and "--provenance=false" not in build


def test_a_buildx_older_than_0_10_gets_no_provenance_flag(
    service: Service, registry: Registry, buildx: Buildx
) -> None:
    """Before v0.10 buildx has no --provenance (and attaches none): it would refuse the flag."""
    env = {**buildx.env, "TOTO_BUILDX_VERSION": "v0.9.1"}

    result = service(*on_registry(registry, "toto/old-buildx"), env=env)

    assert result.exit_code == 0, result.stdout + result.stderr
    (build,) = buildx.builds()
    assert not [argument for argument in build if argument.startswith("--provenance")]


def test_the_docker_driver_on_the_containerd_image_store_builds_several_platforms(
    service: Service, registry: Registry, buildx: Buildx
) -> None:
    env = {**buildx.env, "TOTO_BUILDX_DRIVER": "docker", "TOTO_BUILDX_CONTAINERD_STORE": "1"}

    result = service(
        *on_registry(registry, "toto/store", "--platforms", "linux/amd64,linux/arm64"), env=env
    )

    assert result.exit_code == 0, result.stdout + result.stderr
    index = manifest(registry, "toto/store", outputs_of(result)["digest"])
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]


def test_the_docker_driver_on_the_classic_store_is_refused_before_anything_is_pushed(
    service: Service, registry: Registry, buildx: Buildx
) -> None:
    env = {**buildx.env, "TOTO_BUILDX_DRIVER": "docker"}

    result = service(
        *on_registry(registry, "toto/classic", "--platforms", "linux/amd64,linux/arm64"), env=env
    )

    assert (result.exit_code, result.stderr) == (
        2,
        "error: --platforms: the buildx builder's docker driver builds one platform at a time: "
        "use a docker-container builder (docker/setup-buildx-action), or turn on the engine's "
        "containerd image store\n",
    )
    assert buildx.builds() == []
    assert requests.get(f"{registry.url}/v2/toto/classic/tags/list", timeout=10).status_code == 404


def test_linux_arm64_v8_is_linux_arm64(
    service: Service, registry: Registry, buildx: Buildx
) -> None:
    """A builder lists linux/arm64 (containerd normalises arm64/v8 to it), and so does the
    index: the implied variant is no reason to refuse."""
    env = {**buildx.env, "TOTO_BUILDX_PLATFORMS": "linux/amd64*, linux/arm64*"}

    result = service(
        *on_registry(registry, "toto/arm64-v8", "--platforms", "linux/amd64,linux/arm64/v8"),
        env=env,
    )

    assert result.exit_code == 0, result.stdout + result.stderr
    (build,) = buildx.builds()
    assert build[build.index("--platform") + 1] == "linux/amd64,linux/arm64"
    index = manifest(registry, "toto/arm64-v8", outputs_of(result)["digest"])
    assert index["manifests"][1]["platform"] == {"os": "linux", "architecture": "arm64"}


def test_a_failed_buildx_build_is_one_line_without_buildx_s_prefix(
    service: Service, registry: Registry, base_image: BaseImage, buildx: Buildx
) -> None:
    write_dockerfile(service, base_image, "RUN exit 3\n")

    result = service(*on_registry(registry, "toto/fails"), env=buildx.env)

    assert result.exit_code == 1
    (line,) = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert line.startswith("error: docker build failed: failed to build: "), line
    assert line.endswith("exit code: 3") and "ERROR" not in line, line


def test_the_stand_in_refuses_a_network_as_buildx_does(tmp_path: Path, buildx: Buildx) -> None:
    """build-push refuses it first (test_build_push.py, exit 2); this is what buildx says."""
    client = str(tmp_path / "buildx" / "docker")
    answer = subprocess.run(
        [client, "buildx", "build", "--push", "--network", "bridge", "-t", "x/y:1", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **buildx.env},
    )

    assert (answer.returncode, answer.stderr) == (
        1,
        'ERROR: network mode "bridge" not supported by buildkit - you can define a custom '
        "network for your builder using the network driver-opt in buildx create\n",
    )
