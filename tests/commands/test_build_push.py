"""`toto-actions build-push` against a real dockerd, a distribution registry and moto's ECR."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import boto3  # type: ignore[import-untyped, unused-ignore]
import docker  # type: ignore[import-untyped, unused-ignore]
import pytest
import requests

from testing.images import build_image
from testing.local_stack import (
    BASE_IMAGE_TAG,
    BaseImage,
    DockerEngine,
    Login,
    MotoServer,
    Registry,
    push_index,
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
    names = {"image", "digest", "tags", "tag", "registry", "skipped"}
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
    return boto3.client(
        "ecr",
        endpoint_url=moto_server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


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


def test_a_first_build_pushes_tags_labels_and_a_confirmed_digest(
    service: Service, registry: Registry
) -> None:
    result = service(
        "--repository", "toto/first", "--registry", registry.host, "--labels", "team=games"
    )
    assert result.exit_code == 0, result.stderr
    outputs = outputs_of(result)
    assert outputs["skipped"] == "false"
    assert outputs["tags"] == "0123456,1.4.0"
    assert outputs["tag"] == "0123456"
    digest = outputs["digest"]
    assert outputs["image"] == f"{registry.host}/toto/first@{digest}"
    tags = registry_tags(registry, "toto/first")
    assert "0123456" in tags and "1.4.0" in tags
    assert any(tag.startswith("toto-inputs-") for tag in tags)
    assert {registry_digest(registry, "toto/first", tag) for tag in tags} == {digest}
    labels = registry_labels(registry, "toto/first", "0123456")
    assert labels["org.opencontainers.image.revision"] == "0123456789abcdef"
    assert labels["org.opencontainers.image.version"] == "1.4.0"
    assert labels["team"] == "games"
    assert "org.opencontainers.image.created" in labels
    assert re.search(r"#\d+ \[1/1\] COPY app.txt /app.txt", result.stdout)  # streamed to the log


def test_an_unchanged_source_on_a_fresh_runner_builds_nothing(
    service: Service, registry: Registry, engine_client: Any
) -> None:
    first = service("--repository", "toto/reuse", "--registry", registry.host)
    assert first.exit_code == 0, first.stderr
    left = forget_every_image(engine_client)
    (service.root / "notes" / "todo.md").write_text("ignored by .dockerignore\n", encoding="utf-8")
    again = service(
        "--repository", "toto/reuse", "--registry", registry.host, "--tags", "0123456,release-7"
    )
    assert again.exit_code == 0, again.stderr
    outputs = outputs_of(again)
    assert outputs["skipped"] == "true"
    assert outputs["digest"] == outputs_of(first)["digest"]
    assert "COPY app.txt" not in again.stdout
    assert {i.id for i in engine_client.images.list(all=True)} == left  # nothing built or pulled
    assert registry_digest(registry, "toto/reuse", "release-7") == outputs["digest"]


def test_a_changed_source_is_built_again(service: Service, registry: Registry) -> None:
    first = service("--repository", "toto/changed", "--registry", registry.host)
    (service.root / "app.txt").write_text("version two\n", encoding="utf-8")
    second = service("--repository", "toto/changed", "--registry", registry.host)
    assert second.exit_code == 0, second.stderr
    assert outputs_of(second)["skipped"] == "false"
    assert outputs_of(second)["digest"] != outputs_of(first)["digest"]
    assert registry_digest(registry, "toto/changed", "0123456") == outputs_of(second)["digest"]


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


def test_a_run_step_builds_on_a_local_base_image(
    service: Service, registry: Registry, base_image: BaseImage
) -> None:
    write_dockerfile(service, base_image, 'ARG GREETING\nRUN echo "$GREETING" > /greeting\n')
    # The test engine has no bridge: RUN steps get no network.
    result = service(
        *on_registry(registry, "toto/run", "--build-args", "GREETING=hello", "--tags", "t1")
    )
    assert result.exit_code == 0, result.stderr
    assert registry_tags(registry, "toto/run")[0] == "t1"


def test_a_failing_build_step_fails_with_the_engine_message_and_pushes_nothing(
    service: Service, registry: Registry, base_image: BaseImage
) -> None:
    write_dockerfile(service, base_image, "RUN exit 3\n")
    result = service(*on_registry(registry, "toto/broken"))
    assert result.exit_code == 1
    assert "exit code: 3" in result.stderr
    assert "Traceback" not in result.stderr
    assert registry_tags(registry, "toto/broken") == []


def test_a_dockerfile_that_needs_buildkit_builds(
    service: Service, registry: Registry, base_image: BaseImage
) -> None:
    write_dockerfile(
        service,
        base_image,
        "RUN --mount=type=bind,source=app.txt,target=/mnt/app.txt cp /mnt/app.txt /copied\n",
    )
    result = service(*on_registry(registry, "toto/buildkit"))
    assert result.exit_code == 0, result.stderr
    assert registry_tags(registry, "toto/buildkit")


def on_x(*arguments: str) -> list[str]:
    """The arguments of a build of the repository toto/x."""
    return ["--repository", "toto/x", *arguments]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--repository", "Toto/Upper"],
            "repository 'Toto/Upper' is not a valid image repository name: lower-case "
            "letters and digits, with '.', '_', '-' or '/' between them",
        ),
        (
            on_x("--tags", "ok,-bad"),
            "tag '-bad' is not a valid tag: up to "
            "128 letters, digits, '_', '.' and '-', not starting with '.' or '-'",
        ),
        (
            on_x("--dockerfile", "nowhere/Dockerfile"),
            "Dockerfile 'nowhere/Dockerfile' does not exist",
        ),
        (
            on_x("--build-args", "NOEQUALS"),
            "--build-args: 'NOEQUALS' is not NAME=VALUE",
        ),
        (
            on_x("--lifecycle-policy", '{"rules": "expire"}'),
            '--lifecycle-policy: needs "rules", a list of one rule or more',
        ),
        (
            on_x("--secrets", "token=ok\nhunter2-not-shown"),
            "--secrets: line 2 is not NAME=VALUE",
        ),
        (
            on_x("--secret-files", "npm=absent/npmrc"),
            "--secret-files: npm: no file at 'absent/npmrc'",
        ),
        (
            on_x("--platforms", "linux/amd64,linux/z80"),
            "--platforms: 'linux/z80' is not a platform: OS/ARCH[/VARIANT], e.g. linux/amd64, "
            "linux/arm64, linux/arm/v7",
        ),
        (
            on_x("--cache-from", "registry.test/app:cache"),
            "--cache-from: 'registry.test/app:cache' is not a cache spec: "
            "type=registry,ref=HOST/REPO:TAG, type=inline, type=local,src=DIR, type=gha, ...",
        ),
        (
            on_x("--ssh", "agent"),
            "--ssh: 'agent' is neither default nor ID=PATH",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(
    service: Service, registry: Registry, arguments: list[str], message: str
) -> None:
    result = service(*arguments, "--registry", registry.host)
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")
    assert registry_tags(registry, "toto/x") == []


def test_a_network_that_is_not_documented_is_one_line_exit_2(
    service: Service, registry: Registry
) -> None:
    result = service(
        "--repository", "toto/x", "--registry", registry.host, env={"INPUT_NETWORK": "bridge"}
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "error: INPUT_NETWORK='bridge': expected one of default, none, host\n",
    )
    assert registry_tags(registry, "toto/x") == []


def test_attestations_with_the_built_in_client_are_refused_plainly(
    service: Service, registry: Registry
) -> None:
    """The test machine's only BuildKit client is Debian's docker 20.10, without buildx."""
    result = service("--repository", "toto/x", "--registry", registry.host, "--sbom", "true")
    assert result.exit_code == 2
    assert re.fullmatch(
        r"error: --sbom: attestations need docker buildx; \S+ [\w.+~-]+ has BuildKit built in"
        r" only, which makes none\n",
        result.stderr,
    )
    assert registry_tags(registry, "toto/x") == []


def test_a_missing_context_is_one_line(cli: CliRunner, registry: Registry) -> None:
    result = cli(
        "build-push",
        "--repository",
        "toto/x",
        "--context",
        "absent",
        "--registry",
        registry.host,
        "--tags",
        "t",
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "error: build context 'absent' is not a directory\n",
    )


def engine_nowhere(tmp_path: Path) -> dict[str, str]:
    """The variable that points the docker SDK at a socket no engine listens on."""
    return {"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}


def test_no_docker_engine_is_one_line_and_nothing_is_pushed(
    service: Service, registry: Registry, tmp_path: Path
) -> None:
    no_engine = engine_nowhere(tmp_path)
    result = service("--repository", "toto/noengine", "--registry", registry.host, env=no_engine)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: no Docker engine at {no_engine['DOCKER_HOST']}")
    assert result.stderr.count("\n") == 1
    assert registry_tags(registry, "toto/noengine") == []


def test_no_aws_credentials_is_one_line(service: Service, tmp_path: Path) -> None:
    empty = tmp_path / "empty-aws-file"
    empty.touch()
    result = service(
        "--repository",
        "toto/ecr",
        "--aws-region",
        "eu-west-1",
        env={
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "AWS credentials" in result.stderr


def test_the_registry_password_never_reaches_the_log(service: Service, registry: Registry) -> None:
    result = service(
        "--repository",
        "toto/secret",
        "--registry",
        registry.host,
        "--registry-username",
        "ci",
        "--registry-password",
        PASSWORD,
        env={"GITHUB_ACTIONS": "true"},
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"::add-mask::{PASSWORD}" in result.stdout
    logged = result.stdout.replace(f"::add-mask::{PASSWORD}", "") + result.stderr
    assert PASSWORD not in logged


def test_on_ecr_an_image_from_the_same_inputs_gets_the_tags_through_the_api(
    service: Service, registry: Registry, moto_server: MotoServer, engine_client: Any
) -> None:
    """The ECR side (find by the inputs tag, PutImage, DescribeImages) runs against moto."""
    ecr, _, built = ecr_repository_holding_the_build(
        service, registry, moto_server, "toto/ecr-reuse", "IMMUTABLE"
    )
    forget_every_image(engine_client)
    for _ in range(2):  # a re-run on an IMMUTABLE repository succeeds too
        result = service("--repository", "toto/ecr-reuse", env=moto_server.env)
        assert result.exit_code == 0, result.stderr
        outputs = outputs_of(result)
        assert outputs["skipped"] == "true"
        assert outputs["digest"] == built.digest
        assert outputs["registry"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert set(ecr_tags(ecr, "toto/ecr-reuse")) >= {built.tag, "0123456", "1.4.0"}
    assert json.loads(built.manifest)["config"]


def test_changed_labels_are_a_new_build(service: Service, registry: Registry) -> None:
    first = service("--repository", "toto/labels", "--registry", registry.host, "--labels", "t=a")
    second = service("--repository", "toto/labels", "--registry", registry.host, "--labels", "t=b")
    assert (first.exit_code, second.exit_code) == (0, 0), second.stderr
    assert outputs_of(second)["skipped"] == "false"
    assert registry_labels(registry, "toto/labels", "0123456")["t"] == "b"


def test_on_ecr_nothing_is_created_before_the_build_can_happen(
    service: Service, moto_server: MotoServer, tmp_path: Path
) -> None:
    result = service(
        "--repository", "toto/noengine-ecr", env={**moto_server.env, **engine_nowhere(tmp_path)}
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no Docker engine at")
    names = [
        r["repositoryName"] for r in ecr_client(moto_server).describe_repositories()["repositories"]
    ]
    assert "toto/noengine-ecr" not in names


def test_on_ecr_a_bad_lifecycle_policy_is_one_line_and_nothing_is_created(
    service: Service, moto_server: MotoServer
) -> None:
    result = service(
        "--repository", "toto/bad-policy", "--lifecycle-policy", "expire", env=moto_server.env
    )
    assert (result.exit_code, result.stderr.count("\n")) == (2, 1)
    assert result.stderr.startswith("error: --lifecycle-policy: not JSON (Expecting value")
    names = [
        r["repositoryName"] for r in ecr_client(moto_server).describe_repositories()["repositories"]
    ]
    assert "toto/bad-policy" not in names


def test_on_an_immutable_repository_a_taken_tag_is_refused_before_any_write(
    service: Service, registry: Registry, moto_server: MotoServer
) -> None:
    ecr, _, built = ecr_repository_holding_the_build(
        service, registry, moto_server, "toto/immutable", "IMMUTABLE", other_tags=["release"]
    )
    result = service(
        "--repository", "toto/immutable", "--tags", "aaa,release,zzz", env=moto_server.env
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: toto/immutable is IMMUTABLE and already has release on another image: pass "
        "tags that are free (the default short-commit tag changes per commit)\n"
    )
    assert set(ecr_tags(ecr, "toto/immutable")) == {built.tag, "release"}


def test_an_index_from_the_same_inputs_gets_the_tags_and_an_unknown_size(
    service: Service, registry: Registry, tmp_path: Path
) -> None:
    """The inputs tag names an image index (a multi-platform push made elsewhere): the tags go
    onto the index, and its size, which no one number describes, is reported as unknown."""
    first = service("--repository", "toto/index", "--registry", registry.host)
    assert first.exit_code == 0, first.stderr
    marker = inputs_tag(registry, "toto/index")
    index_digest = push_index(
        registry, "toto/index", marker, "application/vnd.oci.image.index.v1+json", marker
    )
    summary = tmp_path / "summary.md"
    summary.touch()

    result = service(
        "--repository",
        "toto/index",
        "--registry",
        registry.host,
        "--tags",
        "0123456,multi",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )

    assert result.exit_code == 0, result.stdout + result.stderr
    outputs = outputs_of(result)
    assert (outputs["skipped"], outputs["digest"]) == ("true", index_digest)
    multi = requests.head(
        f"{registry.url}/v2/toto/index/manifests/multi",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
        timeout=10,
    )
    assert multi.headers["Docker-Content-Digest"] == index_digest
    assert "| size | unknown |" in summary.read_text(encoding="utf-8")


class ExclusionCase(NamedTuple):
    setting: str  # the repository's imageTagMutability
    exclusion: str  # its one WILDCARD exclusion filter
    other_tags: list[str]  # the tags of another image in it
    requested: str  # --tags
    refused: str  # the tag the check refuses


# moto reads an exclusion filter as a regular expression matched at the start of the tag, where
# ECR reads `*` as any run of characters over the whole tag: these filters mean the same to both
# (toto_actions.images.names' own tests cover the rest of the wildcard).
EXCLUSION_CASES = [
    # Immutable but for dev-*: release may not move, dev-1 may.
    ExclusionCase(
        "IMMUTABLE_WITH_EXCLUSION", "dev-*", ["release", "dev-1"], "aaa,dev-1,release", "release"
    ),
    # Mutable but for stable-*: latest may move, stable-1.4 may not.
    ExclusionCase(
        "MUTABLE_WITH_EXCLUSION",
        "stable-*",
        ["latest", "stable-1.4"],
        "latest,stable-1.4",
        "stable-1.4",
    ),
]


def ecr_repository_with_exclusions(
    service: Service, registry: Registry, moto_server: MotoServer, case: ExclusionCase
) -> tuple[Any, str, str, str]:
    """The case's ECR repository, holding the service's build and another image under the case's
    other tags. Returns the client, the repository, the inputs tag and the other image's digest."""
    ecr, repository, built = ecr_repository_holding_the_build(
        service,
        registry,
        moto_server,
        f"toto/{case.setting.lower().replace('_', '-')}-{len(case.other_tags)}",
        case.setting,
        exclusion=case.exclusion,
        other_tags=case.other_tags,
    )
    return ecr, repository, built.tag, ecr_tags(ecr, repository)[case.other_tags[0]]


