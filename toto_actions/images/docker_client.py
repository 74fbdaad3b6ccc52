"""Which docker CLI can build with BuildKit, and what its buildx builder can do.

Two kinds of client build with BuildKit: one with the buildx plugin (`docker buildx build`, on
every GitHub-hosted runner) and one with BuildKit built in (`DOCKER_BUILDKIT=1 docker build`,
clients 18.09 to 20.10, such as Debian's docker.io). The client is chosen by what it can do, not
by PATH order: a newer client without buildx (23.0 and later hand every BuildKit build to buildx)
cannot build with BuildKit at all.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from toto_actions.errors import OperationError

# Where a docker client is looked for besides PATH: the distributions' and Docker's own places.
WELL_KNOWN_CLIENTS = ("/usr/bin/docker", "/usr/local/bin/docker")
# BuildKit came into the client in 18.09; from 23.0 `docker build` hands BuildKit builds to buildx.
_BUILTIN_BUILDKIT_SINCE = (18, 9)
_BUILTIN_BUILDKIT_UNTIL = (23, 0)
_VERSION = re.compile(r"Docker version (\d+)\.(\d+)")
# `docker buildx version`: `github.com/docker/buildx v0.19.3 48d6a39`, a distribution's without
# the `v` (`0.12.1+azure-1`); read as docker/bake-action src/buildx.ts parseVersion reads it.
_BUILDX_VERSION = re.compile(r"\sv?(\d+)\.(\d+)")
# The worker label by which buildx knows the docker driver's engine keeps its images in the
# containerd image store (docker/buildx driver/docker/driver.go, Features): there the driver
# builds several platforms, exports cache and makes attestations. `docker buildx inspect` lists
# the worker's labels under `Labels:` (buildx 0.11 and later).
CONTAINERD_SNAPSHOTTER_LABEL = "org.mobyproject.buildkit.worker.snapshotter"
_PROBE_TIMEOUT = 30.0


class DockerClient(NamedTuple):
    """A docker CLI that can build with BuildKit."""

    path: str
    version: str  # `20.10.24+dfsg1`, as `docker --version` says
    buildx: bool  # True: `docker buildx build`; False: BuildKit built in
    buildx_version: tuple[int, int] | None = None  # (0, 19); None: unknown or no buildx

    def __str__(self) -> str:
        return f"{self.path} {self.version}"


class Builder(NamedTuple):
    """The current buildx builder, as `docker buildx inspect` describes it."""

    driver: str | None  # docker, docker-container, kubernetes, remote; None when not said
    platforms: frozenset[str]  # empty when not said
    containerd_store: bool = False  # the worker is labelled with the containerd snapshotter


def find_client(candidates: Sequence[str] | None = None) -> DockerClient:
    """The first candidate with buildx, else the first with BuildKit built in; OperationError,
    naming what was found and how to fix it, when none can build with BuildKit.

    candidates: paths of docker clients; None: every `docker` on PATH, then the well-known ones.
    The clients are asked all at once (this runs before every build-push, also one that builds
    nothing).
    """
    paths = _existing(candidates or _default_candidates())
    answers = probe_all(
        [argv for path in paths for argv in ([path, "--version"], [path, "buildx", "version"])]
    )
    found = [
        _client(path, version, buildx)
        for path, version, buildx in zip(paths, answers[::2], answers[1::2], strict=True)
        if version is not None
    ]
    with_buildx = [client for client in found if client.buildx]
    if with_buildx:
        return with_buildx[0]
    built_in = _with_builtin_buildkit(found)
    if built_in:
        return built_in[0]
    seen = ", ".join(str(client) for client in found)
    raise OperationError(
        f"no docker client here builds with BuildKit ({'found ' + seen if seen else 'none found'}"
        ", without buildx): install the buildx plugin (https://docs.docker.com/go/buildx/) or a "
        "client with BuildKit built in (18.09 to 20.10, e.g. Debian's docker.io)"
    )


def current_builder(client: DockerClient) -> Builder:
    """What the client's current buildx builder says of itself (nothing, when it does not
    answer: the build then tells)."""
    return parse_builder(probe([client.path, "buildx", "inspect"]) or "")


def parse_builder(inspected: str) -> Builder:
    """The driver and the platforms (of every node) in `docker buildx inspect`'s output."""
    driver = None
    platforms: set[str] = set()
    store = False
    for line in inspected.splitlines():
        name, colon, value = line.strip().partition(":")
        if not colon:
            continue
        if name == "Driver" and driver is None:
            driver = value.strip() or None
        elif name == "Platforms":
            platforms |= {p.strip().removesuffix("*") for p in value.split(",") if p.strip()}
        elif name == CONTAINERD_SNAPSHOTTER_LABEL:
            store = True
    return Builder(driver, frozenset(platforms), store)


def probe(argv: Sequence[str], extra: Mapping[str, str] | None = None) -> str | None:
    """The output of a quick query of a client; None when it fails."""
    return probe_all([argv], extra)[0]


def probe_all(
    argvs: Sequence[Sequence[str]], extra: Mapping[str, str] | None = None
) -> list[str | None]:
    """The outputs of quick queries run side by side; None for each that fails."""
    environment = {**os.environ, **(extra or {})}
    started: list[subprocess.Popen[str] | None] = []
    for argv in argvs:
        try:
            started.append(
                subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                    env=environment,
                )
            )
        except OSError:
            started.append(None)
    return [_answer(process) for process in started]


def _answer(process: subprocess.Popen[str] | None) -> str | None:
    if process is None:
        return None
    try:
        output, _ = process.communicate(timeout=_PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    return output if process.returncode == 0 else None


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


def _client(path: str, answer: str, buildx: str | None) -> DockerClient:
    """The client at path, from its answers to `--version` and `buildx version` (None: no
    buildx)."""
    match = _VERSION.search(answer)
    version = (
        answer.split("version", 1)[-1].split(",", maxsplit=1)[0].strip()
        if match
        else answer.strip()
    )
    found = _BUILDX_VERSION.search(buildx or "")
    buildx_version = (int(found.group(1)), int(found.group(2))) if found else None
    return DockerClient(path, version, buildx is not None, buildx_version)


def _with_builtin_buildkit(clients: Sequence[DockerClient]) -> list[DockerClient]:
    """The clients of a version with BuildKit built in whose `build` takes `--secret` with
    DOCKER_BUILDKIT=1 (a distribution may build one without), in order."""
    in_range = [client for client in clients if _builtin_version(client)]
    helps = probe_all([[c.path, "build", "--help"] for c in in_range], {"DOCKER_BUILDKIT": "1"})
    return [c for c, text in zip(in_range, helps, strict=True) if text and "--secret" in text]


def _builtin_version(client: DockerClient) -> bool:
    match = _VERSION.search(f"Docker version {client.version}")
    if match is None:
        return False
    version = (int(match.group(1)), int(match.group(2)))
    return _BUILTIN_BUILDKIT_SINCE <= version < _BUILTIN_BUILDKIT_UNTIL
