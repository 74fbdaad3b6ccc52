"""docker_engine against the session's real dockerd and registry (testing/local_stack/)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

import docker  # type: ignore[import-untyped]
import pytest
import requests

from testing.local_stack import BaseImage, Registry, free_port
from testing.local_stack import DockerEngine as LocalEngine
from toto_actions.errors import OperationError, UsageError
from toto_actions.http_retry import RetryPolicy
from toto_actions.images.engine import DockerEngine
from toto_actions.images.names import MANIFEST_MEDIA_TYPES

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_wait=1.0)


@pytest.fixture(scope="module")
def engine(docker_engine: LocalEngine) -> DockerEngine:
    return DockerEngine(docker_engine.base_url, push_retry=FAST_RETRY)


@pytest.fixture(scope="module")
def api(docker_engine: LocalEngine) -> Iterator[docker.APIClient]:
    """The SDK itself, to look at what the engine holds."""
    client = docker.APIClient(base_url=docker_engine.base_url, version="auto")
    yield client
    client.close()


def write_tree(root: Path, files: dict[str, str]) -> Path:
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


def build(
    engine: DockerEngine,
    context: Path,
    tag: str,
    on_line: Callable[[str], None] = lambda _: None,
    target: str | None = None,
) -> str:
    """Builds the context's own Dockerfile, without build arguments or labels."""
    return engine.build(context, context / "Dockerfile", {}, target, {}, tag, on_line)


def scratch_image(engine: DockerEngine, tmp_path: Path, tag: str, content: str) -> str:
    context = write_tree(
        tmp_path / "scratch", {"Dockerfile": "FROM scratch\nCOPY app.txt /\n", "app.txt": content}
    )
    return build(engine, context, tag)


def test_ping_answers(engine: DockerEngine) -> None:
    engine.ping()


def test_ping_without_an_engine_is_one_usage_line(tmp_path: Path) -> None:
    url = f"unix://{tmp_path / 'no-such.sock'}"
    with pytest.raises(UsageError) as raised:
        DockerEngine(url).ping()
    assert str(raised.value) == f"no Docker engine at {url}: No such file or directory"


IGNORED_CONTEXT = {
    ".dockerignore": "\n".join(
        [
            "# dependencies and output",
            "**/*.log",
            "!keep.log",
            "node_modules",
            "secrets/",
            "docs/**/draft*",
            "build",
            "!build/keep.txt",
            "",
        ]
    ),
    "Dockerfile": "FROM scratch\n",
    "app.py": "print('hi')\n",
    "a.log": "",
    "keep.log": "",
    "src/x.py": "",
    "src/deep/y.log": "",
    "node_modules/m/index.js": "",
    "secrets/key": "",
    "docs/a/b/draft1.md": "",
    "docs/a/final.md": "",
    "build/out.bin": "",
    "build/keep.txt": "",
}
EXPECTED_CONTEXT = [
    ".dockerignore",
    "Dockerfile",
    "app.py",
    "build/keep.txt",
    "docs/a/final.md",
    "keep.log",
    "link",
    "src/x.py",
]


def test_context_files_follow_dockerignore(engine: DockerEngine, tmp_path: Path) -> None:
    context = write_tree(tmp_path, IGNORED_CONTEXT)
    (context / "link").symlink_to("app.py")
    (context / "empty").mkdir()
    assert engine.context_files(context, context / "Dockerfile") == EXPECTED_CONTEXT


def test_context_files_are_what_the_engine_receives(
    engine: DockerEngine, context_on_base_image: ContextOnBaseImage
) -> None:
    """A build that copies its whole context lists, from inside the image, the same files."""
    context = context_on_base_image(
        "COPY . /ctx/\nRUN cd /ctx && find . -type f -o -type l | sed 's|^./|in image: |' | sort\n",
        IGNORED_CONTEXT,
    )
    (context / "link").symlink_to("app.py")
    lines: list[str] = []
    build(engine, context, "toto-test/ctx:1", lines.append)
    received = sorted(
        line.removeprefix("in image: ") for line in lines if line.startswith("in image: ")
    )
    assert received == EXPECTED_CONTEXT == engine.context_files(context, context / "Dockerfile")


def test_dockerfile_outside_the_context(engine: DockerEngine, tmp_path: Path) -> None:
    context = write_tree(tmp_path / "context", {"app.txt": "x", "Dockerfile": "unused"})
    outside = write_tree(tmp_path / "docker", {"service.Dockerfile": "FROM scratch\nCOPY . /\n"})
    dockerfile = outside / "service.Dockerfile"
    assert engine.context_files(context, dockerfile) == ["Dockerfile", "app.txt"]
    image_id = engine.build(context, dockerfile, {}, None, {}, "toto-test/out:1", lambda _: None)
    assert image_id.startswith("sha256:")


