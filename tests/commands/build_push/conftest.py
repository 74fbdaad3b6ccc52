"""What the build-push tests share: the service repository a test builds, the registries'
answers, the engine's client and ECR repositories holding a build."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import docker  # type: ignore[import-untyped, unused-ignore]
import pytest
import requests

from testing.local_stack import (
    BASE_IMAGE_TAG,
    BaseImage,
    DockerEngine,
    Login,
    MotoServer,
    Registry,
)
from tests.conftest import CliResult, CliRunner

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)
PASSWORD = "registry-password-never-logged"


def outputs_of(result: CliResult) -> dict[str, str]:
    names = {"image", "digest", "tags", "tag", "inputs-tag", "exists", "registry", "skipped"}
    pairs = (line.partition("=") for line in result.stdout.splitlines())
    return {name: value for name, _, value in pairs if name in names}


class Service:
    """A service's build context, and the command run on it as a workflow step would."""

    def __init__(self, root: Path, cli: CliRunner, engine: DockerEngine) -> None:
        self.root, self.cli, self.engine = root, cli, engine
        (root / "Dockerfile").write_text("FROM scratch\nCOPY app.txt /app.txt\n", encoding="utf-8")
        (root / "app.txt").write_text("version one\n", encoding="utf-8")
        (root / "package.json").write_text(
            '{"name": "toto-ms-x", "version": "1.4.0"}', encoding="utf-8"
        )
        (root / ".dockerignore").write_text("notes/\n", encoding="utf-8")
        (root / "notes").mkdir()
        (root / "notes" / "todo.md").write_text("nothing\n", encoding="utf-8")

    def __call__(self, *arguments: str, env: dict[str, str] | None = None) -> CliResult:
        return self.cli(
            "build-push",
            "--context",
            str(self.root),
            "--revision",
            "0123456789abcdef",
            *arguments,
            env={**self.engine.env, **(env or {})},
        )


@pytest.fixture
def service(tmp_path: Path, cli: CliRunner, docker_engine: DockerEngine) -> Service:
    root = tmp_path / "service"
    root.mkdir()
    return Service(root, cli, docker_engine)


def registry_tags(registry: Registry, repository: str) -> list[str]:
    answer = requests.get(f"{registry.url}/v2/{repository}/tags/list", timeout=10)
    if answer.status_code == 404:
        return []
    tags: list[str] = answer.json()["tags"] or []
    return sorted(tags)


def registry_digest(registry: Registry, repository: str, tag: str) -> str:
    answer = requests.head(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=10,
    )
    assert answer.status_code == 200, (repository, tag, answer.status_code)
    return answer.headers["Docker-Content-Digest"]


def registry_labels(registry: Registry, repository: str, tag: str) -> dict[str, str]:
    manifest = requests.get(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=10,
    ).json()
    config = requests.get(
        f"{registry.url}/v2/{repository}/blobs/{manifest['config']['digest']}", timeout=10
    ).json()
    labels: dict[str, str] = config["config"]["Labels"]
    return labels


@pytest.fixture
def engine_client(docker_engine: DockerEngine) -> Iterator[Any]:
    client = docker.DockerClient(base_url=docker_engine.base_url)
    yield client
    client.close()


def forget_every_image(client: Any) -> set[str]:
    """What a fresh runner has: an empty engine cache, but for the session's base image (which
    the tests' FROM lines name and no build here pulls). Returns the ids left.

    Images that share parents are removed children first: a pass removes what it can and the
    next pass the parents that became free.
    """
    for _ in range(20):
        removable = [i for i in client.images.list(all=True) if BASE_IMAGE_TAG not in i.tags]
        if not removable:
            break
        for image in removable:
            try:
                client.images.remove(image.id, force=True)
            except docker.errors.APIError as problem:
                if problem.status_code not in {404, 409}:  # gone already, or still a parent
                    raise
    return {image.id for image in client.images.list(all=True)}


def ecr_client(moto_server: MotoServer) -> Any:
    """A boto3 ECR client of the session's moto server."""
    return moto_server.boto3_client("ecr")


def ecr_repository_names(moto_server: MotoServer) -> list[str]:
    """The names of the ECR repositories moto holds."""
    described = ecr_client(moto_server).describe_repositories()["repositories"]
    return [repository["repositoryName"] for repository in described]


