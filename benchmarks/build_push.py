"""`toto-actions build-push` against the naive `docker build` + `docker push`, on a fresh runner.

The build context is a few tens of MB of random (incompressible) files in a few directories and a
Dockerfile `FROM scratch` with one COPY per directory (nothing to pull, and `docker system prune
-af` cannot remove a base image the build needs). Both sides use the engine's classic builder:
the docker SDK has no BuildKit, and the docker CLI runs with DOCKER_BUILDKIT=0.

Each round starts a new registry (testing/local_stack/, so every repository starts empty) and a
new private dockerd for each side. With one engine shared by the sides, a layer that one side
rebuilt identically to the other's could be mounted from the other side's repository instead of
uploaded: dockerd keeps, across a prune, which registry repository holds the blob of a layer.
Two scenarios per side, in order:

1. first run: empty engine cache, empty repository;
2. unchanged re-run after `docker system prune -af` (a fresh runner: empty engine cache), the
   registry kept. The re-run asks for a new tag, as a new commit that leaves the context alone
   would, so the check below proves the re-run wrote it.

Ours is the installed console script; the baseline is `docker build -t IMAGE CONTEXT` then
`docker push IMAGE` with the docker CLI, to another repository of the same registry. Each run is
timed by the wall clock (the prune before it is not), the sides alternate from one round and
scenario to the next, and every run is checked against the registry's API: the tag is served,
every layer of its manifest is there, and ours reports skipped=false then skipped=true with the
digest of its first run. A failed check stops the run. Besides the medians and ratios it prints
where the time goes (ours: from the group lines of its log; the baseline: build, then push),
what `docker push` said of each layer, and how many layers the baseline's re-run shares with its
first run.

Needs root and what scripts/test installs (Debian's docker.io, docker-registry) and the docker
CLI. Usage: .venv/bin/python -m benchmarks.build_push [--rounds N] [--megabytes N]
[--directories N]
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple

from benchmarks import processes
from testing.local_stack import (
    DockerEngine,
    Registry,
    run_docker_engine,
    run_registry,
)

CLI = Path(sys.executable).parent / "toto-actions"
SIDES = ("ours", "baseline")
REPOSITORIES = {"ours": "bench/ours", "baseline": "bench/baseline"}
SCENARIOS = ("first run", "re-run after prune")
MARKER_PREFIX = "toto-inputs-"
MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)
# Variables of this process's environment that would change what the CLIs do.
DROPPED_VARIABLES = ("DOCKER_", "GITHUB_", "INPUT_", "RUNNER_")
RUN_TIMEOUT = 900.0
run = functools.partial(processes.run, timeout=RUN_TIMEOUT)
run_in_phases = functools.partial(processes.run_in_phases, timeout=RUN_TIMEOUT)
FILE_BYTES = 2 * 1024 * 1024


class Served(NamedTuple):
    """What the registry serves for a tag."""

    digest: str
    layers: tuple[str, ...]  # the digests of the manifest's layers
    megabytes: float  # their size as stored (compressed)


class Run(NamedTuple):
    seconds: float
    phases: dict[str, float]  # seconds of each phase, in order
    served: Served
    pushes: dict[str, int]  # baseline: layers "Pushed", "Layer already exists", "Mounted"
    skipped: bool | None  # ours: the skipped output


# ------------------------------------------------------------------------------------------------
# The build context


def make_context(root: Path, megabytes: int, directories: int) -> int:
    """Random files, FILE_BYTES each, spread over `directories` directories, and a Dockerfile
    that copies each directory as a layer of its own. Returns the bytes written."""
    files = max(directories, megabytes * 1024 * 1024 // FILE_BYTES)
    names = [f"part{i + 1}" for i in range(directories)]
    for name in names:
        (root / name).mkdir()
    for index in range(files):
        path = root / names[index % directories] / f"blob{index:03d}.bin"
        path.write_bytes(os.urandom(FILE_BYTES))
    copies = "".join(f"COPY {name} /app/{name}\n" for name in names)
    (root / "Dockerfile").write_text(f"FROM scratch\n{copies}", encoding="utf-8")
    return files * FILE_BYTES


# ------------------------------------------------------------------------------------------------
# Processes


def environment(engine: DockerEngine) -> dict[str, str]:
    """This process's environment pointed at engine, with the classic builder."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_VARIABLES)}
    return {**kept, **engine.env, "DOCKER_BUILDKIT": "0"}


def docker_cli() -> str:
    for candidate in ("/usr/local/bin/docker", "/usr/bin/docker"):
        if Path(candidate).is_file():
            return candidate
    found = shutil.which("docker")
    if found is None:
        sys.exit("no docker CLI: install Debian's docker.io (scripts/test does)")
    return found


def prune(docker: str, engine: DockerEngine) -> None:
    """`docker system prune -af`, then check that the engine holds no image."""
    env = environment(engine)
    run([docker, "system", "prune", "-af"], env, "prune")
    left = run([docker, "images", "-aq"], env, "images").split()
    if left:
        sys.exit(f"the engine still holds images after the prune: {left}")


