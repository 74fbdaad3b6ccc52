"""What buildx itself says it does, read in its own sources, and what build-push makes of it:
the default provenance attestation, the docker driver on the containerd image store, platform
names, the buildx version.

Sources: docker/buildx build/opt.go (the default `attest:provenance`, `mode=min,inline-only=true`,
where the driver supports attestations), driver/docker/driver.go (Features: the docker driver
builds several platforms, exports cache and makes attestations when its worker is labelled
`org.mobyproject.buildkit.worker.snapshotter`), commands/inspect.go (`Labels:` lists the worker's
labels, since v0.11.0), docs/reference/buildx_build.md (`--provenance=false` disables it);
docker/build-push-action src/context.ts (attestation flags only to buildx >= 0.10.0);
containerd/platforms database.go (normalizeArch: arm64's v8 and amd64's v1 are implied, a bare
arm is arm/v7).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.buildx import write_client
from toto_actions.images import buildkit, docker_client
from toto_actions.images.build_options import platforms
from toto_actions.images.buildkit import BuildRequest
from toto_actions.images.docker_client import DockerClient
from toto_actions.images.manifests import PlatformManifest, platform_manifests
from toto_actions.images.names import normalize_platform

REQUEST = BuildRequest(
    Path("/src"), Path("/src/Dockerfile"), "registry.test/app:t1", {}, {}, platforms=()
)


def buildx(version: tuple[int, int] | None) -> DockerClient:
    return DockerClient("/opt/docker", "28.2.2", True, version)


@pytest.mark.parametrize(
    ("version", "provenance", "sbom", "expected"),
    [
        ((0, 19), None, None, ["--provenance=false"]),  # buildx would attach one unasked
        ((0, 10), None, None, ["--provenance=false"]),
        ((0, 9), None, None, []),  # no --provenance before v0.10: the flag would be refused
        (None, None, None, []),  # unknown version: the safe reading, no flag it may refuse
        ((0, 19), "mode=max", None, ["--provenance=mode=max"]),  # asked: as given
        ((0, 19), None, "true", ["--sbom=true"]),  # an SBOM asked makes an index anyway
    ],
)
def test_buildx_s_default_provenance_is_turned_off_unless_an_attestation_is_asked(
    version: tuple[int, int] | None,
    provenance: str | None,
    sbom: str | None,
    expected: list[str],
) -> None:
    request = REQUEST._replace(provenance=provenance, sbom=sbom)
    argv = buildkit.build_argv(buildx(version), request, Path("/private"))
    assert [a for a in argv if a.startswith(("--provenance", "--sbom"))] == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("v0.9.1", (0, 9)), ("v0.19.3", (0, 19)), ("0.12.1+azure-1", (0, 12))],
)
def test_the_buildx_version_is_read_from_docker_buildx_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str, expected: tuple[int, int]
) -> None:
    monkeypatch.setenv("TOTO_BUILDX_VERSION", answer)  # what the stand-in's buildx says
    client = docker_client.find_client([str(write_client(tmp_path))])
    assert (client.buildx, client.buildx_version) == (True, expected)


# `docker buildx inspect` of a runner's default builder (docker driver) on an engine with the
# containerd image store, and on the classic store (buildx v0.11 and later list the labels).
INSPECTED_STORE = """Name:          default
Driver:        docker

Nodes:
Name:             default
Endpoint:         default
Status:           running
BuildKit version: v0.20.2
Platforms:        linux/amd64, linux/amd64/v2, linux/386, linux/arm64
Labels:
 org.mobyproject.buildkit.worker.moby.host-gateway-ip: 172.17.0.1
 org.mobyproject.buildkit.worker.snapshotter:          overlayfs
"""
INSPECTED_CLASSIC = INSPECTED_STORE.replace(
    " org.mobyproject.buildkit.worker.snapshotter:          overlayfs\n", ""
)


def test_the_docker_driver_on_the_containerd_image_store_builds_what_it_supports() -> None:
    request = REQUEST._replace(
        platforms=("linux/amd64", "linux/arm64"),
        cache_to=("type=registry,ref=registry.test/app:cache",),
        provenance="mode=max",
        sbom="true",
    )
    store = docker_client.parse_builder(INSPECTED_STORE)
    classic = docker_client.parse_builder(INSPECTED_CLASSIC)

    assert (store.driver, store.containerd_store) == ("docker", True)
    assert buildkit.builder_problems(store, request) == []
    fix = (
        "use a docker-container builder (docker/setup-buildx-action), or turn on the engine's "
        "containerd image store"
    )
    assert buildkit.builder_problems(classic, request) == [
        f"--platforms: the buildx builder's docker driver builds one platform at a time: {fix}",
        "--cache-to 'type=registry,ref=registry.test/app:cache': the docker driver exports no "
        f"cache but inline: {fix}",
        f"--provenance: the docker driver makes no attestations: {fix}",
        f"--sbom: the docker driver makes no attestations: {fix}",
    ]


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/amd64/v1", "linux/amd64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/arm/v6", "linux/arm/v6"),
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/arm64", "linux/arm64"),
    ],
)
def test_platforms_are_named_as_buildkit_names_them(given: str, normalized: str) -> None:
    assert normalize_platform(given) == normalized


def test_the_same_platform_written_twice_is_built_once() -> None:
    problems: list[str] = []
    assert platforms(problems, "linux/amd64,linux/arm64/v8,linux/arm64") == (
        "linux/amd64",
        "linux/arm64",
    )
    assert problems == []


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (  # cmd/buildx/main.go: `ERROR: %v`
            [
                "#9 [2/2] RUN exit 3",
                "#9 ERROR: process did not complete successfully: exit code: 3",
                "------",
                'ERROR: failed to build: failed to solve: process "/bin/sh -c exit 3" did not '
                "complete successfully: exit code: 3",
            ],
            'failed to build: failed to solve: process "/bin/sh -c exit 3" did not complete '
            "successfully: exit code: 3",
        ),
        (  # build/utils.go notSupported: three lines, one message
            [
                "ERROR: Multi-platform build is not supported for the docker driver.",
                "Switch to a different driver, or turn on the containerd image store, and try "
                "again.",
                "Learn more at https://docs.docker.com/go/build-multi-platform/",
            ],
            "Multi-platform build is not supported for the docker driver. Switch to a different "
            "driver, or turn on the containerd image store, and try again. Learn more at "
            "https://docs.docker.com/go/build-multi-platform/",
        ),
    ],
)
def test_buildx_s_error_is_passed_on_without_its_prefix(output: list[str], message: str) -> None:
    assert buildkit._failure(output) == message


def test_an_index_s_images_are_listed_without_its_attestation_manifests() -> None:
    """moby/buildkit docs/attestations/attestation-storage.md: an attestation manifest is an
    entry of the index annotated `vnd.docker.reference.type: attestation-manifest`."""
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "amd64"}},
                {
                    "digest": "sha256:b",
                    "platform": {"os": "linux", "architecture": "arm", "variant": "v7"},
                },
                {
                    "digest": "sha256:c",
                    "platform": {"os": "unknown", "architecture": "unknown"},
                    "annotations": {
                        "vnd.docker.reference.digest": "sha256:a",
                        "vnd.docker.reference.type": "attestation-manifest",
                    },
                },
            ],
        }
    )
    assert platform_manifests(index) == [
        PlatformManifest("sha256:a", "linux/amd64"),
        PlatformManifest("sha256:b", "linux/arm/v7"),
    ]
