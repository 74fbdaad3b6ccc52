"""Real services on loopback for the integration tests: a Docker engine, a v2 registry, moto.

Each service is a child process of the test run with everything private to it: a temporary
directory, its own unix socket or a free port on 127.0.0.1, and a configuration file written here
(the machine's /etc/docker/daemon.json, /etc/containerd/config.toml and registry config are never
read). Each is stopped, and its directory removed, when its context manager exits:

    with run_docker_engine() as engine, run_registry() as registry:
        client = docker.DockerClient(base_url=engine.base_url)

Registered in tests/conftest.py as a pytest plugin, this module also provides the session
fixtures `docker_engine`, `registry`, `moto_server` and `base_image`, and appends a service's log to
the report of a failed test that used it.

The Docker engine needs root and Debian's docker.io, docker-registry and busybox-static packages
(scripts/test installs them). It never uses a system-wide dockerd or containerd, /var/lib/docker,
/var/run/docker.sock or the docker0 bridge: dockerd runs on a containerd of its own, without a
bridge, iptables or IP forwarding (builds need none: `RUN` steps run without a network), and its
containers' cgroups sit under a parent named after its directory. Two paths are hard-coded in
dockerd and containerd and cannot be moved: /run/docker/plugins (empty) and /run/containerd/s
(one hashed socket per running container); they are removed at the end when this run created them.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

DEFAULT_STORAGE_DRIVERS = ("overlay2", "vfs")
BASE_IMAGE_TAG = "toto-test/busybox:local"
MOTO_ACCOUNT_ID = "123456789012"  # moto's default account
MOTO_REGION = "us-east-1"

# How long a service may take to answer before the start counts as failed.
DOCKERD_START_TIMEOUT = 60.0
CONTAINERD_START_TIMEOUT = 20.0
HTTP_SERVICE_START_TIMEOUT = 30.0
# How long a service may take to exit after SIGTERM before it is killed.
DOCKERD_STOP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

LOG_TAIL_LINES = 60
_POLL_INTERVAL = 0.05
_PORT_ATTEMPTS = 3
# Directories dockerd and containerd create whatever their configuration says (see above).
_HARD_CODED_RUN_DIRECTORIES = (
    Path("/run/docker/plugins"),
    Path("/run/docker"),
    Path("/run/containerd/s"),
    Path("/run/containerd"),
)
_CGROUP_ROOT = Path("/sys/fs/cgroup")
# Variables of the test run's environment that would change what dockerd or the registry do.
_DOCKERD_VARIABLES = ("DOCKER_", "NOTIFY_SOCKET")
_REGISTRY_VARIABLES = ("REGISTRY_",)


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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# ------------------------------------------------------------------------------------------------
# Child processes


class _Daemon:
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


def _environment(dropped_prefixes: tuple[str, ...]) -> dict[str, str]:
    """This process's environment without the variables a service would act on, with the sbin
    directories (runc, dockerd) on PATH."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(dropped_prefixes)}
    path = environment.get("PATH", "/usr/bin:/bin").split(os.pathsep)
    path += [d for d in ("/usr/local/sbin", "/usr/sbin", "/sbin") if d not in path]
    environment["PATH"] = os.pathsep.join(path)
    return environment


def _find_binary(name: str, package: str) -> str:
    found = shutil.which(name, path=_environment(())["PATH"])
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


def _start_on_free_port(
    start: Callable[[int], _Daemon], ready: Callable[[int], bool]
) -> tuple[_Daemon, int]:
    """Start a service on a free port, again on another one if it exits because the port was
    taken (another process may bind it between the probe and the service)."""
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = free_port()
        daemon = start(port)
        try:
            daemon.wait_until(functools.partial(ready, port), HTTP_SERVICE_START_TIMEOUT)
        except ServiceError as exc:
            port_taken = daemon.exited() and "address already in use" in str(exc).lower()
            daemon.stop()
            if not port_taken or attempt == _PORT_ATTEMPTS:
                raise
        else:
            return daemon, port
    raise AssertionError("unreachable")


# ------------------------------------------------------------------------------------------------
# Docker engine


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


