"""`toto-actions sync-secrets` against a naive PyGithub loop, each on its own stand-in GitHub.

The baseline is what a first script would do: for each repository, create the GitHub environment
if it is missing, then `create_secret` for every secret, one after another, with PyGithub's
default pacing (which fetches the environment's public key again for every secret). Ours is the
installed console script in a subprocess, given the same write pacing (`--write-interval`).

Three scenarios, in order, on each side: a first sync into empty repositories, a sync where
nothing changed, and a sync where one output (mapped to one secret of every repository) changed.
The sides alternate within the run, so load on this shared machine hits both alike. Every
scenario ends with a check of the plaintext the server holds; a wrong value stops the run.

Usage: .venv/bin/python -m benchmarks.sync_secrets [--write-interval S] [--latency S]
           [--repositories N] [--secrets N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any, NamedTuple

from github import Auth, Consts, Github

from testing.github.server import GitHubServer, LoggedRequest
from toto_actions.github.sync_permissions import token_permissions

CLI = Path(sys.executable).parent / "toto-actions"
TOKEN = "ghs_benchmark-token-0123456789"  # noqa: S105 - known only to the stand-in
FINGERPRINT_KEY = "fingerprint-key-of-the-benchmark"
OWNER = "acme"
ENVIRONMENT = "dev"
ENVIRONMENT_ROUTE = "/repos/{owner}/{repo}/environments/{environment_name}"
SECRET_PUT_ROUTE = f"{ENVIRONMENT_ROUTE}/secrets/{{secret_name}}"  # as the server logs it
RUNNER_VARIABLES = ("GITHUB_", "INPUT_", "RUNNER_")
SCENARIOS = ("first sync", "no-op sync", "one output changed")


class Workload(NamedTuple):
    repositories: tuple[str, ...]
    outputs: dict[str, str]  # terraform output name -> value
    secrets: dict[str, str]  # secret name -> terraform output name

    def expected(self) -> dict[str, str]:
        """The plaintext every repository's environment must hold."""
        return {name: self.outputs[output] for name, output in sorted(self.secrets.items())}


class Measure(NamedTuple):
    requests: int
    writes: int
    secret_puts: int
    other_writes: dict[str, int]  # "METHOD route" -> count
    seconds: float


# Both sides are a function that syncs the workload into one server.
Side = Callable[[Workload], None]


def make_workload(repositories: int, secrets: int) -> Workload:
    numbers = range(1, secrets + 1)
    return Workload(
        repositories=tuple(f"{OWNER}/toto-ms-{i:02d}" for i in range(1, repositories + 1)),
        outputs={f"core_output_{i:02d}": f"value-{i:02d}-v1" for i in numbers},
        secrets={f"CORE_SECRET_{i:02d}": f"core_output_{i:02d}" for i in numbers},
    )


def changed(workload: Workload) -> Workload:
    """The workload with its first output's value changed."""
    first = next(iter(workload.outputs))
    return workload._replace(outputs={**workload.outputs, first: f"{first}-v2"})


def scenario_workloads(first: Workload) -> dict[str, Workload]:
    """What each scenario syncs: the first workload twice, then with one output changed."""
    return dict(zip(SCENARIOS, (first, first, changed(first)), strict=True))


def scenario_runs(sides: tuple[str, str]) -> Iterator[tuple[str, str]]:
    """(scenario, side) in the order they run, each announced on stderr: the sides alternate
    from one scenario to the next, so load on this shared machine hits both alike."""
    for index, scenario in enumerate(SCENARIOS):
        for side in sides if index % 2 == 0 else sides[::-1]:
            print(f"{scenario}: {side} ...", file=sys.stderr, flush=True)
            yield scenario, side


def add_workload_options(
    parser: argparse.ArgumentParser, *, repositories: int, secrets: str
) -> None:
    """The options both sync benchmarks take besides --write-interval: the stand-in's latency
    and the workload's size (`secrets`: what --secrets counts, for its help)."""
    parser.add_argument("--latency", type=float, default=0.03, help="seconds per request")
    parser.add_argument("--repositories", type=int, default=repositories)
    parser.add_argument("--secrets", type=int, default=10, help=secrets)