@pytest.mark.parametrize("case", EXCLUSION_CASES, ids=lambda case: case.setting)
def test_with_exclusion_filters_a_taken_immutable_tag_is_refused_before_any_write(
    service: Service, registry: Registry, moto_server: MotoServer, case: ExclusionCase
) -> None:
    ecr, repository, marker, other = ecr_repository_with_exclusions(
        service, registry, moto_server, case
    )
    before = ecr_tags(ecr, repository)

    result = service("--repository", repository, "--tags", case.requested, env=moto_server.env)

    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {repository} is {case.setting} (exclusion filters {case.exclusion}) and "
        f"already has {case.refused} on another image: pass tags that are free (the default "
        "short-commit tag changes per commit)\n",
    )
    assert ecr_tags(ecr, repository) == before  # nothing moved, nothing added
    assert set(before) == {marker, *case.other_tags} and before[case.refused] == other


def test_a_tag_an_exclusion_filter_lets_move_is_moved(
    service: Service, registry: Registry, moto_server: MotoServer
) -> None:
    case = ExclusionCase("IMMUTABLE_WITH_EXCLUSION", "dev-*", ["dev-1"], "aaa,dev-1", "")
    ecr, repository, _, other = ecr_repository_with_exclusions(service, registry, moto_server, case)

    result = service("--repository", repository, "--tags", case.requested, env=moto_server.env)

    assert result.exit_code == 0, result.stderr
    digest = outputs_of(result)["digest"]
    assert digest != other
    assert {ecr_tags(ecr, repository)[tag] for tag in ("aaa", "dev-1")} == {digest}