def _start_dockerd(dockerd: str, root: Path, cgroup_parent: str, driver: str) -> _Daemon:
    engine = _Daemon(
        f"dockerd (storage driver {driver})",
        _dockerd_argv(dockerd, root, cgroup_parent, driver),
        root / "dockerd.log",
        _environment(_DOCKERD_VARIABLES),
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
    containerd_binary = _find_binary("containerd", "docker.io")
    dockerd_binary = _find_binary("dockerd", "docker.io")
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
        containerd = _Daemon(
            "containerd",
            [containerd_binary, "--config", str(containerd_root / "config.toml")],
            root / "containerd.log",
            _environment(_DOCKERD_VARIABLES),
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


# ------------------------------------------------------------------------------------------------
# Registry


@dataclass(frozen=True)
class Registry:
    """A running CNCF distribution registry (v2 API) over plain http, without authentication."""

    host: str  # 127.0.0.1:PORT, the registry part of an image name
    root: Path  # its storage and configuration
    log_path: Path
    started_in: float

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def logs(self) -> dict[str, Path]:
        return {"docker-registry": self.log_path}


def _registry_config(storage: Path, port: int) -> dict[str, object]:
    return {
        "version": 0.1,
        "log": {"level": "info"},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"127.0.0.1:{port}", "headers": {"X-Content-Type-Options": ["nosniff"]}},
    }


@contextmanager
def run_registry() -> Iterator[Registry]:
    """Start docker-registry on a free loopback port with filesystem storage in a new temporary
    directory and deletes enabled; yield it once /v2/ answers; stop it and remove the directory."""
    binary = _find_binary("docker-registry", "docker-registry")
    root = Path(tempfile.mkdtemp(prefix="toto-registry-"))
    log_path = root / "registry.log"

    def start(port: int) -> _Daemon:
        config = root / "config.yml"
        config.write_text(yaml.safe_dump(_registry_config(root / "storage", port)))
        return _Daemon(
            "docker-registry",
            [binary, "serve", str(config)],
            log_path,
            _environment(_REGISTRY_VARIABLES),
        )

    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, root, ignore_errors=True)
        started = time.monotonic()
        daemon, port = _start_on_free_port(
            start, lambda port: _http_answers("127.0.0.1", port, "/v2/")
        )
        cleanup.callback(daemon.stop)
        yield Registry(
            host=f"127.0.0.1:{port}",
            root=root,
            log_path=log_path,
            started_in=time.monotonic() - started,
        )


# ------------------------------------------------------------------------------------------------
# moto


@dataclass(frozen=True)
class MotoServer:
    """A running moto server: every AWS service moto knows, at one endpoint."""

    endpoint_url: str  # http://127.0.0.1:PORT
    log_path: Path
    started_in: float
    region: str = MOTO_REGION
    account_id: str = MOTO_ACCOUNT_ID
    env: dict[str, str] = field(default_factory=dict)  # see moto_environment

    @property
    def logs(self) -> dict[str, Path]:
        return {"moto_server": self.log_path}

    def reset(self) -> None:
        """Forget every resource created so far (POST /moto-api/reset)."""
        host, port = self.endpoint_url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("POST", "/moto-api/reset")
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise ServiceError(f"moto reset answered {response.status}", self.log_path)


def moto_environment(endpoint_url: str, region: str = MOTO_REGION) -> dict[str, str]:
    """Variables that point boto3 (and the AWS CLI, terraform's S3 backend) at a moto server."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
    }


@contextmanager
def run_moto_server() -> Iterator[MotoServer]:
    """Start `python -m moto.server` (a process of its own, so no in-process moto mock can reset
    its state) on a free loopback port; yield it once it answers; stop it."""
    root = Path(tempfile.mkdtemp(prefix="toto-moto-"))
    log_path = root / "moto_server.log"

    def start(port: int) -> _Daemon:
        return _Daemon(
            "moto_server",
            [sys.executable, "-m", "moto.server", "--host", "127.0.0.1", "--port", str(port)],
            log_path,
            _environment(()),
        )

    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, root, ignore_errors=True)
        started = time.monotonic()
        daemon, port = _start_on_free_port(
            start, lambda port: _http_answers("127.0.0.1", port, "/moto-api/data.json")
        )
        cleanup.callback(daemon.stop)
        endpoint_url = f"http://127.0.0.1:{port}"
        yield MotoServer(
            endpoint_url=endpoint_url,
            log_path=log_path,
            started_in=time.monotonic() - started,
            env=moto_environment(endpoint_url),
        )


# ------------------------------------------------------------------------------------------------
# Base image


@dataclass(frozen=True)
class BaseImage:
    """A local image to build FROM: Debian's static busybox and its applets in /bin."""

    tag: str
    image_id: str


