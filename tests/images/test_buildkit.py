"""images.buildkit: the docker clients of this machine, the command line it plans, and builds
with BuildKit into the session's real dockerd (testing/local_stack/)."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import docker  # type: ignore[import-untyped]
import pytest

from testing.images import build_image
from testing.local_stack import DockerEngine as LocalEngine
from tests.images.conftest import ContextOnBaseImage, write_tree
from toto_actions.errors import OperationError
from toto_actions.images import buildkit, docker_client
from toto_actions.images.buildkit import BuildRequest, SecretFile
from toto_actions.images.docker_client import Builder, DockerClient

DEBIAN_CLIENT = "/usr/bin/docker"  # docker.io 20.10: BuildKit built in (scripts/bootstrap)
BUILDX = DockerClient("/opt/docker", "28.2.2", buildx=True)
BUILT_IN = DockerClient("/usr/bin/docker", "20.10.24+dfsg1", buildx=False)
# A stand-in for a docker 28 client without the buildx plugin (what /usr/local/bin/docker is on
# some machines): it says its version, and has no `buildx` command.
NEWER_CLIENT_SCRIPT = """#!/bin/sh
case "$1" in
    --version) echo "Docker version 28.2.2, build e6534b4"; exit 0 ;;
    *) echo "docker: unknown command: docker $1" >&2; exit 1 ;;
esac
"""


@pytest.fixture
def newer_client(tmp_path: Path) -> str:
    path = tmp_path / "newer" / "docker"
    path.parent.mkdir()
    path.write_text(NEWER_CLIENT_SCRIPT, encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def test_the_client_is_chosen_by_what_it_can_do_not_by_path_order(newer_client: str) -> None:
    client = docker_client.find_client([newer_client, DEBIAN_CLIENT])
    assert (client.path, client.buildx) == (DEBIAN_CLIENT, False)
    assert client.version.startswith("20.10")


def test_no_client_that_builds_with_buildkit_is_one_line_with_the_fix(
    newer_client: str, tmp_path: Path
) -> None:
    with pytest.raises(OperationError) as raised:
        docker_client.find_client([newer_client, str(tmp_path / "absent")])
    message = str(raised.value)
    assert message.startswith(f"no docker client here builds with BuildKit (found {newer_client} ")
    assert "install the buildx plugin" in message
    assert "\n" not in message


def test_no_client_at_all(tmp_path: Path) -> None:
    with pytest.raises(OperationError, match=r"BuildKit \(none found, without buildx\)"):
        docker_client.find_client([str(tmp_path / "docker")])


REQUEST = BuildRequest(
    Path("/src"),
    Path("/src/Dockerfile"),
    "registry.test/app:t1",
    {"VERSION": "1"},
    {"team": "a"},
    target="prod",
    network="none",
    platforms=("linux/amd64",),
    secret_files=(SecretFile("npm", Path("/private/secret-0")),),
    ssh=("default",),
    cache_from=("type=registry,ref=registry.test/app:cache",),
    cache_to=("type=inline",),
    pull=True,
    no_cache=True,
)


def test_the_built_in_client_gets_docker_build_with_its_own_cache_flags() -> None:
    argv = buildkit.build_argv(BUILT_IN, REQUEST, Path("/private"))
    assert argv == [
        "/usr/bin/docker", "build", "--iidfile", "/private/image-id", "--progress", "plain",
        "--file", "/src/Dockerfile", "--tag", "registry.test/app:t1",
        "--build-arg", "VERSION=1", "--label", "team=a", "--target", "prod",
        "--network", "none", "--platform", "linux/amd64",
        "--secret", "id=npm,src=/private/secret-0", "--ssh", "default",
        "--cache-from", "registry.test/app:cache", "--build-arg", "BUILDKIT_INLINE_CACHE=1",
        "--pull", "--no-cache", "/src",
    ]  # fmt: skip
    assert buildkit.capability_problems(BUILT_IN, REQUEST) == []


def test_buildx_pushes_the_image_itself_and_takes_the_specs_as_given() -> None:
    request = REQUEST._replace(
        platforms=("linux/amd64", "linux/arm64"), provenance="mode=max", sbom="true"
    )
    argv = buildkit.build_argv(BUILDX, request, Path("/private"))
    assert argv[:6] == [
        "/opt/docker",
        "buildx",
        "build",
        "--push",
        "--metadata-file",
        "/private/metadata.json",
    ]
    assert "--load" not in argv and "--iidfile" not in argv
    assert argv[argv.index("--platform") + 1] == "linux/amd64,linux/arm64"
    assert argv[argv.index("--cache-from") + 1] == "type=registry,ref=registry.test/app:cache"
    assert argv[argv.index("--cache-to") + 1] == "type=inline"
    assert {"--provenance=mode=max", "--sbom=true"} <= set(argv)


def test_what_only_buildx_does_is_named_for_the_built_in_client() -> None:
    request = REQUEST._replace(
        platforms=("linux/amd64", "linux/arm64"),
        cache_from=("type=gha",),
        cache_to=("type=registry,ref=x/y:cache",),
        provenance="true",
        sbom="true",
    )
    needs = "need docker buildx; /usr/bin/docker 20.10.24+dfsg1 has BuildKit built in only"
    assert buildkit.capability_problems(BUILT_IN, request) == [
        f"--platforms: multi-platform builds {needs}",
        f"--cache-from 'type=gha': other than type=registry,ref=... {needs}",
        f"--cache-to 'type=registry,ref=x/y:cache': other than type=inline {needs}",
        f"--provenance: attestations {needs}, which makes none",
        f"--sbom: attestations {needs}, which makes none",
    ]


# What `docker buildx inspect` prints of the default (docker driver) builder of a runner, and of
# the docker-container builder that docker/setup-buildx-action creates (after setup-qemu-action).
INSPECTED = """Name:   default
Driver: docker

