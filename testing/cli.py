"""The installed `toto-actions` console script, run as a user's shell would: in a subprocess,
with none of the runner's GitHub Actions variables."""

from __future__ import annotations

import atexit
import functools
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

CLI = Path(sys.executable).parent / "toto-actions"

# Variables of the machine running the tests that would change what the CLI does.
_RUNNER_VARIABLES = ("GITHUB_", "INPUT_", "RUNNER_")


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


CliRunner = Callable[..., CliResult]


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any GitHub Actions variable, plus extra."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(_RUNNER_VARIABLES)}
    environment.update(extra or {})
    return environment


def make_cli_runner(default_cwd: Path, default_env: Mapping[str, str] | None = None) -> CliRunner:
    """Run `toto-actions ARGS` in a new process (in default_cwd unless told) and capture it;
    default_env is in its environment unless a run's env says otherwise. The process is a child
    of this test process's fork server (testing/cli_server.py), which imported the CLI once:
    it runs the console script's main() with its own environment, directory, streams and exit
    code."""

    def run(
        *arguments: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> CliResult:
        environment = clean_environment({**(default_env or {}), **(env or {})})
        with tempfile.TemporaryDirectory(prefix="toto-cli-") as scratch:
            stdout, stderr = Path(scratch, "stdout"), Path(scratch, "stderr")
            directory = str(cwd or default_cwd)
            request = (arguments, directory, environment, str(stdout), str(stderr))
            code = _fork_server().run(arguments, request, timeout=120)
            return CliResult(
                code, stdout.read_text(encoding="utf-8"), stderr.read_text(encoding="utf-8")
            )

    return run


class _ForkServer:
    """testing/cli_server.py in a process of its own, listening on a Unix socket."""

    def __init__(self) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="toto-cli-server-"))
        self.address = str(self._directory / "socket")
        root = Path(__file__).resolve().parent.parent
        self._process = subprocess.Popen(
            [sys.executable, "-m", "testing.cli_server", self.address],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdin=subprocess.DEVNULL,
        )
        atexit.register(self.close)
        deadline = time.monotonic() + 60
        while not Path(self.address).exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the CLI's fork server did not start: {root}")
            time.sleep(0.01)

    def run(self, arguments: tuple[str, ...], request: tuple[object, ...], timeout: float) -> int:
        """One run of the CLI (arguments, and the request testing/cli_server.py reads): its exit
        code. Killed and TimeoutExpired past timeout, as subprocess.run does."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connected:
            connected.connect(self.address)
            connection = Connection(connected.detach())
        with connection:
            connection.send(request)
            pid: int = connection.recv()
            deadline = time.monotonic() + timeout
            try:
                ended = os.pidfd_open(pid)
            except ProcessLookupError:  # already ended (its answer is waiting), and reaped
                ended = None
            try:
                if not connection.poll(timeout):
                    os.kill(pid, signal.SIGKILL)
                    raise subprocess.TimeoutExpired([str(CLI), *arguments], timeout)
                try:
                    code: int = connection.recv()
                except EOFError:  # only a signal ends the child before it answers
                    message = f"toto-actions {' '.join(arguments)}: killed by a signal"
                    raise RuntimeError(message) from None
                # As subprocess.run returns: once the process ended, its threads joined.
                if ended is not None:
                    select.select([ended], [], [], max(deadline - time.monotonic(), 0))
                return code
            finally:
                if ended is not None:
                    os.close(ended)

    def close(self) -> None:
        self._process.kill()
        self._process.wait()
        shutil.rmtree(self._directory, ignore_errors=True)


@functools.cache
def _fork_server() -> _ForkServer:
    return _ForkServer()