SECRET_VALUE = "s3cr3t-build-token-9f1c"  # 23 characters
SECRET_FILE_CONTENT = "//npm.test/:_authToken=file-secret-77ab\n"


def registry_blobs(registry: Registry, repository: str, tag: str) -> dict[str, bytes]:
    """Every blob the registry serves for repository:tag (config and layers), by digest, with
    each gzip layer also unpacked (its tar) under `<digest>.tar`."""
    manifest = requests.get(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=10,
    )
    assert manifest.status_code == 200
    document = manifest.json()
    blobs: dict[str, bytes] = {"manifest": manifest.content}
    for descriptor in [document["config"], *document["layers"]]:
        digest = descriptor["digest"]
        answer = requests.get(f"{registry.url}/v2/{repository}/blobs/{digest}", timeout=30)
        assert answer.status_code == 200, digest
        blobs[digest] = answer.content
        if answer.content[:2] == b"\x1f\x8b":
            blobs[f"{digest}.tar"] = gzip.decompress(answer.content)
    return blobs


def file_in_layers(blobs: dict[str, bytes], name: str) -> str:
    """The content of the file name in the image's unpacked layers (the last layer wins)."""
    found = None
    for key, content in blobs.items():
        if key.endswith(".tar"):
            with tarfile.open(fileobj=io.BytesIO(content)) as layer:
                if name in layer.getnames():
                    member = layer.extractfile(name)
                    assert member is not None
                    found = member.read().decode()
    assert found is not None, name
    return found


