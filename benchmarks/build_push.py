"""`toto-actions build-push` against two BuildKit baselines, every run on a fresh runner.

The build: a Dockerfile `FROM` a small base image in the round's registry (Debian's static
busybox, imported and pushed once a round), a dependency file copied, a slow dependency step
(`RUN sleep 3 ...`), then the app layer (`COPY app.txt /app/`). Three sides, each with its own
repository of the round's registry and its own private dockerd (with one engine shared by the
sides, a layer one side rebuilt identically to another's could be mounted from the other side's
repository instead of uploaded: dockerd keeps, across a prune, which repository holds a blob):

- ours: the installed console script, `toto-actions build-push --network none --branch main`
  (BuildKit through the docker CLI, its layer cache from the branch's newest image found through
  the registry, the build skipped when the inputs digest is already tagged);
- plain: `DOCKER_BUILDKIT=1 docker build --network none -t IMAGE CONTEXT`, `docker push IMAGE`
  (a plain workflow: no cache settings);
- inline: the same with `--build-arg BUILDKIT_INLINE_CACHE=1 --cache-from REPO:latest`, tagged
  and pushed as both the run's tag and `latest` (what docker/build-push-action's
  `cache-from: type=registry,ref=REPO:latest` with an inline cache amounts to with this client).

Three scenarios a round, in order: a first build (empty repositories), a one-line change of
app.txt, no change (a new tag, as a new commit that leaves the context alone would). Before every
run the side's engine becomes a fresh runner: every image removed and the build cache pruned
(not timed), so the base is pulled from the registry each time. The dependency step's network is
`none` on every side (the engines run without a bridge). Each run is timed by the wall clock, the
side order rotates from one scenario and round to the next, and every run is checked against
the registry's API: the tag is served with every layer of its manifest; ours reports the digest
served and skipped=false, false, then true. A failed check stops the run. It prints the medians,
the ratios ours/plain and ours/inline with issue 17's goals (of the no-cache baseline, plain:
one-line change <= 0.3x, no change <= 0.1x, first build <= 1.15x), where the time goes, and how
many layers each side's one-line change shares with its first build.

Needs root and what scripts/test installs (Debian's docker.io, docker-registry, busybox-static).
Usage: .venv/bin/python -m benchmarks.build_push [--rounds N] [--sleep SECONDS]
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import platform
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
    import_base_image,
    run_docker_engine,
    run_registry,
)

CLI = Path(sys.executable).parent / "toto-actions"
DOCKER = "/usr/bin/docker"  # Debian's docker.io 20.10: BuildKit built in (DOCKER_BUILDKIT=1)
SIDES = ("ours", "plain", "inline")
REPOSITORIES = {"ours": "bench/ours", "plain": "bench/plain", "inline": "bench/inline"}
BASE_REPOSITORY = "bench/base"
SCENARIOS = ("first build", "one-line app change", "no change")
TAG_NAMES = ("first", "change", "same")
GOALS = {"first build": 1.15, "one-line app change": 0.3, "no change": 0.1}  # x plain
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


class Served(NamedTuple):
    """What the registry serves for a tag."""

    digest: str
    layers: tuple[str, ...]  # the digests of the manifest's layers


class Run(NamedTuple):
    seconds: float
    phases: dict[str, float]  # seconds of each phase, in order
    served: Served
    skipped: bool | None  # ours: the skipped output


# ------------------------------------------------------------------------------------------------
# The build context


def write_context(root: Path, registry: Registry, sleep: float) -> None:
    (root / "requirements.txt").write_text("dependency==1.0\n", encoding="utf-8")
    (root / "app.txt").write_text("print('hello')\n", encoding="utf-8")
    (root / "Dockerfile").write_text(
        f"FROM {registry.host}/{BASE_REPOSITORY}:1\n"
        "COPY requirements.txt /deps/\n"
        f"RUN sleep {sleep:g} && echo deps > /deps/installed\n"
        "COPY app.txt /app/\n",
        encoding="utf-8",
    )


def change_one_line(root: Path) -> None:
    (root / "app.txt").write_text("print('hello, world')\n", encoding="utf-8")


# ------------------------------------------------------------------------------------------------
# Engines


def environment(engine: DockerEngine) -> dict[str, str]:
    """This process's environment pointed at engine, with BuildKit on."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_VARIABLES)}
    return {**kept, **engine.env, "DOCKER_BUILDKIT": "1"}


