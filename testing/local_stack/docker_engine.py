"""The Docker engine of the local stack: containerd and dockerd as root in a private directory,
without a bridge, iptables or IP forwarding (see testing/local_stack/__init__.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from testing.local_stack.processes import Daemon, ServiceError, find_binary, service_environment

DEFAULT_STORAGE_DRIVERS = ("overlay2", "vfs")
# How long a service may take to answer before the start counts as failed.
DOCKERD_START_TIMEOUT = 60.0
CONTAINERD_START_TIMEOUT = 20.0
# How long dockerd may take to exit after SIGTERM before it is killed.
DOCKERD_STOP_TIMEOUT = 30.0
# Directories dockerd and containerd create whatever their configuration says (see the package).
_HARD_CODED_RUN_DIRECTORIES = (
    Path("/run/docker/plugins"),
    Path("/run/docker"),
    Path("/run/containerd/s"),
    Path("/run/containerd"),
)
_CGROUP_ROOT = Path("/sys/fs/cgroup")
# Variables of the test run's environment that would change what dockerd or the docker CLI do.
DOCKERD_VARIABLES = ("DOCKER_", "NOTIFY_SOCKET")


def _unix_http(socket_path: Path, method: str, path: str) -> tuple[int | None, bytes]:
    """The status and body of an HTTP/1.0 request over a unix socket; (None, b"") when nothing
    answers."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(10)
            client.connect(str(socket_path))
            client.sendall(f"{method} {path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
            received = b""
            while chunk := client.recv(65536):
                received += chunk
    except OSError:
        return None, b""
    head, _, body = received.partition(b"\r\n\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    return (int(match.group(1)) if match else None), body


def _unix_socket_accepts(socket_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(2)
            client.connect(str(socket_path))
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class DockerEngine:
    """A running dockerd of this test run."""

    base_url: str  # unix:///.../docker.sock: docker.DockerClient(base_url=...)
    root: Path  # the private directory holding everything below
    data_root: Path  # --data-root
    storage_driver: str  # the first of the storage drivers tried that works here
    log_path: Path  # dockerd's log
    containerd_log_path: Path
    docker_config: Path  # an empty DOCKER_CONFIG, so `docker login` leaves ~/.docker alone
    started_in: float  # seconds from the start of containerd to dockerd's API answering

    @property
    def host(self) -> str:
        """The engine's address for the docker CLI (DOCKER_HOST)."""
        return self.base_url

    @property
    def env(self) -> dict[str, str]:
        """Variables that point the docker CLI at this engine."""
        return {"DOCKER_HOST": self.host, "DOCKER_CONFIG": str(self.docker_config)}

    @property
    def logs(self) -> dict[str, Path]:
        return {"dockerd": self.log_path, "containerd": self.containerd_log_path}


# A containerd of our own: state, sockets and plugin directories under its directory (the opt
# plugin would otherwise create /opt/containerd), no CRI, no debug or metrics listener.
_CONTAINERD_CONFIG = """\
version = 2
root = "{root}/root"
state = "{root}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{root}/containerd.sock"

[ttrpc]
  address = "{root}/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/opt"

[plugins."io.containerd.runtime.v1.linux"]
  runtime_root = "{root}/runc"
"""


def _dockerd_argv(dockerd: str, root: Path, cgroup_parent: str, storage_driver: str) -> list[str]:
    return [
        dockerd,
        f"--config-file={root / 'daemon.json'}",
        f"--host=unix://{root / 'docker.sock'}",
        f"--containerd={root / 'containerd' / 'containerd.sock'}",
        f"--data-root={root / 'data'}",
        f"--exec-root={root / 'exec'}",
        f"--pidfile={root / 'docker.pid'}",
        f"--storage-driver={storage_driver}",
        f"--cgroup-parent={cgroup_parent}",
        # No network for containers: no docker0, no iptables rules, no sysctl written.
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--ip-masq=false",
        "--ip-forward=false",
    ]


def _mounts_under(directory: Path) -> list[Path]:
    """Mount points below directory, deepest first."""
    prefix = f"{directory}/"
    mounts: list[Path] = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
        if point.startswith(prefix):
            mounts.append(Path(point))
    return sorted(mounts, key=lambda p: len(p.parts), reverse=True)


def _kill_processes_using(argument: str) -> None:
    """SIGKILL the processes with argument on their command line: the containerd shims of our
    containerd (`-address <its socket>`) still running after it stopped."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
            if argument.encode() in arguments:
                os.kill(int(cmdline.parent.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue  # the process ended meanwhile


def _remove_cgroups(parent: str) -> None:
    """rmdir the (empty, once the containers are gone) cgroups dockerd made under parent."""
    for hierarchy in _CGROUP_ROOT.iterdir():
        top = hierarchy / parent.lstrip("/")
        if not top.is_dir():
            continue
        for directory in sorted(top.glob("**/"), key=lambda p: len(p.parts), reverse=True):
            try:
                directory.rmdir()
            except OSError:
                continue


def _remove_if_empty(directories: Sequence[Path]) -> None:
    for directory in directories:
        try:
            directory.rmdir()
        except OSError:
            continue  # not empty (another engine uses it) or already gone


def _cleanup_engine(root: Path, cgroup_parent: str, created_run_directories: list[Path]) -> None:
    _kill_processes_using(str(root / "containerd" / "containerd.sock"))
    for mount in _mounts_under(root):
        if subprocess.run(["umount", str(mount)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "--lazy", str(mount)], capture_output=True, check=False)
    _remove_cgroups(cgroup_parent)
    shutil.rmtree(root, ignore_errors=True)
    _remove_if_empty(created_run_directories)


def _kill_containers(docker_socket: Path) -> None:
    """SIGKILL the containers still running, which dockerd would otherwise give 10 s each to
    stop when it shuts down."""
    status, body = _unix_http(docker_socket, "GET", "/containers/json")
    if status == 200:
        for container in json.loads(body):
            _unix_http(docker_socket, "POST", f"/containers/{container['Id']}/kill")


def _start_dockerd(dockerd: str, root: Path, cgroup_parent: str, driver: str) -> Daemon:
    engine = Daemon(
        f"dockerd (storage driver {driver})",
        _dockerd_argv(dockerd, root, cgroup_parent, driver),
        root / "dockerd.log",
        service_environment(DOCKERD_VARIABLES),
    )
    try:
        engine.wait_until(
            lambda: _unix_http(root / "docker.sock", "GET", "/_ping")[0] == 200,
            DOCKERD_START_TIMEOUT,
        )
    except ServiceError:
        engine.stop(DOCKERD_STOP_TIMEOUT)
        raise
    return engine


@contextmanager
def run_docker_engine(
    storage_drivers: Sequence[str] = DEFAULT_STORAGE_DRIVERS,
) -> Iterator[DockerEngine]:
    """Start containerd and dockerd as root in a new private directory; yield the engine once its
    API answers; stop both and remove everything they made. The first storage driver dockerd
    starts with is used (overlay2 fails on some backing filesystems, vfs works everywhere)."""
    if os.geteuid() != 0:
        raise ServiceError("dockerd must run as root")
    containerd_binary = find_binary("containerd", "docker.io")
    dockerd_binary = find_binary("dockerd", "docker.io")
    created_run_directories = [d for d in _HARD_CODED_RUN_DIRECTORIES if not d.exists()]
    # Short: unix socket paths are limited to 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="toto-docker-", dir="/tmp"))
    cgroup_parent = f"/{root.name}"
    containerd_root = root / "containerd"
    containerd_root.mkdir()
    (root / "docker-config").mkdir()
    # The key dockerd 20.10 would otherwise write to /etc/docker/key.json.
    (root / "daemon.json").write_text(json.dumps({"deprecated-key-path": str(root / "key.json")}))
    (containerd_root / "config.toml").write_text(_CONTAINERD_CONFIG.format(root=containerd_root))

    with ExitStack() as cleanup:
        cleanup.callback(_cleanup_engine, root, cgroup_parent, created_run_directories)
        started = time.monotonic()
        containerd = Daemon(
            "containerd",
            [containerd_binary, "--config", str(containerd_root / "config.toml")],
            root / "containerd.log",
            service_environment(DOCKERD_VARIABLES),
        )
        cleanup.callback(containerd.stop)
        containerd.wait_until(
            lambda: _unix_socket_accepts(containerd_root / "containerd.sock"),
            CONTAINERD_START_TIMEOUT,
        )
        failures: list[str] = []
        for driver in storage_drivers:
            try:
                dockerd = _start_dockerd(dockerd_binary, root, cgroup_parent, driver)
            except ServiceError as exc:
                failures.append(str(exc))
                shutil.rmtree(root / "data", ignore_errors=True)
                continue
            cleanup.callback(dockerd.stop, DOCKERD_STOP_TIMEOUT)
            cleanup.callback(_kill_containers, root / "docker.sock")
            yield DockerEngine(
                base_url=f"unix://{root / 'docker.sock'}",
                root=root,
                data_root=root / "data",
                storage_driver=driver,
                log_path=root / "dockerd.log",
                containerd_log_path=root / "containerd.log",
                docker_config=root / "docker-config",
                started_in=time.monotonic() - started,
            )
            return
        raise ServiceError("dockerd started with no storage driver:\n" + "\n".join(failures))