def baseline_side(server: GitHubServer, write_interval: float) -> Side:
    # seconds_between_requests stays PyGithub's default (Consts.DEFAULT_SECONDS_BETWEEN_REQUESTS)
    github = Github(
        base_url=server.url, auth=Auth.Token(TOKEN), seconds_between_writes=write_interval
    )

    def sync(workload: Workload) -> None:
        for full_name in workload.repositories:
            repository = github.get_repo(full_name)
            if ENVIRONMENT not in {e.name for e in repository.get_environments()}:
                repository.create_environment(ENVIRONMENT)
            environment = repository.get_environment(ENVIRONMENT)
            for name, output in workload.secrets.items():
                environment.create_secret(name, workload.outputs[output])

    return sync


def ours_side(server: GitHubServer, write_interval: float, directory: Path) -> Side:
    # The first sync creates the environments, as the baseline's loop does.
    options = ("--create-environments",)
    return cli_side(server, write_interval, directory, "environment", options)


def cli_side(
    server: GitHubServer,
    write_interval: float,
    directory: Path,
    scope: str,
    options: Sequence[str] = (),
    *,
    sensitive: bool = True,
) -> Side:
    """The installed console script syncing the workload at this scope, in a subprocess."""
    config, outputs = directory / "toto-secrets.yml", directory / "outputs.json"
    # Without the variables of a GitHub Actions runner, which would change what the CLI does.
    environment = {k: v for k, v in os.environ.items() if not k.startswith(RUNNER_VARIABLES)}
    environment |= {"GITHUB_TOKEN": TOKEN}
    command = [
        str(CLI),
        "sync-secrets",
        f"--config={config}",
        f"--environment={ENVIRONMENT}",
        f"--outputs={outputs}",
        f"--github-api-url={server.url}",
        f"--fingerprint-key={FINGERPRINT_KEY}",
        f"--write-interval={write_interval:g}",
        *options,
    ]

    def sync(workload: Workload) -> None:
        config.write_text(config_text(workload, scope), encoding="utf-8")
        outputs.write_text(outputs_json(workload, sensitive=sensitive), encoding="utf-8")
        done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"sync-secrets exited {done.returncode}:\n{done.stdout}\n{done.stderr}")

    return sync


def config_text(workload: Workload, scope: str = "environment") -> str:
    lines = ["version: 1", f"owner: {OWNER}", f"scope: {scope}", "repositories:"]
    lines += [f"  - {full_name.partition('/')[2]}" for full_name in workload.repositories]
    lines += ["secrets:"] + [f"  {name}: {output}" for name, output in workload.secrets.items()]
    return "\n".join(lines) + "\n"


def outputs_json(workload: Workload, *, sensitive: bool = True) -> str:
    """`terraform output -json`."""
    document: dict[str, Any] = {
        name: {"value": value, "type": "string", "sensitive": sensitive}
        for name, value in workload.outputs.items()
    }
    return json.dumps(document, indent=2)


# A side's check of what its server holds after a sync: a problem, or None.
Check = Callable[[GitHubServer, Workload], str | None]


def check_environments(server: GitHubServer, workload: Workload) -> str | None:
    """Every repository's environment holds the workload's plaintext."""
    expected = workload.expected()
    for repository in workload.repositories:
        held = server.secrets(repository, ENVIRONMENT)
        if held != expected:
            return f"{repository} holds {held}, expected {expected}"
    return None


def measure(
    server: GitHubServer,
    side: Side,
    workload: Workload,
    label: str,
    *,
    check: Check = check_environments,
    secret_put_route: str = SECRET_PUT_ROUTE,
) -> Measure:
    """Sync, check what the server holds (a wrong value stops the run), and count what it was
    sent."""
    server.clear_requests()
    started = time.perf_counter()
    side(workload)
    seconds = time.perf_counter() - started
    problem = check(server, workload)
    if problem:
        sys.exit(f"{label}: {problem}")
    if server.errors:
        sys.exit(f"{label}: the stand-in server failed: {server.errors}")
    return tally(server, seconds, secret_put_route)


def tally(server: GitHubServer, seconds: float, secret_put_route: str) -> Measure:
    """What the server was sent since its log was cleared; secret PUTs are those to the route."""
    writes = server.writes()
    other_writes: dict[str, int] = {}
    for write in writes:
        if not is_secret_put(write, secret_put_route):
            key = f"{write.method} {write.route}"
            other_writes[key] = other_writes.get(key, 0) + 1
    return Measure(
        requests=len(server.requests),
        writes=len(writes),
        secret_puts=sum(1 for w in writes if is_secret_put(w, secret_put_route)),
        other_writes=other_writes,
        seconds=seconds,
    )


