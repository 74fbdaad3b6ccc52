"""BuildKit through the docker CLI: every build goes through here (docker_client.py finds the
client).

With the buildx plugin, BuildKit pushes the image itself (`--push`, its digest read from
`--metadata-file`), as docker/build-push-action has it: several platforms and attestations make
an index that only a builder can push, and a docker-container builder would otherwise export the
image into the engine only for the engine to push it again. A client with BuildKit built in
builds into the engine, where the docker SDK (engine.py) pushes it with per-push credentials.

Nothing secret enters argv: a build secret given as a value is written to an owner-only file in a
private directory and passed as `--secret id=ID,src=FILE` (the 20.10 client knows no `env=`
source); registry credentials go to a private DOCKER_CONFIG: the runner's logins, this
registry's own over them (docker_config.py). The directory is removed when the build ends, also
on failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from toto_actions.errors import OperationError
from toto_actions.images import docker_config
from toto_actions.images.docker_client import Builder, DockerClient, current_builder

# What a build writes into its private directory: buildx its metadata, the built-in client the
# image ID.
METADATA_FILE = "metadata.json"
IMAGE_ID_FILE = "image-id"
# Lines of a failed build's output kept to find its error message.
_KEPT_LINES = 40
# buildx prints its error as `ERROR: message` (docker/buildx cmd/buildx/main.go).
_BUILDX_ERROR = "ERROR: "
# The first buildx with --provenance, and with the default provenance attestation it turns off
# (docker/buildx build/opt.go; docker/build-push-action src/context.ts asks for >=0.10.0).
PROVENANCE_FLAG_SINCE = (0, 10)

LineSink = Callable[[str], None]


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


def capability_problems(client: DockerClient, request: BuildRequest) -> list[str]:
    """One line per input this client cannot honour; empty when it can build the request."""
    if client.buildx:
        exported = [spec for spec in request.cache_to if _cache_type(spec) != "inline"]
        attested = request.provenance is not None or request.sbom is not None
        if not request.platforms and not exported and not attested:
            return []
        return builder_problems(current_builder(client), request)
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


def builder_problems(builder: Builder, request: BuildRequest) -> list[str]:
    """What the current buildx builder cannot do of request: platforms it does not list;
    with the docker driver (a runner's default builder) on the classic image store, several
    platforms at once, a cache exported other than inline, attestations. On the containerd
    image store the docker driver does all three (docker/buildx driver/docker/driver.go)."""
    problems = []
    listed = builder.platforms
    missing = [platform for platform in request.platforms if listed and platform not in listed]
    if missing:
        problems.append(
            f"--platforms: the buildx builder cannot build {', '.join(missing)} (it builds "
            f"{', '.join(sorted(listed))}): set up QEMU and a builder for them "
            "(docker/setup-qemu-action, docker/setup-buildx-action)"
        )
    if builder.driver != "docker" or builder.containerd_store:
        return problems
    fix = (
        "use a docker-container builder (docker/setup-buildx-action), or turn on the engine's "
        "containerd image store"
    )
    if len(request.platforms) > 1:
        problems.append(
            f"--platforms: the buildx builder's docker driver builds one platform at a time: {fix}"
        )
    for spec in request.cache_to:
        if _cache_type(spec) != "inline":
            problems.append(
                f"--cache-to {spec!r}: the docker driver exports no cache but inline: {fix}"
            )
    for name, value in (("provenance", request.provenance), ("sbom", request.sbom)):
        if value is not None and value.lower() not in {"false", "0"}:
            problems.append(f"--{name}: the docker driver makes no attestations: {fix}")
    return problems


def build_argv(client: DockerClient, request: BuildRequest, directory: Path) -> list[str]:
    """The command line that builds request with client: buildx pushes the image and writes its
    metadata into directory, the built-in client writes the image ID there."""
    if client.buildx:
        argv = [client.path, "buildx", "build", "--push"]
        argv += ["--metadata-file", str(directory / METADATA_FILE)]
    else:
        argv = [client.path, "build", "--iidfile", str(directory / IMAGE_ID_FILE)]
    argv += ["--progress", "plain", "--file", str(request.dockerfile), "--tag", request.tag]
    argv += _input_arguments(request)
    argv += _cache_arguments(client, request)
    if request.pull:
        argv.append("--pull")
    if request.no_cache:
        argv.append("--no-cache")
    if request.provenance is not None:
        argv.append(f"--provenance={request.provenance}")
    elif _default_provenance_off(client, request):
        argv.append("--provenance=false")
    if request.sbom is not None:
        argv.append(f"--sbom={request.sbom}")
    argv.append(str(request.context))
    return argv


def _default_provenance_off(client: DockerClient, request: BuildRequest) -> bool:
    """Whether to turn off the provenance attestation buildx adds unasked where its builder
    makes attestations (`mode=min,inline-only=true`): with it, even one platform is pushed as an
    image index, which ECR does not scan. Only when no attestation is asked, and only to a buildx
    that knows the flag."""
    version = client.buildx_version
    return (
        client.buildx
        and request.sbom is None
        and version is not None
        and version >= PROVENANCE_FLAG_SINCE
    )


def _input_arguments(request: BuildRequest) -> list[str]:
    """What shapes the image: arguments, labels, stage, network, platforms, secrets, SSH."""
    argv = []
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

    def write_docker_config(self, host: str, auth: Mapping[str, str] | None) -> tuple[str, ...]:
        """The build's Docker config (see docker_config.py): the runner's logins but host's,
        host's own login (none when auth is None); the plugins, builders and contexts of the
        runner's config stay reachable. Returns the warnings for the user."""
        config = self.docker_config
        config.mkdir(mode=0o700)
        own = _users_docker_config()
        runner, unreadable = docker_config.read_runner_config(own)
        private = docker_config.private_config(runner, host, auth)
        for shared in ("cli-plugins", "buildx", "contexts"):
            if (own / shared).is_dir():
                (config / shared).symlink_to(own / shared, target_is_directory=True)
        _write_private(config / "config.json", json.dumps(private.document).encode("utf-8"))
        return (*unreadable, *private.warnings)


@contextmanager
def build_directory() -> Iterator[BuildDirectory]:
    """A new private directory, removed with everything in it when the block ends."""
    root = Path(tempfile.mkdtemp(prefix="toto-build-"))
    try:
        yield BuildDirectory(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


class Built(NamedTuple):
    """What a build made: an image in the engine, or (buildx) an image already pushed."""

    image_id: str | None  # in the engine (sha256:...), to push
    pushed_digest: str | None  # of the manifest (or index) the builder pushed


def build(
    client: DockerClient,
    request: BuildRequest,
    directory: BuildDirectory,
    on_line: LineSink,
    engine_host: str | None = None,
) -> Built:
    """Build request with the directory's Docker config; each line of the build's output goes
    to on_line as it arrives. buildx pushes the image to request.tag; the built-in client
    builds it into the engine.

    engine_host: the engine's address (`unix:///...`); None: the client's own (DOCKER_HOST, its
    context). Raises OperationError with BuildKit's message when the build fails.
    """
    environment = {**os.environ, "DOCKER_CONFIG": str(directory.docker_config)}
    if engine_host is not None:
        environment["DOCKER_HOST"] = engine_host
    if not client.buildx:
        environment["DOCKER_BUILDKIT"] = "1"
    last: deque[str] = deque(maxlen=_KEPT_LINES)
    try:
        with subprocess.Popen(
            build_argv(client, request, directory.root),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=environment,
            text=True,
            errors="replace",
        ) as process:
            assert process.stdout is not None  # noqa: S101 - stdout=PIPE
            try:
                for raw in process.stdout:
                    line = raw.rstrip("\r\n")
                    last.append(line)
                    on_line(line)
                status = process.wait()
            except BaseException:  # a signal (a cancelled job): the build stops with the step
                _stop(process)
                raise
    except OSError as problem:
        raise OperationError(f"docker build could not start {client.path}: {problem}") from problem
    if status != 0:
        raise OperationError(f"docker build failed: {_failure(last)}")
    if client.buildx:
        return Built(None, _pushed_digest(client, directory.root / METADATA_FILE))
    iidfile = directory.root / IMAGE_ID_FILE
    image_id = iidfile.read_text(encoding="utf-8").strip() if iidfile.exists() else ""
    if not image_id:
        raise OperationError(f"docker build: {client.path} wrote no image ID")
    return Built(image_id, None)


def _stop(process: subprocess.Popen[str]) -> None:
    """Stop the docker client, which cancels its build: SIGTERM, then SIGKILL 10 s later."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _pushed_digest(client: DockerClient, metadata: Path) -> str:
    """The pushed image's digest, from buildx's metadata file (`containerimage.digest`)."""
    try:
        document = json.loads(metadata.read_text(encoding="utf-8"))
    except (OSError, ValueError) as problem:
        raise OperationError(
            f"docker buildx build: {client.path} wrote no readable metadata ({problem})"
        ) from problem
    digest = document.get("containerimage.digest") if isinstance(document, dict) else None
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise OperationError(f"docker buildx build: {client.path} reported no pushed digest")
    return digest


def _failure(output: Iterable[str]) -> str:
    """BuildKit's own message: buildx's `ERROR:` line with the lines that continue it (its
    prefix dropped), else the last line that is not part of the progress display."""
    lines = list(output)
    for start in range(len(lines) - 1, -1, -1):
        if lines[start].startswith(_BUILDX_ERROR):
            message = [lines[start].removeprefix(_BUILDX_ERROR)]
            for line in lines[start + 1 :]:
                if not line.strip():
                    break
                message.append(line)
            return " ".join(" ".join(message).split())
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


def _cache_type(spec: str) -> str | None:
    return _fields(spec).get("type")


def _fields(spec: str) -> dict[str, str]:
    """The key=value fields of a cache spec (`type=registry,ref=host/repo:cache`)."""
    pairs = (field.partition("=") for field in spec.split(","))
    return {key.strip(): value.strip() for key, equals, value in pairs if equals}