def test_build_secrets_reach_their_run_step_and_nothing_else(
    service: Service,
    registry: Registry,
    base_image: BaseImage,
    docker_engine: DockerEngine,
    tmp_path: Path,
) -> None:
    (service.root / "Dockerfile").write_text(
        f"FROM {base_image.tag}\n"
        "RUN --mount=type=secret,id=token --mount=type=secret,id=npmrc "
        "wc -c < /run/secrets/token > /token-length && "
        "sha256sum /run/secrets/npmrc | cut -c1-64 > /npmrc-sha256\n",
        encoding="utf-8",
    )
    npmrc = tmp_path / "npmrc"
    npmrc.write_text(SECRET_FILE_CONTENT, encoding="utf-8")
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    output_file = tmp_path / "github-output"
    output_file.touch()

    result = service(
        "--repository",
        "toto/secrets",
        "--registry",
        registry.host,
        "--network",
        "none",
        "--secrets",
        f"token={SECRET_VALUE}",
        "--secret-files",
        f"npmrc={npmrc}",
        env={
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(output_file),
            "TMPDIR": str(private_tmp),
        },
    )

    assert result.exit_code == 0, result.stdout + result.stderr
    mask = f"::add-mask::{SECRET_VALUE}"
    assert result.stdout.startswith(mask)  # masked before anything ran
    blobs = registry_blobs(registry, "toto/secrets", "0123456")
    assert file_in_layers(blobs, "token-length").strip() == str(len(SECRET_VALUE))
    assert file_in_layers(blobs, "npmrc-sha256").strip() == (
        hashlib.sha256(SECRET_FILE_CONTENT.encode()).hexdigest()
    )
    for secret in (SECRET_VALUE, SECRET_FILE_CONTENT.strip()):
        assert not [key for key, blob in blobs.items() if secret.encode() in blob]
        assert secret not in result.stdout.replace(mask, "") + result.stderr
        assert secret not in output_file.read_text(encoding="utf-8")
        assert secret not in docker_engine.log_path.read_text(encoding="utf-8", errors="replace")
    assert list(private_tmp.iterdir()) == []  # the secret files and Docker config are gone


