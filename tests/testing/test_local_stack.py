"""The local stack (testing/local_stack/) works end to end, over real sockets.

1. The Docker engine is the private one: its own data root, storage driver and socket; the docker
   CLI reaches it through DOCKER_HOST.
2. The docker SDK builds (low-level streaming API) a FROM scratch image and one FROM the busybox
   base image with a RUN step, and pushes to the local registry over plain http (dockerd trusts
   127.0.0.0/8 without --insecure-registry); the registry's own v2 API shows the tag, the
   manifest and its digest, and deletes. The private registry (htpasswd) serves its login only.
3. boto3, pointed at moto by the fixture's variables, creates an ECR repository, puts and reads
   back an image manifest and gets an authorization token; what moto answers where it differs
   from ECR is pinned here.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
import docker  # type: ignore[import-untyped, unused-ignore]
import pytest
import requests

from testing.local_stack import (
    BaseImage,
    DockerEngine,
    MotoServer,
    Registry,
    sha256_digest,
)

DOCKER_MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_ACCEPT = ", ".join(
    (
        DOCKER_MANIFEST_V2,
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    )
)


@pytest.fixture
def client(docker_engine: DockerEngine) -> Iterator[Any]:
    """A docker SDK client of the session's engine."""
    sdk_client = docker.DockerClient(base_url=docker_engine.base_url)
    yield sdk_client
    sdk_client.close()


