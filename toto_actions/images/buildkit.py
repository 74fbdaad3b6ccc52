"""BuildKit through the docker CLI: every docker CLI call goes through here.

Two kinds of client build with BuildKit: one with the buildx plugin (`docker buildx build`, on
every GitHub-hosted runner) and one with BuildKit built in (`DOCKER_BUILDKIT=1 docker build`,
clients 18.09 to 20.10, such as Debian's docker.io). The client is chosen by what it can do, not
by PATH order. The built image is loaded into the engine (buildx: `--load`), where the docker SDK
(engine.py) pushes it with per-push credentials.

Nothing secret enters argv: a build secret given as a value is written to an owner-only file in a
private directory and passed as `--secret id=ID,src=FILE` (the 20.10 client knows no `env=`
source); registry credentials go to a private DOCKER_CONFIG holding only this registry's login.
The directory is removed when the build ends, also on failure.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from toto_actions.errors import OperationError

# Where a docker client is looked for besides PATH: the distributions' and Docker's own places.
WELL_KNOWN_CLIENTS = ("/usr/bin/docker", "/usr/local/bin/docker")
# BuildKit came into the client in 18.09; from 23.0 `docker build` hands BuildKit builds to buildx.
_BUILTIN_BUILDKIT_SINCE = (18, 9)
_BUILTIN_BUILDKIT_UNTIL = (23, 0)
_VERSION = re.compile(r"Docker version (\d+)\.(\d+)")
_PROBE_TIMEOUT = 30.0
# Lines of a failed build's output kept to find its error message.
_KEPT_LINES = 40

LineSink = Callable[[str], None]


class DockerClient(NamedTuple):
    """A docker CLI that can build with BuildKit."""

    path: str
    version: str  # `20.10.24+dfsg1`, as `docker --version` says
    buildx: bool  # True: `docker buildx build`; False: BuildKit built in

    def __str__(self) -> str:
        return f"{self.path} {self.version}"


class SecretFile(NamedTuple):
    """One build secret, as BuildKit reads it: its id, and the file holding its value."""

    id: str
    path: Path


class BuildRequest(NamedTuple):
    """One image to build, in the terms of docker/build-push-action's inputs."""

    context: Path
    dockerfile: Path
    tag: str
    build_args: Mapping[str, str]
    labels: Mapping[str, str]
    target: str | None = None
    network: str | None = None
    platforms: tuple[str, ...] = ()
    secret_files: tuple[SecretFile, ...] = ()
    ssh: tuple[str, ...] = ()
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    pull: bool = False
    no_cache: bool = False
    provenance: str | None = None
    sbom: str | None = None


def find_client(candidates: Sequence[str] | None = None) -> DockerClient:
    """The first candidate with buildx, else the first with BuildKit built in; OperationError,
    naming what was found and how to fix it, when none can build with BuildKit.

    candidates: paths of docker clients; None: every `docker` on PATH, then the well-known ones.
    """
    found = [_describe(path) for path in _existing(candidates or _default_candidates())]
    with_buildx = [client for client in found if client is not None and client.buildx]
    if with_buildx:
        return with_buildx[0]
    built_in = [client for client in found if client is not None and _has_builtin(client)]
    if built_in:
        return built_in[0]
    seen = ", ".join(str(c.path) + " " + c.version for c in found if c is not None)
    raise OperationError(
        f"no docker client here builds with BuildKit ({'found ' + seen if seen else 'none found'}"
        ", without buildx): install the buildx plugin (https://docs.docker.com/go/buildx/) or a "
        "client with BuildKit built in (18.09 to 20.10, e.g. Debian's docker.io)"
    )


def capability_problems(client: DockerClient, request: BuildRequest) -> list[str]:
    """One line per input this client cannot honour; empty when it can build the request."""
    if client.buildx:
        if not request.platforms:
            return []
        inspected = _probe([client.path, "buildx", "inspect"])
        return builder_problems(inspected or "", request.platforms)
    needs = f"need docker buildx; {client} has BuildKit built in only"
    problems = []
    if len(request.platforms) > 1:
        problems.append(f"--platforms: multi-platform builds {needs}")
    for spec in request.cache_from:
        if _cache_type(spec) != "registry" or "ref" not in _fields(spec):
            problems.append(f"--cache-from {spec!r}: other than type=registry,ref=... {needs}")
    for spec in request.cache_to:
        if _cache_type(spec) != "inline":
            problems.append(f"--cache-to {spec!r}: other than type=inline {needs}")
    for name, value in (("provenance", request.provenance), ("sbom", request.sbom)):
        if value is not None:
            problems.append(f"--{name}: attestations {needs}, which makes none")
    return problems