def test_a_failed_build_leaves_no_secret_file_or_docker_config(
    service: Service, registry: Registry, base_image: BaseImage, tmp_path: Path
) -> None:
    (service.root / "Dockerfile").write_text(
        f"FROM {base_image.tag}\nRUN --mount=type=secret,id=token exit 4\n", encoding="utf-8"
    )
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    result = service(
        "--repository",
        "toto/secrets-failed",
        "--registry",
        registry.host,
        "--network",
        "none",
        "--secrets",
        f"token={SECRET_VALUE}",
        env={"TMPDIR": str(private_tmp)},
    )
    assert result.exit_code == 1
    assert "exit code: 4" in result.stderr
    assert SECRET_VALUE not in result.stdout + result.stderr
    assert list(private_tmp.iterdir()) == []
    assert registry_tags(registry, "toto/secrets-failed") == []


def test_a_rotated_secret_value_reuses_the_image_a_new_secret_id_builds_again(
    service: Service, registry: Registry
) -> None:
    def run(*arguments: str) -> dict[str, str]:
        result = service("--repository", "toto/rotated", "--registry", registry.host, *arguments)
        assert result.exit_code == 0, result.stderr
        return outputs_of(result)

    first = run("--secrets", "token=first-value")
    rotated = run("--secrets", "token=second-value")
    renamed = run("--secrets", "api_token=second-value")
    on_arm = run("--secrets", "api_token=second-value", "--platforms", "linux/arm64")
    assert (first["skipped"], rotated["skipped"]) == ("false", "true")
    assert rotated["digest"] == first["digest"]
    assert (renamed["skipped"], on_arm["skipped"]) == ("false", "false")


def forget_everything_built(client: Any) -> None:
    """A fresh runner: no image but the session's base image, and no build cache."""
    forget_every_image(client)
    client.api.prune_builds(all=True)


def layer_digests(registry: Registry, repository: str, tag: str) -> list[str]:
    manifest = requests.get(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": MANIFEST_ACCEPT},
        timeout=10,
    ).json()
    return [layer["digest"] for layer in manifest["layers"]]


DEPENDENCY_STEP = "RUN sleep 2 && echo deps > /deps"


