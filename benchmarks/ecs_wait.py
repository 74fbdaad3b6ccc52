"""`toto-actions tf-apply --wait-for-services`: how soon the step notices a finished rollout, and
how often it asks ECS meanwhile, against `aws ecs wait services-stable` (botocore's
ServicesStable waiter: DescribeServices every 15 s), both against the stand-in ECS API
(testing/ecs.py), where the benchmark decides when each rollout completes.

Per round, one rollout completion delay is drawn (uniform in --complete-after, seconds after the
service is first described); each side waits for a service of its own that completes that long
after its first DescribeServices; the sides alternate which goes first. Ours is the installed
console script, `tf-apply --engine cli` with the real terraform on a configuration (local
state) whose output `ecs_service_arn` names the service, `--wait-for-services auto`; the
baseline is the waiter, in this process, through boto3. From the stand-in's request log: the
notice delay (the first DescribeServices answered after the rollout completed, minus that
moment) and the DescribeServices calls. One more round per side with a rollout of
--long-seconds gives the calls per minute over a long wait (the most in any 60 s window).

Usage: .venv/bin/python -m benchmarks.ecs_wait [--rounds N] [--complete-after LOW,HIGH]
[--long-seconds S] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import boto3  # type: ignore[import-untyped, unused-ignore]

from benchmarks import processes
from testing.ecs import DESCRIBE_SERVICES, EcsStandIn
from testing.terraform_configurations import ECS_SERVICE_CONFIG

CLI = Path(sys.executable).parent / "toto-actions"
CLUSTER = "bench"
DROPPED_VARIABLES = ("GITHUB_", "INPUT_", "RUNNER_", "TF_", "AWS_", "CHECKPOINT_")
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def ours(ecs: EcsStandIn, arn: str, workdir: Path) -> None:
    """The step: terraform applies the configuration, then the step waits."""
    root = Path(tempfile.mkdtemp(dir=workdir))
    (root / "main.tf").write_text(ECS_SERVICE_CONFIG, encoding="utf-8")
    (root / "terraformrc").write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_VARIABLES)}
    env |= CREDENTIALS | {
        "AWS_ENDPOINT_URL_ECS": ecs.url,
        "TF_CLI_CONFIG_FILE": str(root / "terraformrc"),
        "CHECKPOINT_DISABLE": "1",
    }
    arguments = ["--engine", "cli", "--working-directory", str(root), "--var"]
    arguments += [f"service_arn={arn}", "--wait-for-services", "auto", "--wait-timeout", "600"]
    processes.run([str(CLI), "tf-apply", *arguments], env, "tf-apply", timeout=900)


def baseline(ecs: EcsStandIn, arn: str, workdir: Path) -> None:
    """`aws ecs wait services-stable`: botocore's waiter, its own delay and attempts."""
    client = boto3.client(
        "ecs",
        endpoint_url=ecs.url,
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    client.get_waiter("services_stable").wait(cluster=CLUSTER, services=[arn])


SIDES: dict[str, Callable[[EcsStandIn, str, Path], None]] = {
    "ours": ours,
    "aws ecs wait services-stable": baseline,
}


def measure(
    ecs: EcsStandIn, side: str, name: str, after: float, workdir: Path
) -> tuple[float, list[float]]:
    """Wait with side for a new service completing `after` s after its first description: the
    notice delay and the moments of the DescribeServices calls about it."""
    arn = ecs.add_service(CLUSTER, name, f"{name}:1", 2, (f"repo/{name}:1",))
    ecs.complete_after(CLUSTER, name, after)
    SIDES[side](ecs, arn, workdir)
    calls = [
        r.time
        for r in ecs.requests_to(DESCRIBE_SERVICES)
        if r.body and any(str(s).endswith(f"/{name}") or s == name for s in r.body["services"])
    ]
    completed = ecs.services[CLUSTER, name].completes_at
    assert completed is not None
    noticed = min(moment for moment in calls if moment >= completed)
    return noticed - completed, calls


def most_in_a_minute(calls: list[float]) -> int:
    return max(sum(1 for c in calls if start <= c < start + 60) for start in calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--complete-after", default="5,65", metavar="LOW,HIGH")
    parser.add_argument("--long-seconds", type=float, default=90.0)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    low, high = (float(x) for x in options.complete_after.split(","))
    draw = random.Random(options.seed)  # noqa: S311 (delays, not secrets)
    delays: dict[str, list[float]] = {side: [] for side in SIDES}
    rates: dict[str, tuple[int, float]] = {}
    with EcsStandIn() as ecs, tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        for number in range(options.rounds):
            after = draw.uniform(low, high)
            order = list(SIDES) if number % 2 == 0 else list(reversed(SIDES))
            for side in order:
                name = f"{'o' if side == 'ours' else 'b'}{number}"
                delay, _ = measure(ecs, side, name, after, workdir)
                delays[side].append(delay)
                print(
                    f"round {number}: {side}: completes after {after:.1f} s, "
                    f"noticed {delay:.2f} s later",
                    flush=True,
                )
        for side in SIDES:
            name = f"{'o' if side == 'ours' else 'b'}long"
            _, calls = measure(ecs, side, name, options.long_seconds, workdir)
            span = calls[-1] - calls[0]
            rates[side] = (most_in_a_minute(calls), (len(calls) - 1) / span * 60)
        assert ecs.errors == [], ecs.errors
    print()
    print(
        f"{'side':32} {'notice delay s (median, max)':>30} "
        f"{'calls in a 60 s window (max)':>30} {'calls/min':>10}"
    )
    for side in SIDES:
        median, worst = statistics.median(delays[side]), max(delays[side])
        window, per_minute = rates[side]
        print(f"{side:32} {median:>20.2f} {worst:>9.2f} {window:>30} {per_minute:>10.1f}")
    ratio = statistics.median(delays["ours"]) / statistics.median(delays[list(SIDES)[1]])
    print(f"\nnotice delay, ours / baseline (medians): {ratio:.2f}")


if __name__ == "__main__":
    main()