def inputs_tag(registry: Registry, repository: str) -> str:
    """The tag a build gave its image in the registry to find it again by its inputs."""
    (tag,) = [t for t in registry_tags(registry, repository) if t.startswith("toto-inputs-")]
    return tag


class RegistryImage(NamedTuple):
    tag: str
    manifest: str  # as the registry serves it
    media_type: str
    digest: str


class EcrRepository(NamedTuple):
    client: Any
    name: str
    inputs_image: RegistryImage  # the service's build, under its inputs tag


def ecr_repository_holding_the_build(
    service: Service,
    registry: Registry,
    moto_server: MotoServer,
    name: str,
    mutability: str,
    *,
    exclusion: str | None = None,
    other_tags: Sequence[str] = (),
) -> EcrRepository:
    """An ECR repository (moto) with the given tag mutability (and WILDCARD exclusion filter),
    holding the image built from the service's inputs under its inputs tag, and another image
    under other_tags. moto's ECR serves no v2 registry: the build is pushed to the local registry,
    and its manifest copied to moto."""
    built = service("--repository", name, "--registry", registry.host)
    assert built.exit_code == 0, built.stderr
    tag = inputs_tag(registry, name)
    answer = requests.get(
        f"{registry.url}/v2/{name}/manifests/{tag}", headers={"Accept": MANIFEST_ACCEPT}, timeout=10
    )
    image = RegistryImage(
        tag, answer.text, answer.headers["Content-Type"], answer.headers["Docker-Content-Digest"]
    )
    ecr = ecr_client(moto_server)
    filters = [] if exclusion is None else [{"filterType": "WILDCARD", "filter": exclusion}]
    ecr.create_repository(
        repositoryName=name,
        imageTagMutability=mutability,
        **({"imageTagMutabilityExclusionFilters": filters} if filters else {}),
    )
    ecr.put_image(
        repositoryName=name,
        imageManifest=image.manifest,
        imageManifestMediaType=image.media_type,
        imageTag=image.tag,
        imageDigest=image.digest,
    )
    other = json.dumps({**json.loads(image.manifest), "annotations": {"other": "image"}})
    for other_tag in other_tags:
        ecr.put_image(
            repositoryName=name,
            imageManifest=other,
            imageManifestMediaType=image.media_type,
            imageTag=other_tag,
        )
    return EcrRepository(ecr, name, image)


def ecr_tags(ecr: Any, repository: str) -> dict[str, str]:
    described = ecr.describe_images(repositoryName=repository)["imageDetails"]
    return {tag: image["imageDigest"] for image in described for tag in image.get("imageTags", [])}


def write_dockerfile(service: Service, base_image: BaseImage, steps: str) -> None:
    """The service's Dockerfile: the session's base image, then the steps."""
    (service.root / "Dockerfile").write_text(f"FROM {base_image.tag}\n{steps}", encoding="utf-8")


def on_registry(registry: Registry, repository: str, *arguments: str) -> list[str]:
    """The arguments of a build of repository pushed to the local registry, its RUN steps
    without a network (the test engine has no bridge)."""
    return [
        "--repository",
        repository,
        "--registry",
        registry.host,
        "--network",
        "none",
        *arguments,
    ]


def push_to_registry(client: Any, image: str, reference: str, login: Login | None = None) -> None:
    """Tag the engine's image as reference (REGISTRY/REPOSITORY:TAG) and push it there, with
    login's credentials handed to the engine for this push when given."""
    repository, _, tag = reference.rpartition(":")
    assert client.images.get(image).tag(repository, tag)
    auth = None if login is None else {"username": login.username, "password": login.password}
    for line in client.api.push(repository, tag, stream=True, decode=True, auth_config=auth):
        assert "error" not in line, line


def push_private_base(
    private_registry: Registry, engine_client: Any, base_image: BaseImage, name: str
) -> str:
    """The session's base image pushed to the private registry as name (REPOSITORY:TAG) with
    its login, and an engine left without an image by that name (nor any but the session's base
    image). Returns the reference, HOST/name."""
    login = private_registry.login
    assert login is not None
    base = f"{private_registry.host}/{name}"
    push_to_registry(engine_client, base_image.tag, base, login)
    engine_client.images.remove(base)  # an untag: the session's base image stays
    forget_every_image(engine_client)
    return base