def step_outcome(result: CliResult, step: str) -> str:
    """How BuildKit's plain progress ended a step: `CACHED`, `DONE 2.1s`, ..."""
    found = re.search(
        rf"^#(\d+) {re.escape(step)}\n(?:#\1 .*\n)*?#\1 (CACHED|DONE.*|ERROR.*)$",
        result.stdout,
        re.MULTILINE,
    )
    assert found, f"no step {step!r} in the log"
    return found.group(2)


def test_a_one_line_change_on_a_fresh_runner_rebuilds_only_the_steps_after_it(
    service: Service, registry: Registry, base_image: BaseImage, engine_client: Any
) -> None:
    write_dockerfile(service, base_image, f"{DEPENDENCY_STEP}\nCOPY app.txt /app.txt\n")
    arguments = on_registry(registry, "toto/layers", "--branch", "feature/login")
    first = service(*arguments, "--tags", "first")
    assert first.exit_code == 0, first.stderr
    assert "layer cache of branch feature/login: none yet" in first.stdout
    forget_everything_built(engine_client)
    (service.root / "app.txt").write_text("version one\nand one line more\n", encoding="utf-8")

    second = service(*arguments, "--tags", "second")

    assert second.exit_code == 0, second.stderr
    first_digest, second_digest = outputs_of(first)["digest"], outputs_of(second)["digest"]
    source = f"{registry.host}/toto/layers@{first_digest}"
    assert f"layer cache of branch feature/login: from {source}" in second.stdout
    assert step_outcome(second, f"[2/3] {DEPENDENCY_STEP}") == "CACHED"  # from the registry
    assert step_outcome(second, "[3/3] COPY app.txt /app.txt").startswith("DONE")
    first_layers = layer_digests(registry, "toto/layers", "first")
    second_layers = layer_digests(registry, "toto/layers", "second")
    assert first_layers[:-1] == second_layers[:-1]  # the base and the dependencies, reused
    assert first_layers[-1] != second_layers[-1]  # app.txt, built again
    for tag in ("toto-cache-feature-login", "toto-cache"):
        assert registry_digest(registry, "toto/layers", tag) == second_digest


def test_another_branch_starts_from_the_repository_s_newest_image(
    service: Service, registry: Registry
) -> None:
    main = service("--repository", "toto/branches", "--registry", registry.host, "--branch", "main")
    assert main.exit_code == 0, main.stderr
    (service.root / "app.txt").write_text("version two\n", encoding="utf-8")

    feature = service(
        "--repository", "toto/branches", "--registry", registry.host, "--branch", "fix/x"
    )

    assert feature.exit_code == 0, feature.stderr
    main_digest = outputs_of(main)["digest"]
    assert f"from {registry.host}/toto/branches@{main_digest}" in feature.stdout
    assert registry_digest(registry, "toto/branches", "toto-cache-main") == main_digest
    feature_digest = outputs_of(feature)["digest"]
    assert registry_digest(registry, "toto/branches", "toto-cache-fix-x") == feature_digest
    assert registry_digest(registry, "toto/branches", "toto-cache") == feature_digest


def test_without_the_layer_cache_no_cache_tag_is_read_or_written(
    service: Service, registry: Registry
) -> None:
    result = service(
        "--repository=toto/nocache", f"--registry={registry.host}", "--layer-cache=false"
    )
    assert result.exit_code == 0, result.stderr
    assert "layer cache" not in result.stdout
    assert not [tag for tag in registry_tags(registry, "toto/nocache") if "cache" in tag]


def test_the_inline_cache_argument_is_not_an_input(service: Service, registry: Registry) -> None:
    first = service("--repository", "toto/inline", "--registry", registry.host)
    again = service(
        "--repository",
        "toto/inline",
        "--registry",
        registry.host,
        "--build-args",
        "BUILDKIT_INLINE_CACHE=1",
    )
    assert again.exit_code == 0, again.stderr
    assert outputs_of(again)["skipped"] == "true"
    assert outputs_of(again)["digest"] == outputs_of(first)["digest"]


def push_to_registry(client: Any, image: str, reference: str, login: Login | None = None) -> None:
    """Tag the engine's image as reference (REGISTRY/REPOSITORY:TAG) and push it there, with
    login's credentials handed to the engine for this push when given."""
    repository, _, tag = reference.rpartition(":")
    assert client.images.get(image).tag(repository, tag)
    auth = None if login is None else {"username": login.username, "password": login.password}
    for line in client.api.push(repository, tag, stream=True, decode=True, auth_config=auth):
        assert "error" not in line, line