def is_secret_put(request: LoggedRequest, route: str) -> bool:
    return request.method == "PUT" and request.route == route


@contextmanager
def stand_in(
    workload: Workload, latency: float, scope: str = "environment", *, environments: bool = False
) -> Iterator[GitHubServer]:
    """The workload's repositories (in the organization OWNER at organization scope; with the
    environment already, when environments), and a token with exactly what the rendered core
    workflow asks for (to create the environments when they are not there)."""
    with GitHubServer() as server:
        server.latency_seconds = latency
        if scope == "organization":
            server.add_organization(OWNER)
        for repository in workload.repositories:
            server.add_repository(repository)
            if environments:
                server.add_environment(repository, ENVIRONMENT)
        permissions = token_permissions(scope, create_environments=not environments, dispatch=False)
        server.add_token(TOKEN, permissions=permissions)
        yield server


COLUMNS = ("requests", "writes", "secret PUTs", "other writes", "wall s")


def figures(measured: Measure) -> tuple[float, ...]:
    other = sum(measured.other_writes.values())
    return (measured.requests, measured.writes, measured.secret_puts, other, measured.seconds)


def print_table(
    results: dict[tuple[str, str], Measure],
    sides: tuple[str, str] = ("baseline", "ours"),
    ratio_label: str = "ours/baseline",
    digits: tuple[int, int] = (1, 3),  # of the wall time, of the ratios
) -> None:
    """Each scenario's figures per side, then the second side's over the first's."""
    print(f"{'scenario':19} {'side':13} " + " ".join(f"{c:>12}" for c in COLUMNS))
    wall, ratio = digits
    for scenario in SCENARIOS:
        first, second = (figures(results[scenario, side]) for side in sides)
        for side, row in zip(sides, (first, second), strict=True):
            cells = [f"{n:12.0f}" for n in row[:-1]] + [f"{row[-1]:12.{wall}f}"]
            print(f"{scenario:19} {side:13} " + " ".join(cells))
        pairs = zip(second, first, strict=True)
        ratios = [f"{s / f:12.{ratio}f}" if f else f"{'-':>12}" for s, f in pairs]
        print(f"{scenario:19} {ratio_label:13} " + " ".join(ratios))
    print("\nother writes (2xx POST/PUT/PATCH/DELETE that are not a secret PUT):")
    for scenario in SCENARIOS:
        for side in sides:
            other = results[scenario, side].other_writes
            listed = ", ".join(f"{n} x {route}" for route, n in sorted(other.items())) or "none"
            print(f"  {scenario}, {side}: {listed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--write-interval",
        type=float,
        default=Consts.DEFAULT_SECONDS_BETWEEN_WRITES,
        help="seconds between writes on both sides: PyGithub's seconds_between_writes and our "
        "--write-interval (default PyGithub's, %(default)g)",
    )
    add_workload_options(parser, repositories=20, secrets="secrets per repository")
    arguments = parser.parse_args()
    run_started = time.perf_counter()
    first = make_workload(arguments.repositories, arguments.secrets)
    workloads = scenario_workloads(first)

    results: dict[tuple[str, str], Measure] = {}
    with (
        tempfile.TemporaryDirectory() as directory,
        stand_in(first, arguments.latency) as ours_server,
        stand_in(first, arguments.latency) as baseline_server,
    ):
        interval = arguments.write_interval
        sides = {
            "ours": (ours_server, ours_side(ours_server, interval, Path(directory))),
            "baseline": (baseline_server, baseline_side(baseline_server, interval)),
        }
        for scenario, name in scenario_runs(("ours", "baseline")):
            server, side = sides[name]
            label = f"{scenario}, {name}"
            results[scenario, name] = measure(server, side, workloads[scenario], label)
    print(
        f"{len(first.repositories)} repositories x {len(first.secrets)} secrets "
        f"(environment {ENVIRONMENT}), {arguments.latency * 1000:g} ms per request, "
        f"write interval {arguments.write_interval:g} s on both sides; "
        f"Python {platform.python_version()}, PyGithub {version('PyGithub')}\n"
    )
    print_table(results)
    print(f"\nthe whole run took {time.perf_counter() - run_started:.0f} s")


if __name__ == "__main__":
    main()