def builder_problems(inspected: str, platforms: Sequence[str]) -> list[str]:
    """What `docker buildx inspect` (of the current builder) says against building platforms:
    one line for platforms it does not list, one for several platforms, which build-push cannot
    yet take through the engine (it loads the image, then pushes it: one platform at a time)."""
    listed = {
        platform.strip().removesuffix("*")
        for line in inspected.splitlines()
        if line.strip().startswith("Platforms:")
        for platform in line.split(":", 1)[1].split(",")
        if platform.strip()
    }
    problems = []
    missing = [platform for platform in platforms if listed and platform not in listed]
    if missing:
        problems.append(
            f"--platforms: the buildx builder cannot build {', '.join(missing)} (it builds "
            f"{', '.join(sorted(listed))}): set up QEMU and a builder for them "
            "(docker/setup-qemu-action, docker/setup-buildx-action)"
        )
    if len(platforms) > 1:
        problems.append(
            "--platforms: several platforms at once are not supported yet (build-push loads the "
            "image into the engine, one platform at a time): build one platform per step"
        )
    return problems


def build_argv(client: DockerClient, request: BuildRequest, iidfile: Path) -> list[str]:
    """The command line that builds request with client and writes the image ID to iidfile."""
    argv = [client.path, *(["buildx", "build", "--load"] if client.buildx else ["build"])]
    argv += ["--progress", "plain", "--iidfile", str(iidfile)]
    argv += ["--file", str(request.dockerfile), "--tag", request.tag]
    for name, value in request.build_args.items():
        argv += ["--build-arg", f"{name}={value}"]
    for name, value in request.labels.items():
        argv += ["--label", f"{name}={value}"]
    if request.target:
        argv += ["--target", request.target]
    if request.network:
        argv += ["--network", request.network]
    if request.platforms:
        argv += ["--platform", ",".join(request.platforms)]
    for secret in request.secret_files:
        argv += ["--secret", f"id={secret.id},src={secret.path}"]
    for ssh in request.ssh:
        argv += ["--ssh", ssh]
    argv += _cache_arguments(client, request)
    if request.pull:
        argv.append("--pull")
    if request.no_cache:
        argv.append("--no-cache")
    if request.provenance is not None:
        argv.append(f"--provenance={request.provenance}")
    if request.sbom is not None:
        argv.append(f"--sbom={request.sbom}")
    argv.append(str(request.context))
    return argv


def _cache_arguments(client: DockerClient, request: BuildRequest) -> list[str]:
    if client.buildx:
        return [
            *(a for spec in request.cache_from for a in ("--cache-from", spec)),
            *(a for spec in request.cache_to for a in ("--cache-to", spec)),
        ]
    # Built in: --cache-from takes an image reference; inline cache is a build argument.
    arguments = [a for spec in request.cache_from for a in ("--cache-from", _fields(spec)["ref"])]
    if request.cache_to:
        arguments += ["--build-arg", "BUILDKIT_INLINE_CACHE=1"]
    return arguments


class BuildDirectory(NamedTuple):
    """A private directory (mode 0700) for one build: its Docker config, its secrets."""

    root: Path

    @property
    def docker_config(self) -> Path:
        return self.root / "docker-config"

    def write_secrets(self, values: Mapping[str, str]) -> tuple[SecretFile, ...]:
        """Each value in an owner-only file of its own, for `--secret id=ID,src=FILE`."""
        directory = self.root / "secrets"
        directory.mkdir(mode=0o700, exist_ok=True)
        files = []
        for number, (secret_id, value) in enumerate(values.items()):
            path = directory / f"secret-{number}"
            _write_private(path, value.encode("utf-8"))
            files.append(SecretFile(secret_id, path))
        return tuple(files)

    def write_docker_config(self, host: str, auth: Mapping[str, str] | None) -> Path:
        """A Docker config holding only host's login (none when auth is None), for BuildKit's
        pulls and cache; the plugins and builders of the user's own config stay reachable."""
        config = self.docker_config
        config.mkdir(mode=0o700)
        document: dict[str, object] = {"auths": {}}
        if auth is not None:
            token = f"{auth['username']}:{auth['password']}".encode()
            document["auths"] = {host: {"auth": base64.b64encode(token).decode("ascii")}}
        own = _users_docker_config()
        for shared in ("cli-plugins", "buildx", "contexts"):
            if (own / shared).is_dir():
                (config / shared).symlink_to(own / shared, target_is_directory=True)
        context = _current_context(own)
        if context:
            document["currentContext"] = context
        _write_private(config / "config.json", json.dumps(document).encode("utf-8"))
        return config