def base_lookups(registry: Registry, repository: str, tag: str) -> int:
    """The HEADs of repository:tag's manifest that build-push (python-requests) sent, from the
    registry's request log; BuildKit's own requests are not counted."""
    path = f"/v2/{repository}/manifests/{tag}"
    uris = {f"http.request.uri={path} ", f'http.request.uri="{path}" '}
    return sum(
        1
        for line in registry.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        if "http.request.method=HEAD" in line
        and "useragent=python-requests/" in line
        and any(uri in line for uri in uris)
    )


def test_a_moved_base_tag_builds_again_an_unchanged_one_reuses_the_image(
    service: Service,
    registry: Registry,
    base_image: BaseImage,
    engine_client: Any,
    docker_engine: DockerEngine,
) -> None:
    base = f"{registry.host}/toto-base/moving:1"
    push_to_registry(engine_client, base_image.tag, base)
    (service.root / "Dockerfile").write_text(
        f"ARG BASE_TAG=0\nFROM {registry.host}/toto-base/moving:${{BASE_TAG}} AS base\n"
        "FROM base\nCOPY app.txt /app.txt\n",
        encoding="utf-8",
    )

    def run() -> dict[str, str]:
        result = service(*on_registry(registry, "toto/on-base", "--build-args", "BASE_TAG=1"))
        assert result.exit_code == 0, result.stderr
        assert "digest is unknown" not in result.stderr
        return outputs_of(result)

    first = run()
    assert base_lookups(registry, "toto-base/moving", "1") == 1  # one HEAD for the one base
    unchanged = run()
    assert base_lookups(registry, "toto-base/moving", "1") == 2
    assert (first["skipped"], unchanged["skipped"]) == ("false", "true")
    assert unchanged["digest"] == first["digest"]
    (marker,) = [t for t in registry_tags(registry, "toto/on-base") if t.startswith("toto-inputs-")]

    # A patched base under the same tag: the security fix must reach the service's image.
    patch = service.root.parent / "patch"
    patch.mkdir()
    (patch / "Dockerfile").write_text(
        f"FROM {base_image.tag}\nCOPY fix.txt /fix.txt\n", encoding="utf-8"
    )
    (patch / "fix.txt").write_text("patched\n", encoding="utf-8")
    patched = build_image(docker_engine.base_url, patch, "toto-test/busybox:patched")
    before = registry_digest(registry, "toto-base/moving", "1")
    push_to_registry(engine_client, patched, base)
    assert registry_digest(registry, "toto-base/moving", "1") != before

    rebuilt = run()
    assert rebuilt["skipped"] == "false"
    assert rebuilt["digest"] != first["digest"]
    markers = {t for t in registry_tags(registry, "toto/on-base") if t.startswith("toto-inputs-")}
    assert len(markers - {marker}) == 1  # a new inputs tag
    assert registry_digest(registry, "toto/on-base", "0123456") == rebuilt["digest"]


def test_a_base_whose_digest_is_unknown_is_built_every_time(
    service: Service, registry: Registry, base_image: BaseImage
) -> None:
    """The session's base image is in the engine only: docker.io/toto-test/busybox cannot be
    asked (no network, or no such image there), so no earlier image may be reused."""
    write_dockerfile(service, base_image, "COPY app.txt /app.txt\n")
    results = [service(*on_registry(registry, "toto/unknown-base")) for _ in range(2)]
    for result in results:
        assert result.exit_code == 0, result.stderr
        assert outputs_of(result)["skipped"] == "false"
        assert (
            f"warning: {service.root / 'Dockerfile'}:1: FROM {base_image.tag}: its digest is "
            "unknown (" in result.stderr
        )
        assert "building, reusing no earlier image" in result.stderr
    assert not [
        t for t in registry_tags(registry, "toto/unknown-base") if t.startswith("toto-inputs-")
    ]


class PrivateBuild(NamedTuple):
    result: CliResult
    runner_home: Path  # HOME and DOCKER_CONFIG (runner_home/.docker) of the command
    private_tmp: Path  # its TMPDIR, where the build's private directory goes


@pytest.fixture
def private_base(private_registry: Registry, engine_client: Any, base_image: BaseImage) -> str:
    """The session's base image in the private registry as base:1, pushed with its login, and
    an engine that has no image by that name (nor any but the session's base image)."""
    login = private_registry.login
    assert login is not None
    base = f"{private_registry.host}/base:1"
    push_to_registry(engine_client, base_image.tag, base, login)
    engine_client.images.remove(base)  # an untag: the session's base image stays
    forget_every_image(engine_client)
    assert not [i for i in engine_client.images.list() if base in i.tags]
    return base