# ------------------------------------------------------------------------------------------------
# The registry's API


def request(
    registry: Registry, method: str, path: str, accept: str = MANIFEST_ACCEPT
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(registry.host, timeout=30)
    try:
        connection.request(method, path, headers={"Accept": accept})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def served(registry: Registry, repository: str, tag: str, label: str) -> Served:
    """What the registry serves for repository:tag, once every layer its manifest names has been
    found in the repository; exits when something is missing."""
    status, headers, body = request(registry, "GET", f"/v2/{repository}/manifests/{tag}")
    if status != 200:
        sys.exit(f"{label}: the registry answers {status} for {repository}:{tag}")
    layers: list[dict[str, object]] = json.loads(body)["layers"]
    digests = tuple(str(layer["digest"]) for layer in layers)
    for digest in digests:
        blob_status, _, _ = request(registry, "HEAD", f"/v2/{repository}/blobs/{digest}")
        if blob_status != 200:
            sys.exit(f"{label}: layer {digest} of {repository}:{tag}: {blob_status}")
    size = sum(int(str(layer["size"])) for layer in layers)
    return Served(headers["Docker-Content-Digest"], digests, size / 1e6)


def tags_of(registry: Registry, repository: str) -> list[str]:
    status, _, body = request(registry, "GET", f"/v2/{repository}/tags/list", "application/json")
    if status != 200:
        return []
    tags: list[str] = json.loads(body)["tags"] or []
    return tags


# ------------------------------------------------------------------------------------------------
# The sides


def run_ours(engine: DockerEngine, registry: Registry, context: Path, tag: str) -> Run:
    command = [
        str(CLI),
        "build-push",
        "--repository",
        REPOSITORIES["ours"],
        "--registry",
        registry.host,
        "--context",
        str(context),
        "--tags",
        tag,
    ]
    # The log's group lines ("== Build ...", "== Push ...") mark where each phase starts.
    marks = {"== Build ": "build", "== Push ": "push and confirm"}
    measured = run_in_phases(
        command,
        environment(engine),
        f"ours, {tag}",
        first_phase="start, inputs digest, lookup",
        marks=marks,
    )
    lines = measured.lines
    pairs = (line.rstrip("\n").partition("=") for line in lines)
    outputs = {name: value for name, _, value in pairs if name in {"digest", "skipped"}}
    image = served(registry, REPOSITORIES["ours"], tag, f"ours, {tag}")
    if outputs.get("digest") != image.digest:
        sys.exit(f"ours, {tag}: reported {outputs.get('digest')}, the registry serves {image}")
    if not any(t.startswith(MARKER_PREFIX) for t in tags_of(registry, REPOSITORIES["ours"])):
        sys.exit(f"ours, {tag}: no {MARKER_PREFIX}* tag in the registry")
    return Run(measured.seconds, measured.phases, image, {}, outputs.get("skipped") == "true")


PUSH_LINE = re.compile(r"^[0-9a-f]{12}: (Pushed|Layer already exists|Mounted from .*)$")


def run_baseline(
    docker: str, engine: DockerEngine, registry: Registry, context: Path, tag: str
) -> Run:
    image = f"{registry.host}/{REPOSITORIES['baseline']}:{tag}"
    env = environment(engine)
    started = time.perf_counter()
    run([docker, "build", "-t", image, str(context)], env, f"baseline build, {tag}")
    built = time.perf_counter()
    pushed = run([docker, "push", image], env, f"baseline push, {tag}")
    seconds = time.perf_counter() - started
    pushes: dict[str, int] = {}
    for line in pushed.splitlines():
        match = PUSH_LINE.match(line.strip())
        if match:
            outcome = match.group(1).split(" from ")[0]  # "Mounted from bench/x": "Mounted"
            pushes[outcome] = pushes.get(outcome, 0) + 1
    serving = served(registry, REPOSITORIES["baseline"], tag, f"baseline, {tag}")
    phases = {"docker build": built - started, "docker push": started + seconds - built}
    return Run(seconds, phases, serving, pushes, None)


# ------------------------------------------------------------------------------------------------
# The rounds


@contextmanager
def round_stack() -> Iterator[tuple[Registry, dict[str, DockerEngine]]]:
    """A new registry, and a new engine for each side."""
    with ExitStack() as stack:
        registry = stack.enter_context(run_registry())
        engines = {side: stack.enter_context(run_docker_engine()) for side in SIDES}
        yield registry, engines


def one_round(
    number: int, docker: str, context: Path, results: dict[tuple[str, str], list[Run]]
) -> str:
    """Both scenarios on both sides; returns the engines' version and storage driver."""
    with round_stack() as (registry, engines):
        for index, scenario in enumerate(SCENARIOS):
            order = SIDES if (number + index) % 2 == 0 else SIDES[::-1]
            tag = f"round{number + 1}-{('first', 'rerun')[index]}"
            for side in order:
                prune(docker, engines[side])
                print(f"round {number + 1}, {scenario}: {side} ...", file=sys.stderr, flush=True)
                if side == "ours":
                    measured = run_ours(engines[side], registry, context, tag)
                    check_ours(measured, results[SCENARIOS[0], side], index, tag)
                else:
                    measured = run_baseline(docker, engines[side], registry, context, tag)
                results[scenario, side].append(measured)
                print(f"  {measured.seconds:.2f} s", file=sys.stderr, flush=True)
        engine = engines["ours"]
        server = run(
            [docker, "version", "--format", "{{.Server.Version}}"], environment(engine), "version"
        )
        return f"dockerd {server.strip()} (storage driver {engine.storage_driver})"


def check_ours(measured: Run, first_runs: list[Run], index: int, tag: str) -> None:
    """skipped=false on the first run; skipped=true and the first run's image on the re-run."""
    if measured.skipped is not (index == 1):
        sys.exit(f"ours, {tag}: skipped={measured.skipped} on the {SCENARIOS[index]}")
    if index == 1 and measured.served.digest != first_runs[-1].served.digest:
        sys.exit(f"ours, {tag}: the re-run serves {measured.served}, not the first run's image")


def report(results: dict[tuple[str, str], list[Run]]) -> None:
    median = {key: statistics.median(r.seconds for r in runs) for key, runs in results.items()}
    print(f"{'scenario':20} {'ours s':>8} {'baseline s':>11} {'ours/baseline':>14}  runs (s)")
    for scenario in SCENARIOS:
        ours, baseline = median[scenario, "ours"], median[scenario, "baseline"]
        each = "; ".join(
            f"{side} " + " ".join(f"{r.seconds:.1f}" for r in results[scenario, side])
            for side in SIDES
        )
        print(f"{scenario:20} {ours:8.2f} {baseline:11.2f} {ours / baseline:14.3f}  {each}")
    first, rerun = SCENARIOS
    for side in SIDES:
        ratio = median[rerun, side] / median[first, side]
        print(f"re-run/first, {side}: {ratio:.3f}")
    for (scenario, side), runs in results.items():
        if len(runs[0].phases) > 1:
            split = ", ".join(
                f"{name} {statistics.median(r.phases.get(name, 0.0) for r in runs):.2f}"
                for name in runs[0].phases
            )
            print(f"{side}, {scenario}, median s: {split}")
    first_runs, reruns = results[first, "baseline"], results[rerun, "baseline"]
    for scenario, runs in ((first, first_runs), (rerun, reruns)):
        pushes = " | ".join(
            ", ".join(f"{n} {k}" for k, n in sorted(r.pushes.items())) for r in runs
        )
        print(f"baseline, {scenario}: docker push layers per round: {pushes}")
    pairs = list(zip(first_runs, reruns, strict=True))
    shared = [len(set(r.served.layers) & set(f.served.layers)) for f, r in pairs]
    changed = sum(r.served.digest != f.served.digest for f, r in pairs)
    print(
        f"baseline, {rerun}: layers shared with its first run per round {shared} (of "
        f"{len(first_runs[0].served.layers)}); new manifest digest in {changed} of "
        f"{len(reruns)} rounds"
    )
    stored = statistics.median(r.served.megabytes for r in first_runs + results[first, "ours"])
    print(f"layers stored per image: {stored:.1f} MB (compressed)")
    skipped = [r.skipped for r in results[rerun, "ours"]]
    print(f"ours, {rerun}: skipped={skipped}, the first run's digest served each time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--megabytes", type=int, default=32, help="size of the context (MiB)")
    parser.add_argument("--directories", type=int, default=4, help="one layer each")
    arguments = parser.parse_args()
    if not CLI.is_file():
        sys.exit(f"{CLI} is missing: install the project into the venv (scripts/test does)")
    docker = docker_cli()
    run_started = time.perf_counter()
    results: dict[tuple[str, str], list[Run]] = {
        (scenario, side): [] for scenario in SCENARIOS for side in SIDES
    }
    with tempfile.TemporaryDirectory(prefix="toto-bench-context-") as directory:
        context = Path(directory)
        size = make_context(context, arguments.megabytes, arguments.directories)
        engine = ""
        for number in range(arguments.rounds):
            engine = one_round(number, docker, context, results)
    versions = run([docker, "--version"], os.environ, "docker --version")
    print(
        f"context {size / 2**20:.0f} MiB of random bytes in {arguments.directories} directories "
        f"(one COPY layer each, FROM scratch); classic builder on both sides (DOCKER_BUILDKIT=0); "
        f"{engine}; CLI {versions.strip()}; "
        f"Python {platform.python_version()}; median of {arguments.rounds} rounds\n"
    )
    report(results)
    print(f"\nthe whole run took {time.perf_counter() - run_started:.0f} s")


if __name__ == "__main__":
    main()