def fresh_runner(engine: DockerEngine) -> None:
    """Remove every image and prune the build cache; check that the engine holds no image."""
    env = environment(engine)
    images = run([DOCKER, "images", "-aq"], env, "images").split()
    if images:
        run([DOCKER, "rmi", "-f", *sorted(set(images))], env, "rmi")
    run([DOCKER, "image", "prune", "-af"], env, "image prune")
    run([DOCKER, "builder", "prune", "-af"], env, "builder prune")
    left = run([DOCKER, "images", "-aq"], env, "images").split()
    if left:
        sys.exit(f"the engine still holds images after the prune: {left}")


def push_base(engine: DockerEngine, registry: Registry) -> None:
    """The session-style busybox base, imported into engine and pushed to the registry."""
    base = import_base_image(engine, f"{registry.host}/{BASE_REPOSITORY}:1")
    run([DOCKER, "push", base.tag], environment(engine), "push the base")
    served(registry, BASE_REPOSITORY, "1", "the base")


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
    return Served(headers["Docker-Content-Digest"], digests)


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
        "--network",
        "none",
        "--tags",
        tag,
        "--branch",
        "main",
    ]
    # The log's group lines ("== Build ...", "== Push ...") mark where each phase starts.
    marks = {"== Build ": "build", "== Push ": "push and confirm"}
    env = {k: v for k, v in environment(engine).items() if k != "DOCKER_BUILDKIT"}
    measured = run_in_phases(
        command, env, f"ours, {tag}", first_phase="start, digests, lookup", marks=marks
    )
    pairs = (line.rstrip("\n").partition("=") for line in measured.lines)
    outputs = {name: value for name, _, value in pairs if name in {"digest", "skipped"}}
    image = served(registry, REPOSITORIES["ours"], tag, f"ours, {tag}")
    if outputs.get("digest") != image.digest:
        sys.exit(f"ours, {tag}: reported {outputs.get('digest')}, the registry serves {image}")
    if not any(t.startswith(MARKER_PREFIX) for t in tags_of(registry, REPOSITORIES["ours"])):
        sys.exit(f"ours, {tag}: no {MARKER_PREFIX}* tag in the registry")
    return Run(measured.seconds, measured.phases, image, outputs.get("skipped") == "true")


def run_baseline(
    side: str, engine: DockerEngine, registry: Registry, context: Path, tag: str
) -> Run:
    repository = f"{registry.host}/{REPOSITORIES[side]}"
    env = environment(engine)
    build = [DOCKER, "build", "--network", "none", "-t", f"{repository}:{tag}"]
    pushed_tags = [tag]
    if side == "inline":
        build += ["--build-arg", "BUILDKIT_INLINE_CACHE=1", "--cache-from", f"{repository}:latest"]
        build += ["-t", f"{repository}:latest"]
        pushed_tags.append("latest")
    started = time.perf_counter()
    run([*build, str(context)], env, f"{side} build, {tag}")
    built = time.perf_counter()
    for pushed in pushed_tags:
        run([DOCKER, "push", f"{repository}:{pushed}"], env, f"{side} push, {tag}")
    seconds = time.perf_counter() - started
    serving = served(registry, REPOSITORIES[side], tag, f"{side}, {tag}")
    if side == "inline" and served(registry, REPOSITORIES[side], "latest", side) != serving:
        sys.exit(f"inline, {tag}: latest does not serve {serving.digest}")
    phases = {"docker build": built - started, "docker push": started + seconds - built}
    return Run(seconds, phases, serving, None)


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
    number: int, sleep: float, results: dict[tuple[str, str], list[Run]]
) -> tuple[str, str]:
    """Every scenario on every side; returns the engines' version and storage driver."""
    with round_stack() as (registry, engines), tempfile.TemporaryDirectory() as directory:
        context = Path(directory)
        write_context(context, registry, sleep)
        push_base(engines[SIDES[0]], registry)
        for index, scenario in enumerate(SCENARIOS):
            if index == 1:
                change_one_line(context)
            shift = (number + index) % len(SIDES)
            order = SIDES[shift:] + SIDES[:shift]
            tag = f"round{number + 1}-{TAG_NAMES[index]}"
            for side in order:
                fresh_runner(engines[side])
                print(f"round {number + 1}, {scenario}: {side} ...", file=sys.stderr, flush=True)
                if side == "ours":
                    measured = run_ours(engines[side], registry, context, tag)
                    if measured.skipped is not (index == 2):
                        sys.exit(f"ours, {tag}: skipped={measured.skipped} on the {scenario}")
                else:
                    measured = run_baseline(side, engines[side], registry, context, tag)
                results[scenario, side].append(measured)
                print(f"  {measured.seconds:.2f} s", file=sys.stderr, flush=True)
        engine = engines["ours"]
        server = run(
            [DOCKER, "version", "--format", "{{.Server.Version}}"], environment(engine), "version"
        )
        return server.strip(), engine.storage_driver