def build_on_a_private_base(
    service: Service, private_registry: Registry, base: str, repository: str, password: str
) -> PrivateBuild:
    """The service built FROM base (in the private registry) with --pull: BuildKit must pull the
    base from the registry with the login it finds in the build's private DOCKER_CONFIG. The
    command's HOME, DOCKER_CONFIG and TMPDIR are new directories beside the service."""
    login = private_registry.login
    assert login is not None
    (service.root / "Dockerfile").write_text(f"FROM {base}\nRUN echo x > /x\n", encoding="utf-8")
    runner_home, private_tmp = service.root.parent / "runner-home", service.root.parent / "tmp"
    runner_home.mkdir()
    private_tmp.mkdir()
    result = service(
        *on_registry(private_registry, repository, "--pull", "true"),
        "--registry-username",
        login.username,
        "--registry-password",
        password,
        env={
            "HOME": str(runner_home),
            "DOCKER_CONFIG": str(runner_home / ".docker"),
            "TMPDIR": str(private_tmp),
        },
    )
    return PrivateBuild(result, runner_home, private_tmp)


def buildkit_pulls(registry: Registry, repository: str, tag: str) -> int:
    """The requests of repository:tag's manifest that the registry served (200) to the engine's
    BuildKit, neither to build-push's python-requests nor to the docker SDK's push, from the
    registry's access log. On a registry with a login, each was made with it."""
    request = re.compile(
        rf'"(?:GET|HEAD) /v2/{re.escape(repository)}/manifests/{re.escape(tag)} HTTP/[0-9.]+" 200 '
    )
    return sum(
        1
        for line in registry.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        if request.search(line)
        and "python-requests/" not in line
        and "docker-sdk-python" not in line
    )


def assert_no_credential_left(build: PrivateBuild, password: str, engine: DockerEngine) -> None:
    """The password is in no output and no log; the runner's Docker config holds no login; the
    build's private directory (its DOCKER_CONFIG) is gone."""
    logged = build.result.stdout.replace(f"::add-mask::{password}", "") + build.result.stderr
    assert password not in logged
    assert password not in engine.log_path.read_text(encoding="utf-8", errors="replace")
    own_config = build.runner_home / ".docker" / "config.json"
    if own_config.exists():
        assert not json.loads(own_config.read_text(encoding="utf-8")).get("auths")
    for path in build.runner_home.rglob("*"):
        assert not path.is_file() or password not in path.read_text(errors="replace"), path
    assert list(build.private_tmp.iterdir()) == []


def test_buildkit_pulls_a_private_base_with_the_login_of_its_private_docker_config(
    service: Service, private_registry: Registry, private_base: str, docker_engine: DockerEngine
) -> None:
    """The login reaches BuildKit through the build's own DOCKER_CONFIG only: the runner's
    Docker config is left without a credential, and the private one is gone afterwards."""
    login = private_registry.login
    assert login is not None
    build = build_on_a_private_base(
        service, private_registry, private_base, "toto/private-base", login.password
    )
    assert build.result.exit_code == 0, build.result.stdout + build.result.stderr
    assert buildkit_pulls(private_registry, "base", "1") >= 1
    digest = outputs_of(build.result)["digest"]
    served = requests.head(
        f"{private_registry.url}/v2/toto/private-base/manifests/0123456",
        headers={"Accept": MANIFEST_ACCEPT},
        auth=login.basic,
        timeout=10,
    )
    assert (served.status_code, served.headers["Docker-Content-Digest"]) == (200, digest)
    anonymous = requests.head(
        f"{private_registry.url}/v2/toto/private-base/manifests/0123456", timeout=10
    )
    assert anonymous.status_code == 401
    assert_no_credential_left(build, login.password, docker_engine)


def test_a_wrong_registry_password_fails_the_pull_of_a_private_base_plainly(
    service: Service, private_registry: Registry, private_base: str, docker_engine: DockerEngine
) -> None:
    login = private_registry.login
    assert login is not None
    wrong = "wrong-password-never-logged"
    build = build_on_a_private_base(
        service, private_registry, private_base, "toto/private-base-denied", wrong
    )
    assert build.result.exit_code == 1, build.result.stdout + build.result.stderr
    (error,) = [line for line in build.result.stderr.splitlines() if line.startswith("error:")]
    # BuildKit's own words, on one line: `pulling from host HOST failed with status code
    # [manifests 1]: 401 Unauthorized` (the built-in client's)
    assert error.startswith("error: docker build failed: "), error
    assert private_registry.host in error
    assert "401 Unauthorized" in error
    tags = requests.get(
        f"{private_registry.url}/v2/toto/private-base-denied/tags/list",
        auth=login.basic,
        timeout=10,
    )
    assert tags.status_code == 404  # nothing pushed
    assert_no_credential_left(build, wrong, docker_engine)