Nodes:
Name:      default
Endpoint:  default
Status:    running
Buildkit:  v0.12.5
Platforms: linux/amd64, linux/amd64/v2, linux/amd64/v3, linux/386
"""
INSPECTED_CONTAINER = """Name:          builder-1f2e
Driver:        docker-container
Last Activity: 2026-11-30 10:00:00 +0000 UTC

Nodes:
Name:      builder-1f2e0
Endpoint:  unix:///var/run/docker.sock
Status:    running
Buildkit:  v0.18.2
Platforms: linux/amd64*, linux/arm64*, linux/amd64/v2, linux/386
"""
DEFAULT_BUILDER = docker_client.parse_builder(INSPECTED)
CONTAINER_BUILDER = docker_client.parse_builder(INSPECTED_CONTAINER)
SETUP_BUILDX = (
    "use a docker-container builder (docker/setup-buildx-action), or turn on the engine's "
    "containerd image store"
)


def test_buildx_inspect_says_the_driver_and_the_platforms() -> None:
    default = frozenset({"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/386"})
    container = frozenset({"linux/amd64", "linux/arm64", "linux/amd64/v2", "linux/386"})
    assert (DEFAULT_BUILDER.driver, DEFAULT_BUILDER.platforms) == ("docker", default)
    assert CONTAINER_BUILDER.driver == "docker-container"
    assert CONTAINER_BUILDER.platforms == container
    assert docker_client.parse_builder("") == Builder(None, frozenset())


@pytest.mark.parametrize(
    ("builder", "platforms", "cache_to", "expected"),
    [
        (DEFAULT_BUILDER, ["linux/amd64"], ["type=inline"], []),
        (
            DEFAULT_BUILDER,
            ["linux/arm64"],
            [],
            [
                "--platforms: the buildx builder cannot build linux/arm64 (it builds linux/386, "
                "linux/amd64, linux/amd64/v2, linux/amd64/v3): set up QEMU and a builder for "
                "them (docker/setup-qemu-action, docker/setup-buildx-action)"
            ],
        ),
        (
            DEFAULT_BUILDER,
            ["linux/amd64", "linux/386"],
            ["type=gha,mode=max"],
            [
                "--platforms: the buildx builder's docker driver builds one platform at a time: "
                + SETUP_BUILDX,
                "--cache-to 'type=gha,mode=max': the docker driver exports no cache but inline: "
                + SETUP_BUILDX,
            ],
        ),
        (CONTAINER_BUILDER, ["linux/amd64", "linux/arm64"], ["type=gha,mode=max"], []),
        (
            DEFAULT_BUILDER,
            [],
            [],
            [
                f"--provenance: the docker driver makes no attestations: {SETUP_BUILDX}",
                f"--sbom: the docker driver makes no attestations: {SETUP_BUILDX}",
            ],
        ),
        (Builder(None, frozenset()), ["linux/s390x"], [], []),  # unknown: the build tells
    ],
)
def test_a_buildx_builder_is_asked_what_it_builds(
    builder: Builder, platforms: list[str], cache_to: list[str], expected: list[str]
) -> None:
    request = REQUEST._replace(platforms=tuple(platforms), cache_to=tuple(cache_to))
    if not platforms:  # the attestations' case
        request = request._replace(provenance="mode=max", sbom="true")
    assert buildkit.builder_problems(builder, request) == expected


def test_the_build_directory_is_private_and_removed_also_on_failure() -> None:
    with pytest.raises(RuntimeError), buildkit.build_directory() as directory:
        root = directory.root
        (secret,) = directory.write_secrets({"npm": "s3cr3t"})
        directory.write_docker_config("registry.test", {"username": "u", "password": "p"})
        config = directory.docker_config
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        assert stat.S_IMODE(secret.path.stat().st_mode) == 0o600
        assert secret.path.read_text() == "s3cr3t"
        assert stat.S_IMODE((config / "config.json").stat().st_mode) == 0o600
        assert (config / "config.json").read_text() == (
            '{"auths": {"registry.test": {"auth": "dTpw"}}}'
        )
        raise RuntimeError
    assert not root.exists()


def test_build_from_scratch_with_args_and_labels(
    docker_engine: LocalEngine, api: docker.APIClient, tmp_path: Path
) -> None:
    context = write_tree(
        tmp_path,
        {
            "Dockerfile": "FROM scratch\nARG VERSION\nLABEL version=$VERSION\nCOPY app.txt /\n",
            "app.txt": "app",
        },
    )
    lines: list[str] = []
    image_id = build_image(
        docker_engine.base_url,
        context,
        "toto-test/scratch:1",
        lines.append,
        labels={"org.opencontainers.image.revision": "abc123"},
        build_args={"VERSION": "1.2.3"},
    )
    details = api.inspect_image("toto-test/scratch:1")
    assert image_id == details["Id"]
    assert details["Config"]["Labels"] == {
        "version": "1.2.3",
        "org.opencontainers.image.revision": "abc123",
    }
    assert any("[1/1] COPY app.txt /" in line for line in lines)  # BuildKit's plain progress


def test_dockerfile_outside_the_context(docker_engine: LocalEngine, tmp_path: Path) -> None:
    context = write_tree(tmp_path / "context", {"app.txt": "x", "Dockerfile": "unused"})
    outside = write_tree(tmp_path / "docker", {"service.Dockerfile": "FROM scratch\nCOPY . /\n"})
    image_id = build_image(
        docker_engine.base_url,
        context,
        "toto-test/out:1",
        dockerfile=outside / "service.Dockerfile",
    )
    assert image_id.startswith("sha256:")


def test_build_runs_steps_of_the_target_stage_and_streams_them_live(
    docker_engine: LocalEngine, context_on_base_image: ContextOnBaseImage
) -> None:
    context = context_on_base_image(
        'RUN echo "before" && sleep 1 && echo "after"\nFROM base AS second\nRUN echo second-stage\n'
    )
    arrivals: dict[str, float] = {}

    def on_line(line: str) -> None:
        arrivals.setdefault(line.split(" ", 2)[-1], time.monotonic())

    build_image(docker_engine.base_url, context, "toto-test/run:1", on_line, target="base")
    finished = time.monotonic()
    assert "after" in arrivals
    assert not any("second-stage" in line for line in arrivals)
    assert finished - arrivals["before"] > 0.8  # printed while the step was still running


def test_what_needs_buildkit_builds(
    docker_engine: LocalEngine, context_on_base_image: ContextOnBaseImage, api: docker.APIClient
) -> None:
    """What the classic builder refused: RUN --mount. (Heredocs need a newer Dockerfile frontend
    than dockerd 20.10's built-in one, pulled with `# syntax=`: no image can be pulled here.)"""
    context = context_on_base_image(
        "RUN --mount=type=cache,target=/cache touch /cache/x\n"
        "RUN --mount=type=bind,source=app.sh,target=/mnt/app.sh cp /mnt/app.sh /app.sh\n",
        {"app.sh": "echo hi\n"},
    )
    image_id = build_image(docker_engine.base_url, context, "toto-test/buildkit:1")
    assert api.inspect_image(image_id)["Id"] == image_id


@pytest.mark.parametrize(
    ("dockerfile", "message"),
    [
        ("RUN exit 3\n", "exit code: 3"),
        ("NOSUCH instruction\n", "unknown instruction: NOSUCH"),
        # BuildKit tries to pull it: its message depends on the network (none here).
        ("FROM toto-test/absent:1\n", "docker build failed: "),
    ],
)
def test_a_failing_build_carries_buildkits_message(
    docker_engine: LocalEngine,
    context_on_base_image: ContextOnBaseImage,
    dockerfile: str,
    message: str,
) -> None:
    context = context_on_base_image(dockerfile)
    with pytest.raises(OperationError) as raised:
        build_image(docker_engine.base_url, context, "toto-test/fail:1")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
