"""`toto-actions build-push` stopped by a signal mid-build (issue 28, point 8).

A cancelled step gets SIGINT, SIGTERM when it has not exited 7500 ms later, and its process tree
is killed 2500 ms after that (github/docs,
content/actions/reference/workflows-and-actions/workflow-cancellation.md); a runner or container
shut down sends SIGTERM alone. On SIGINT or SIGTERM the private directory (the build secrets'
files, the Docker config holding the registry login) is removed as on a failure, the docker
build it started is stopped, and the exit code is 128 + the signal's number, as a shell reports
it (130 for SIGINT, what the CLI already returned for a Ctrl-C; 143 for SIGTERM)."""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from testing.background import wait_for_processes_naming
from testing.cli import CLI, clean_environment
from testing.local_stack import BaseImage, Registry
from tests.commands.build_push.conftest import (
    Service,
    on_registry,
    registry_tags,
    write_dockerfile,
)

SECRET_VALUE = "s3cr3t-signal-token-5d2e"
RUNNING = "42-running"  # what the RUN step prints (its command line shows $((6*7))-running)


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's output lines, read by a thread as they come."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for_line(lines: queue.Queue[str], text: str, log: list[str], seconds: float) -> None:
    while True:
        line = lines.get(timeout=seconds)  # queue.Empty: the test fails, with no line seen
        log.append(line)
        if text in line:
            return


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_build_removes_the_secret_files_and_the_docker_config(
    service: Service,
    registry: Registry,
    base_image: BaseImage,
    tmp_path: Path,
    number: signal.Signals,
) -> None:
    write_dockerfile(
        service,
        base_image,
        'RUN --mount=type=secret,id=token echo "$((6*7))-running" && sleep 300\n',
    )
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    repository = f"toto/signal-{number.name.lower()}"
    command = [str(CLI), "build-push", "--context", str(service.root), "--revision", "0123456"]
    arguments = [*on_registry(registry, repository), "--secrets", f"token={SECRET_VALUE}"]
    log: list[str] = []
    with subprocess.Popen(
        [*command, *arguments],
        env=clean_environment({**service.engine.env, "TMPDIR": str(private_tmp)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as build:
        try:
            wait_for_line(lines_of(build), RUNNING, log, seconds=180)
            (private,) = private_tmp.iterdir()  # the build runs with its private directory
            assert (private / "docker-config" / "config.json").exists(), sorted(private.rglob("*"))
            build.send_signal(number)
            exit_code = build.wait(timeout=60)  # not the 300 s the step sleeps
        finally:
            build.kill()
    assert exit_code == 128 + number, "".join(log)
    assert list(private_tmp.iterdir()) == []  # the secret files and Docker config are gone
    # The docker build it started (whose arguments name the private directory) stopped too.
    wait_for_processes_naming(str(private_tmp), timeout=15)
    assert registry_tags(registry, repository) == []
    assert SECRET_VALUE not in "".join(log)