def busybox_rootfs_tar(busybox: Path = Path("/bin/busybox")) -> bytes:
    """A root filesystem as a tar: /bin/busybox, a symlink in /bin for each of its applets
    (sh, ls, cat, echo, ...), and empty /tmp, /etc, /root."""
    applets = subprocess.run(
        [str(busybox), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, mode in (("bin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777)):
            directory = tarfile.TarInfo(name)
            directory.type = tarfile.DIRTYPE
            directory.mode = mode
            archive.addfile(directory)
        binary = tarfile.TarInfo("bin/busybox")
        binary.mode = 0o755
        content = busybox.read_bytes()
        binary.size = len(content)
        archive.addfile(binary, io.BytesIO(content))
        for applet in applets:
            if applet == "busybox":
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            archive.addfile(link)
    return buffer.getvalue()


def _is_dynamically_linked(executable: Path) -> bool:
    """Whether executable needs a dynamic loader (ldd fails on a static one)."""
    return (
        subprocess.run(["ldd", str(executable)], capture_output=True, check=False).returncode == 0
    )


def import_base_image(engine: DockerEngine, tag: str = BASE_IMAGE_TAG) -> BaseImage:
    """`docker import` busybox_rootfs_tar() into engine as tag, with PATH=/bin and /bin/sh as its
    command."""
    busybox = Path("/bin/busybox")
    # A dynamically linked busybox would find no libc in the image.
    if not busybox.is_file() or _is_dynamically_linked(busybox):
        raise ServiceError(f"no static {busybox}: install Debian's busybox-static")
    imported = subprocess.run(
        [
            _find_binary("docker", "docker.io"),
            "import",
            "--change=ENV PATH=/bin",
            '--change=CMD ["/bin/sh"]',
            "-",
            tag,
        ],
        input=busybox_rootfs_tar(busybox),
        capture_output=True,
        env={**_environment(_DOCKERD_VARIABLES), **engine.env},
        timeout=120,
        check=False,
    )
    if imported.returncode:
        raise ServiceError(
            f"docker import failed: {imported.stderr.decode(errors='replace')}", engine.log_path
        )
    return BaseImage(tag=tag, image_id=imported.stdout.decode().strip())


def sha256_digest(data: bytes) -> str:
    """The OCI digest of data: sha256:<hex>."""
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


# ------------------------------------------------------------------------------------------------
# pytest fixtures and hooks


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    """A dockerd of the test session (private socket, data and exec roots, no network)."""
    with run_docker_engine() as engine:
        yield engine


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    """A v2 registry of the test session on 127.0.0.1, plain http, deletes enabled."""
    with run_registry() as running:
        yield running


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """A moto server of the test session; point boto3 at it with its .env."""
    with run_moto_server() as server:
        yield server


@pytest.fixture(scope="session")
def base_image(docker_engine: DockerEngine) -> BaseImage:
    """toto-test/busybox:local in the session's engine, imported once."""
    return import_base_image(docker_engine)


_SERVICE_FIXTURES = ("docker_engine", "registry", "moto_server")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Append the log tails of the services a failed test used to its report."""
    report = yield
    if report.failed:
        values: Mapping[str, object] = getattr(item, "funcargs", {})
        for name in _SERVICE_FIXTURES:
            service = values.get(name)
            logs: Mapping[str, Path] = getattr(service, "logs", {})
            for title, path in logs.items():
                report.sections.append((f"{title} log ({path})", log_tail(path)))
    return report
