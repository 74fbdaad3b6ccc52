"""The child processes of the local stack: a service writing to its log in a session of its own,
started on a free loopback port and stopped at the end, and the errors it reports."""

from __future__ import annotations

import functools
import http.client
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple

from testing.sockets import free_port

# How long an HTTP service may take to answer before the start counts as failed.
HTTP_SERVICE_START_TIMEOUT = 30.0
# How long a service may take to exit after SIGTERM before it is killed.
STOP_TIMEOUT = 10.0

LOG_TAIL_LINES = 60
_POLL_INTERVAL = 0.05
_PORT_ATTEMPTS = 3


class ServiceError(RuntimeError):
    """A service could not start or stop; the message ends with the tail of its log."""

    def __init__(self, message: str, log_path: Path | None = None) -> None:
        if log_path is not None:
            message = f"{message}\n--- last lines of {log_path} ---\n{log_tail(log_path)}"
        super().__init__(message)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file, or a note that there is none."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:])


class Daemon:
    """A child process writing to a log file, in a session of its own (a Ctrl-C of the test run
    reaches it only through stop()) and sent SIGTERM by the kernel if the test run dies first
    (setpriv --pdeathsig: the thread that starts it must outlive it)."""

    def __init__(
        self, name: str, argv: Sequence[str], log_path: Path, env: Mapping[str, str]
    ) -> None:
        self.name = name
        self.log_path = log_path
        command = list(argv)
        setpriv = shutil.which("setpriv")
        if setpriv:
            command = [setpriv, "--pdeathsig", "TERM", "--", *command]
        with log_path.open("ab") as log:
            log.write(f"$ {' '.join(argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env),
                start_new_session=True,
            )

    def exited(self) -> bool:
        return self.process.poll() is not None

    def wait_until(self, ready: Callable[[], bool], timeout: float) -> None:
        """Return once ready() is true; raise ServiceError if the process exits or time runs
        out first."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.exited():
                raise ServiceError(
                    f"{self.name} exited with status {self.process.returncode} before it was ready",
                    self.log_path,
                )
            if time.monotonic() > deadline:
                raise ServiceError(f"{self.name} was not ready after {timeout:.0f}s", self.log_path)
            time.sleep(_POLL_INTERVAL)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL if it has not exited after timeout seconds; reaps it."""
        if self.exited():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def service_environment(dropped_prefixes: tuple[str, ...]) -> dict[str, str]:
    """This process's environment without the variables a service would act on, with the sbin
    directories (runc, dockerd) on PATH."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(dropped_prefixes)}
    path = environment.get("PATH", "/usr/bin:/bin").split(os.pathsep)
    path += [d for d in ("/usr/local/sbin", "/usr/sbin", "/sbin") if d not in path]
    environment["PATH"] = os.pathsep.join(path)
    return environment


def find_binary(name: str, package: str) -> str:
    """The path of a service's executable; ServiceError naming the Debian package if missing."""
    found = shutil.which(name, path=service_environment(())["PATH"])
    if found is None:
        raise ServiceError(f"{name} not found: install Debian's {package} (scripts/test does)")
    return found


def _http_answers(host: str, port: int, path: str) -> bool:
    """Whether an HTTP server answers GET path, whatever its status."""
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", path)
        connection.getresponse().read()
    except OSError:
        return False
    finally:
        connection.close()
    return True


def _start_on_free_port(start: Callable[[int], Daemon], ready_path: str) -> tuple[Daemon, int]:
    """Start a service on a free port, again on another one if it exits because the port was
    taken (another process may bind it between the probe and the service)."""
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = free_port()
        daemon = start(port)
        ready = functools.partial(_http_answers, "127.0.0.1", port, ready_path)
        try:
            daemon.wait_until(ready, HTTP_SERVICE_START_TIMEOUT)
        except ServiceError as exc:
            port_taken = daemon.exited() and "address already in use" in str(exc).lower()
            daemon.stop()
            if not port_taken or attempt == _PORT_ATTEMPTS:
                raise
        else:
            return daemon, port
    raise AssertionError("unreachable")


class Started(NamedTuple):
    """An HTTP service on a free loopback port, and how long it took to answer."""

    port: int
    started_in: float


@contextmanager
def run_http_service(
    root: Path, start: Callable[[int], Daemon], ready_path: str
) -> Iterator[Started]:
    """Start a service with start(port) on a free loopback port; yield once it answers GET
    ready_path; stop it and remove its directory root."""
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, root, ignore_errors=True)
        started = time.monotonic()
        daemon, port = _start_on_free_port(start, ready_path)
        cleanup.callback(daemon.stop)
        yield Started(port, time.monotonic() - started)