@contextmanager
def build_directory() -> Iterator[BuildDirectory]:
    """A new private directory, removed with everything in it when the block ends."""
    root = Path(tempfile.mkdtemp(prefix="toto-build-"))
    try:
        yield BuildDirectory(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def build(
    client: DockerClient,
    request: BuildRequest,
    directory: BuildDirectory,
    on_line: LineSink,
    engine_host: str | None = None,
) -> str:
    """Build request into the engine with the directory's Docker config; each line of the
    build's output goes to on_line as it arrives. Returns the image ID (sha256:...).

    engine_host: the engine's address (`unix:///...`); None: the client's own (DOCKER_HOST, its
    context). Raises OperationError with BuildKit's message when the build fails.
    """
    iidfile = directory.root / "image-id"
    environment = {**os.environ, "DOCKER_CONFIG": str(directory.docker_config)}
    if engine_host is not None:
        environment["DOCKER_HOST"] = engine_host
    if not client.buildx:
        environment["DOCKER_BUILDKIT"] = "1"
    last: deque[str] = deque(maxlen=_KEPT_LINES)
    try:
        with subprocess.Popen(
            build_argv(client, request, iidfile),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=environment,
            text=True,
            errors="replace",
        ) as process:
            assert process.stdout is not None  # noqa: S101 - stdout=PIPE
            for raw in process.stdout:
                line = raw.rstrip("\r\n")
                last.append(line)
                on_line(line)
            status = process.wait()
    except OSError as problem:
        raise OperationError(f"docker build could not start {client.path}: {problem}") from problem
    if status != 0:
        raise OperationError(f"docker build failed: {_failure(last)}")
    image_id = iidfile.read_text(encoding="utf-8").strip() if iidfile.exists() else ""
    if not image_id:
        raise OperationError(f"docker build: {client.path} wrote no image ID")
    return image_id


def _failure(lines: Sequence[str]) -> str:
    """BuildKit's own message: the last line that is not part of the progress display."""
    for line in reversed(lines):
        text = line.strip()
        if text and not text.startswith(("#", "------", ">", "--------------------")):
            return " ".join(text.removeprefix("error: ").split())
    return "no message"


def _write_private(path: Path, content: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)


def _users_docker_config() -> Path:
    configured = os.environ.get("DOCKER_CONFIG")
    return Path(configured) if configured else Path.home() / ".docker"


def _current_context(config: Path) -> str | None:
    """The docker context the user's config selects; nothing else is read from it."""
    try:
        document = json.loads((config / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    context = document.get("currentContext") if isinstance(document, dict) else None
    return context if isinstance(context, str) and context else None


def _default_candidates() -> list[str]:
    on_path = [
        str(Path(directory) / "docker")
        for directory in os.environ.get("PATH", "").split(os.pathsep)
        if directory
    ]
    return [*on_path, *WELL_KNOWN_CLIENTS]


def _existing(candidates: Sequence[str]) -> list[str]:
    """The candidates that are executable files, each real file once, in order."""
    seen: set[str] = set()
    existing = []
    for candidate in candidates:
        real = os.path.realpath(candidate)
        if real in seen or not os.access(candidate, os.X_OK) or not Path(candidate).is_file():
            continue
        seen.add(real)
        existing.append(candidate)
    return existing


def _describe(path: str) -> DockerClient | None:
    """The client at path with its version and whether it has buildx; None when it does not
    run as a docker client."""
    answer = _probe([path, "--version"])
    if answer is None:
        return None
    match = _VERSION.search(answer)
    version = answer.split("version", 1)[-1].split(",")[0].strip() if match else answer.strip()
    return DockerClient(path, version, _probe([path, "buildx", "version"]) is not None)


def _has_builtin(client: DockerClient) -> bool:
    match = _VERSION.search(f"Docker version {client.version}")
    if match is None:
        return False
    version = (int(match.group(1)), int(match.group(2)))
    if not _BUILTIN_BUILDKIT_SINCE <= version < _BUILTIN_BUILDKIT_UNTIL:
        return False
    help_text = _probe([client.path, "build", "--help"], {"DOCKER_BUILDKIT": "1"})
    return help_text is not None and "--secret" in help_text


def _probe(argv: Sequence[str], extra: Mapping[str, str] | None = None) -> str | None:
    """The output of a quick query of a client; None when it fails."""
    try:
        completed = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            check=False,
            timeout=_PROBE_TIMEOUT,
            env={**os.environ, **(extra or {})},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout if completed.returncode == 0 else None


def _cache_type(spec: str) -> str | None:
    return _fields(spec).get("type")


def _fields(spec: str) -> dict[str, str]:
    """The key=value fields of a cache spec (`type=registry,ref=host/repo:cache`)."""
    pairs = (field.partition("=") for field in spec.split(","))
    return {key.strip(): value.strip() for key, equals, value in pairs if equals}