def report(results: dict[tuple[str, str], list[Run]]) -> None:
    median = {key: statistics.median(r.seconds for r in runs) for key, runs in results.items()}
    print(
        f"{'scenario':20} {'ours s':>7} {'plain s':>8} {'inline s':>9} {'ours/plain':>11} "
        f"{'goal':>6} {'met':>4} {'ours/inline':>12}"
    )
    for scenario in SCENARIOS:
        ours, plain, inline = (median[scenario, side] for side in SIDES)
        met = "yes" if ours / plain <= GOALS[scenario] else "no"
        print(
            f"{scenario:20} {ours:7.2f} {plain:8.2f} {inline:9.2f} {ours / plain:11.3f} "
            f"{GOALS[scenario]:6.2f} {met:>4} {ours / inline:12.3f}"
        )
    print("\nruns (s):")
    for scenario in SCENARIOS:
        each = "; ".join(
            f"{side} " + " ".join(f"{r.seconds:.2f}" for r in results[scenario, side])
            for side in SIDES
        )
        print(f"  {scenario}: {each}")
    print("\nmedian s per phase:")
    for scenario in SCENARIOS:
        for side in SIDES:
            runs = results[scenario, side]
            names = list(dict.fromkeys(name for r in runs for name in r.phases))
            split = ", ".join(
                f"{name} {statistics.median(r.phases.get(name, 0.0) for r in runs):.2f}"
                for name in names
            )
            print(f"  {side}, {scenario}: {split}")
    print()
    first, change, same = SCENARIOS
    for side in SIDES:
        pairs = zip(results[first, side], results[change, side], strict=True)
        shared = [len(set(f.served.layers) & set(c.served.layers)) for f, c in pairs]
        count = len(results[first, side][0].served.layers)
        print(f"{side}, {change}: layers shared with the first build per round {shared} of {count}")
    kept = [
        s.served.digest == c.served.digest
        for c, s in zip(results[change, "ours"], results[same, "ours"], strict=True)
    ]
    skipped = [r.skipped for r in results[same, "ours"]]
    print(f"ours, {same}: skipped={skipped}, the one-line change's image served: {kept}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sleep", type=float, default=3.0, help="the dependency step's seconds")
    arguments = parser.parse_args()
    if not CLI.is_file():
        sys.exit(f"{CLI} is missing: install the project into the venv (scripts/test does)")
    if not Path(DOCKER).is_file():
        sys.exit(f"{DOCKER} is missing: install Debian's docker.io (scripts/test does)")
    run_started = time.perf_counter()
    results: dict[tuple[str, str], list[Run]] = {
        (scenario, side): [] for scenario in SCENARIOS for side in SIDES
    }
    server, driver = "", ""
    for number in range(arguments.rounds):
        server, driver = one_round(number, arguments.sleep, results)
    client = run([DOCKER, "--version"], os.environ, "docker --version").strip()
    print(
        f"dependency step sleep {arguments.sleep:g} s; BuildKit on every side ({client}, "
        f"DOCKER_BUILDKIT=1); dockerd {server} (storage driver {driver}); "
        f"Python {platform.python_version()}; {os.cpu_count()} cores; "
        f"median of {arguments.rounds} rounds\n"
    )
    report(results)
    print(f"\nthe whole run took {time.perf_counter() - run_started:.0f} s")


if __name__ == "__main__":
    main()
