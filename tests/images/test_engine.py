"""images.engine against the session's real dockerd and registry (testing/local_stack/); the
images it pushes are built with BuildKit (images.buildkit)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from testing.images import build_image
from testing.local_stack import DockerEngine as LocalEngine
from testing.local_stack import Registry, free_port
from tests.images.conftest import ContextOnBaseImage, write_tree
from toto_actions.errors import OperationError, UsageError
from toto_actions.http_retry import RetryPolicy
from toto_actions.images.engine import DockerEngine
from toto_actions.images.names import MANIFEST_MEDIA_TYPES

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_wait=1.0)


@pytest.fixture(scope="module")
def engine(docker_engine: LocalEngine) -> DockerEngine:
    return DockerEngine(docker_engine.base_url, push_retry=FAST_RETRY)


def build(
    engine: DockerEngine,
    context: Path,
    tag: str,
    on_line: Callable[[str], None] = lambda _: None,
) -> str:
    return build_image(engine.url, context, tag, on_line)


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
    # BuildKit's plain progress puts the step and the time before each line: `#7 0.31 in image: x`
    printed = (re.fullmatch(r"#\d+ [\d.]+ in image: (.*)", line) for line in lines)
    received = sorted(match.group(1) for match in printed if match)
    assert received == EXPECTED_CONTEXT == engine.context_files(context, context / "Dockerfile")


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