@pytest.fixture
def ecr(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An ECR client configured only by the moto fixture's variables, as a command would be."""
    for name, value in moto_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return boto3.client("ecr")


def build(client: Any, context: Path, dockerfile: str, tag: str) -> tuple[str, list[str]]:
    """Build context with dockerfile through the low-level streaming API; the image ID and the
    build's output lines. Fails the test on an error in the stream."""
    (context / "Dockerfile").write_text(dockerfile)
    image_id = ""
    output: list[str] = []
    for chunk in client.api.build(path=str(context), tag=tag, rm=True, forcerm=True, decode=True):
        assert "error" not in chunk, f"build failed: {chunk}\noutput so far:\n{''.join(output)}"
        output.append(chunk.get("stream", ""))
        image_id = chunk.get("aux", {}).get("ID", image_id)
    assert image_id.startswith("sha256:"), output
    return image_id, "".join(output).splitlines()


def push(client: Any, repository: str, tag: str) -> str:
    """Push repository:tag through the low-level streaming API; the digest the engine reports."""
    digest = ""
    for chunk in client.api.push(repository, tag=tag, stream=True, decode=True):
        assert "error" not in chunk, f"push failed: {chunk}"
        digest = chunk.get("aux", {}).get("Digest", digest)
    assert digest.startswith("sha256:")
    return digest


def get_manifest(registry: Registry, name: str, reference: str) -> requests.Response:
    response = requests.get(
        f"{registry.url}/v2/{name}/manifests/{reference}",
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=10,
    )
    return response


# ------------------------------------------------------------------------------------------------
# Docker engine and registry


def test_the_engine_is_private_and_trusts_loopback_registries(
    docker_engine: DockerEngine, client: Any
) -> None:
    info: Mapping[str, Any] = client.info()

    assert info["DockerRootDir"] == str(docker_engine.data_root)
    assert info["Driver"] == docker_engine.storage_driver
    assert "127.0.0.0/8" in info["RegistryConfig"]["InsecureRegistryCIDRs"]
    assert (docker_engine.root / "key.json").is_file()  # not /etc/docker/key.json


def test_the_docker_cli_reaches_the_engine_through_its_env(
    docker_engine: DockerEngine, client: Any
) -> None:
    completed = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", **docker_engine.env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    assert completed.stdout.strip() == client.version()["Version"]


def test_an_image_from_scratch_is_built(client: Any, tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hello\n")

    image_id, _ = build(
        client,
        tmp_path,
        'FROM scratch\nCOPY hello.txt /hello.txt\nLABEL toto.test="scratch"\n',
        "toto-test/scratch:1",
    )

    image = client.images.get("toto-test/scratch:1")
    assert image.id == image_id
    assert image.labels == {"toto.test": "scratch"}
    assert len(image.attrs["RootFS"]["Layers"]) == 1


def test_an_image_from_the_base_runs_its_run_step_and_is_pushed(
    client: Any, base_image: BaseImage, registry: Registry, tmp_path: Path
) -> None:
    repository = f"{registry.host}/toto-test/app"
    image_id, output = build(
        client,
        tmp_path,
        f"FROM {base_image.tag}\n"
        "RUN echo built-by-run > /built.txt && cat /built.txt && ls /bin/sh\n"
        'CMD ["cat", "/built.txt"]\n',
        f"{repository}:v1",
    )
    assert "built-by-run" in output
    assert "/bin/sh" in output

    digest = push(client, repository, "v1")

    tags = requests.get(f"{registry.url}/v2/toto-test/app/tags/list", timeout=10)
    assert tags.json() == {"name": "toto-test/app", "tags": ["v1"]}
    manifest = get_manifest(registry, "toto-test/app", "v1")
    assert manifest.status_code == 200
    assert manifest.headers["Content-Type"] == DOCKER_MANIFEST_V2
    assert manifest.headers["Docker-Content-Digest"] == digest
    assert sha256_digest(manifest.content) == digest
    document = manifest.json()
    assert len(document["layers"]) == 2  # the base's filesystem and the RUN step
    assert document["config"]["digest"] == image_id
    config = requests.get(
        f"{registry.url}/v2/toto-test/app/blobs/{document['config']['digest']}", timeout=10
    )
    assert config.json()["config"]["Cmd"] == ["cat", "/built.txt"]
    assert get_manifest(registry, "toto-test/app", digest).content == manifest.content


def test_the_registry_deletes_a_manifest(client: Any, registry: Registry, tmp_path: Path) -> None:
    repository = f"{registry.host}/toto-test/deleted"
    (tmp_path / "data.txt").write_text("to delete\n")
    build(client, tmp_path, "FROM scratch\nCOPY data.txt /data.txt\n", f"{repository}:gone")
    digest = push(client, repository, "gone")

    deleted = requests.delete(f"{registry.url}/v2/toto-test/deleted/manifests/{digest}", timeout=10)

    assert deleted.status_code == 202
    assert get_manifest(registry, "toto-test/deleted", digest).status_code == 404
    assert get_manifest(registry, "toto-test/deleted", "gone").status_code == 404


def test_the_private_registry_serves_its_login_only(
    client: Any, private_registry: Registry, tmp_path: Path
) -> None:
    login = private_registry.login
    assert login is not None
    repository = f"{private_registry.host}/toto-test/private"
    (tmp_path / "data.txt").write_text("private\n")
    build(client, tmp_path, "FROM scratch\nCOPY data.txt /data.txt\n", f"{repository}:one")
    refused = [
        chunk.get("error", "")
        for chunk in client.api.push(repository, tag="one", stream=True, decode=True)
    ]
    assert any("no basic auth credentials" in error for error in refused), refused

    auth = {"username": login.username, "password": login.password}
    pushed = list(
        client.api.push(repository, tag="one", stream=True, decode=True, auth_config=auth)
    )
    assert not [chunk for chunk in pushed if "error" in chunk], pushed

    url = f"{private_registry.url}/v2/toto-test/private/manifests/one"
    anonymous = requests.head(url, headers={"Accept": MANIFEST_ACCEPT}, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Basic realm=")
    wrong = (login.username, "not-the-password")
    assert requests.head(url, auth=wrong, timeout=10).status_code == 401
    served = requests.head(url, headers={"Accept": MANIFEST_ACCEPT}, auth=login.basic, timeout=10)
    assert served.status_code == 200
    assert served.headers["Docker-Content-Digest"].startswith("sha256:")


# ------------------------------------------------------------------------------------------------
# ECR on moto


def image_manifest(layer_digests: list[str]) -> str:
    """A Docker v2 image manifest as `docker push` would send it (digests need not exist)."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST_V2,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1234,
                "digest": sha256_digest(b"config"),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 5678,
                    "digest": digest,
                }
                for digest in layer_digests
            ],
        },
        indent=3,
    )


def test_ecr_repository_and_authorization_token(ecr: Any, moto_server: MotoServer) -> None:
    registry_host = f"{moto_server.account_id}.dkr.ecr.{moto_server.region}.amazonaws.com"

    created = ecr.create_repository(repositoryName="toto-ms-auth")["repository"]
    token = ecr.get_authorization_token()["authorizationData"]

    assert created["repositoryUri"] == f"{registry_host}/toto-ms-auth"
    assert created["registryId"] == moto_server.account_id
    assert len(token) == 1
    # moto's endpoint is the real ECR host name: nothing listens there, so pushes in tests go
    # to the local registry and only the ECR API calls go to moto.
    assert token[0]["proxyEndpoint"] == f"https://{registry_host}"
    username, _, password = base64.b64decode(token[0]["authorizationToken"]).decode().partition(":")
    assert (username, password) == ("AWS", f"{moto_server.account_id}-auth-token")


def test_ecr_put_image_round_trips_the_manifest(ecr: Any) -> None:
    ecr.create_repository(repositoryName="toto-ms-images")
    manifest = image_manifest([sha256_digest(b"layer-1"), sha256_digest(b"layer-2")])

    put = ecr.put_image(
        repositoryName="toto-ms-images",
        imageManifest=manifest,
        imageManifestMediaType=DOCKER_MANIFEST_V2,
        imageTag="v1",
    )["image"]
    got = ecr.batch_get_image(
        repositoryName="toto-ms-images",
        imageIds=[{"imageTag": "v1"}],
        acceptedMediaTypes=[DOCKER_MANIFEST_V2],
    )
    described = ecr.describe_images(repositoryName="toto-ms-images")["imageDetails"]

    assert got["failures"] == []
    assert [image["imageManifest"] for image in got["images"]] == [manifest]  # byte for byte
    assert got["images"][0]["imageManifestMediaType"] == DOCKER_MANIFEST_V2
    assert got["images"][0]["imageId"] == {
        "imageTag": "v1",
        "imageDigest": put["imageId"]["imageDigest"],
    }
    assert len(described) == 1
    assert described[0]["imageTags"] == ["v1"]
    assert described[0]["imageDigest"] == put["imageId"]["imageDigest"]
    # Where moto differs from ECR: ECR's digest is the sha256 of the manifest's bytes, moto's
    # the sha256 of its layer digests joined; ECR's size sums the layers, moto's is the config's.
    assert put["imageId"]["imageDigest"] != sha256_digest(manifest.encode())
    assert described[0]["imageSizeInBytes"] == 1234


def test_ecr_put_image_keeps_the_digest_it_is_given(ecr: Any) -> None:
    ecr.create_repository(repositoryName="toto-ms-digest")
    manifest = image_manifest([sha256_digest(b"layer")])
    digest = sha256_digest(manifest.encode())

    put = ecr.put_image(
        repositoryName="toto-ms-digest", imageManifest=manifest, imageTag="v2", imageDigest=digest
    )["image"]
    got = ecr.batch_get_image(repositoryName="toto-ms-digest", imageIds=[{"imageDigest": digest}])

    assert put["imageId"]["imageDigest"] == digest
    assert [image["imageId"]["imageTag"] for image in got["images"]] == ["v2"]
    assert got["images"][0]["imageManifest"] == manifest
