"""`toto-actions sync-secrets` at `scope: organization` against `scope: environment` (issue 21).

The same workload (repositories x Terraform outputs, one environment, `dev`) synced by the
installed console script, in a subprocess, into two stand-in GitHubs under the same write pacing
(`--write-interval`) and fingerprint key: **environment**, where every repository has the
environment `dev` already and gets every output as an environment secret; **organization**, where
the repositories belong to the organization `acme` and every output becomes one organization
secret `DEV_<NAME>` selecting all of them. The outputs are not sensitive on either side (subnet
ids and the like: what an organization secret is for; a sensitive one would need `allow-sensitive`).

Three scenarios, in order, on each side: a first sync, a sync where nothing changed, and a sync
where one output changed. The sides alternate within the run, so load on this shared machine hits
both alike. Every scenario ends with a check of the plaintext the server holds (and, at
organization scope, of each secret's visibility and selected repositories); a wrong value stops
the run. The issue's goals are reported at the end: a first sync at most 0.02x the environment
scope's writes and wall time (at 200 repositories x 10 outputs: the ratios depend on the size),
a change at most 2 writes and a no-op none; the run exits 1 when one of the last two is missed.

Usage: .venv/bin/python -m benchmarks.sync_secrets_scopes [--write-interval S] [--latency S]
           [--repositories N] [--secrets N]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from benchmarks.sync_secrets import (
    ENVIRONMENT,
    OWNER,
    SECRET_PUT_ROUTE,
    Check,
    Measure,
    Side,
    Workload,
    add_workload_options,
    check_environments,
    cli_side,
    make_workload,
    measure,
    print_table,
    scenario_runs,
    scenario_workloads,
    stand_in,
)
from testing.github.server import GitHubServer
from toto_actions.github.sync_plan import Target

ORGANIZATION_SECRET_PUT_ROUTE = "/orgs/{org}/actions/secrets/{secret_name}"  # noqa: S105 - a route
# The state, selecting no repository.
MANIFEST = Target(OWNER, ENVIRONMENT, organization=True).manifest_variable
SIDES = ("environment", "organization")
GOAL_FIRST_SYNC_RATIO = 0.02  # of the environment scope's writes and wall time
GOAL_CHANGE_WRITES = 2


def check_organization(server: GitHubServer, workload: Workload) -> str | None:
    every = sorted(workload.repositories)
    expected = {
        f"{ENVIRONMENT.upper()}_{name}": (value, "selected", every)
        for name, value in workload.expected().items()
    }
    held = server.organization_secrets(OWNER)
    if held != expected:
        wrong = sorted(
            name for name in expected.keys() | held.keys() if held.get(name) != expected.get(name)
        )
        return f"organization {OWNER}: these secrets are not as expected: {wrong}"
    variables = server.organization_variables(OWNER)
    if list(variables) != [MANIFEST] or variables[MANIFEST][1:] != ("selected", []):
        return f"organization {OWNER}: variables {sorted(variables)}, expected the state only"
    for repository in workload.repositories:
        if server.secrets(repository) or server.environment_names(repository):
            return f"{repository} holds secrets or environments of its own"
    return None


class Contender(NamedTuple):
    server: GitHubServer
    sync: Side
    check: Check
    secret_put_route: str


def check_goals(results: dict[tuple[str, str], Measure]) -> bool:
    """Print each goal of the issue, met or not; False when a change wrote more than it may or
    a no-op wrote at all."""
    first = {side: results["first sync", side] for side in SIDES}
    write_ratio = first["organization"].writes / first["environment"].writes
    wall_ratio = first["organization"].seconds / first["environment"].seconds
    change = results["one output changed", "organization"].writes
    no_op = results["no-op sync", "organization"].writes
    ratio_goal, change_goal = GOAL_FIRST_SYNC_RATIO, GOAL_CHANGE_WRITES
    goals = [  # what, measured, goal, met, enforced (the ratios depend on the size, so not those)
        (
            "first sync writes, org/env",
            f"{write_ratio:.4f}",
            f"<= {ratio_goal}",
            write_ratio <= ratio_goal,
            False,
        ),
        (
            "first sync wall time, org/env",
            f"{wall_ratio:.4f}",
            f"<= {ratio_goal}",
            wall_ratio <= ratio_goal,
            False,
        ),
        (
            "one output changed, org writes",
            str(change),
            f"<= {change_goal}",
            change <= change_goal,
            True,
        ),
        ("no-op sync, org writes", str(no_op), "== 0", no_op == 0, True),
    ]
    print("\ngoals (issue 21):")
    for what, measured, goal, met, _ in goals:
        print(f"  {what:32} {measured:>8}  goal {goal:7}  {'met' if met else 'NOT MET'}")
    return all(met for *_, met, enforced in goals if enforced)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--write-interval",
        type=float,
        default=0.05,
        help="seconds between writes, our --write-interval on both sides (default %(default)g)",
    )
    add_workload_options(parser, repositories=200, secrets="outputs synced")
    arguments = parser.parse_args()
    run_started = time.perf_counter()
    first = make_workload(arguments.repositories, arguments.secrets)
    workloads = scenario_workloads(first)
    interval, latency = arguments.write_interval, arguments.latency

    results: dict[tuple[str, str], Measure] = {}
    with (
        tempfile.TemporaryDirectory() as environment_directory,
        tempfile.TemporaryDirectory() as organization_directory,
        stand_in(first, latency, "environment", environments=True) as environment_server,
        stand_in(first, latency, "organization") as organization_server,
    ):
        contenders = {
            "environment": Contender(
                environment_server,
                cli_side(
                    environment_server,
                    interval,
                    Path(environment_directory),
                    "environment",
                    sensitive=False,
                ),
                check_environments,
                SECRET_PUT_ROUTE,
            ),
            "organization": Contender(
                organization_server,
                cli_side(
                    organization_server,
                    interval,
                    Path(organization_directory),
                    "organization",
                    sensitive=False,
                ),
                check_organization,
                ORGANIZATION_SECRET_PUT_ROUTE,
            ),
        }
        for scenario, side in scenario_runs(SIDES):
            contender = contenders[side]
            results[scenario, side] = measure(
                contender.server,
                contender.sync,
                workloads[scenario],
                f"{scenario}, {side}",
                check=contender.check,
                secret_put_route=contender.secret_put_route,
            )
    print(
        f"{len(first.repositories)} repositories x {len(first.secrets)} outputs "
        f"(environment {ENVIRONMENT}), {latency * 1000:g} ms per request, "
        f"write interval {interval:g} s on both sides; Python {platform.python_version()}\n"
    )
    print_table(results, SIDES, "org/env", (2, 4))
    met = check_goals(results)
    print(f"\nthe whole run took {time.perf_counter() - run_started:.0f} s")
    if not met:
        sys.exit(1)


if __name__ == "__main__":
    main()