def test_build_from_scratch_with_args_and_labels(
    engine: DockerEngine, api: docker.APIClient, tmp_path: Path
) -> None:
    context = write_tree(
        tmp_path,
        {
            "Dockerfile": "FROM scratch\nARG VERSION\nLABEL version=$VERSION\nCOPY app.txt /\n",
            "app.txt": "app",
        },
    )
    lines: list[str] = []
    image_id = engine.build(
        context,
        context / "Dockerfile",
        {"VERSION": "1.2.3"},
        None,
        {"org.opencontainers.image.revision": "abc123"},
        "toto-test/scratch:1",
        lines.append,
    )
    details = api.inspect_image("toto-test/scratch:1")
    assert image_id == details["Id"]
    assert details["Config"]["Labels"] == {
        "version": "1.2.3",
        "org.opencontainers.image.revision": "abc123",
    }
    assert "Step 1/5 : FROM scratch" in lines  # the labels given are a step of their own
    assert "Successfully tagged toto-test/scratch:1" in lines
    assert details["Size"] > 0


def test_build_runs_steps_of_the_target_stage_and_streams_them_live(
    engine: DockerEngine, context_on_base_image: ContextOnBaseImage
) -> None:
    context = context_on_base_image(
        'RUN echo "before" && sleep 1 && printf "par" && echo "t of a line"\n'
        "FROM base AS second\n"
        "RUN echo second-stage\n",
    )
    arrivals: dict[str, float] = {}

    def on_line(line: str) -> None:
        arrivals.setdefault(line, time.monotonic())

    build(engine, context, "toto-test/run:1", on_line, target="base")
    finished = time.monotonic()
    assert "part of a line" in arrivals
    assert "second-stage" not in arrivals
    assert finished - arrivals["before"] > 0.8  # printed while the step was still running


@pytest.mark.parametrize(
    ("dockerfile", "message"),
    [
        (
            "RUN exit 3\n",
            "docker build failed: The command '/bin/sh -c exit 3' returned a non-zero code: 3",
        ),
        ("NOSUCH instruction\n", "unknown instruction: NOSUCH"),
        # The engine tries to pull it: its message depends on the network (none here).
        ("FROM toto-test/absent:1\n", "docker build failed: "),
    ],
)
def test_a_failing_build_carries_the_engines_message(
    engine: DockerEngine, context_on_base_image: ContextOnBaseImage, dockerfile: str, message: str
) -> None:
    context = context_on_base_image(dockerfile)
    with pytest.raises(OperationError) as raised:
        build(engine, context, "toto-test/fail:1")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_push_returns_the_digest_the_registry_serves(
    engine: DockerEngine, registry: Registry, tmp_path: Path
) -> None:
    repository_ref = f"{registry.host}/toto-test/engine-push"
    scratch_image(engine, tmp_path, f"{repository_ref}:v1", "pushed")
    lines: list[str] = []
    digest = engine.push(repository_ref, "v1", None, lines.append)
    served = requests.head(
        f"{registry.url}/v2/toto-test/engine-push/manifests/v1",
        headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES)},
        timeout=10,
    )
    assert digest.startswith("sha256:")
    assert served.headers["Docker-Content-Digest"] == digest
    assert len(lines) == len(set(lines)), "one line per layer state, not per progress tick"
    assert any(line.endswith(": Pushed") for line in lines)


def test_push_to_a_registry_that_is_down_fails_after_retries(
    engine: DockerEngine, tmp_path: Path
) -> None:
    repository_ref = f"127.0.0.1:{free_port()}/toto-test/down"
    scratch_image(engine, tmp_path, f"{repository_ref}:v1", "down")
    lines: list[str] = []
    with pytest.raises(OperationError) as raised:
        engine.push(repository_ref, "v1", {"username": "u", "password": "p"}, lines.append)
    assert f"docker push {repository_ref}:v1 failed: " in str(raised.value)
    assert "connection refused" in str(raised.value)
    assert sum("retrying in" in line for line in lines) == FAST_RETRY.attempts - 1


def test_push_of_an_image_the_engine_lacks_fails_at_once(
    engine: DockerEngine, registry: Registry
) -> None:
    lines: list[str] = []
    with pytest.raises(OperationError, match="An image does not exist locally"):
        engine.push(f"{registry.host}/toto-test/never-built", "v1", None, lines.append)
    assert not any("retrying" in line for line in lines)
