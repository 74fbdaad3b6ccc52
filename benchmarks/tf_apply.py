"""`toto-actions tf-apply`: the cli engine against plain terraform, the cloud engine's API use.

1. cli engine. `toto-actions tf-apply --engine cli` (the installed console script, in a subprocess)
   against the plain `terraform init -backend-config=FILE && terraform apply -auto-approve &&
   terraform output -json`, on the same configuration (testing/terraform_configurations.py's CONFIG:
   two built-in `terraform_data` resources and four outputs, one sensitive; plus --resources more
   `terraform_data` resources, 300 by default, that no variable changes) and the same S3 backend
   (its BACKEND settings) on one moto server (testing/local_stack/). Each side has a bucket of its
   own per round; both use the default workspace and the same state key. Two scenarios per round, in
   order: a first apply into an empty state (302 to add), then an apply with one variable changed
   (`image_tag`: 1 to change, the other 301 refreshed). Every run starts in a new directory (a
   fresh runner: no `.terraform`, so `init` does its whole work each time), with an empty
   terraform CLI configuration and empty AWS configuration files. The sides alternate from one
   scenario and round to the next. Each run is checked: ours reports the expected status and
   counts and writes the new `image_tag` to its outputs file; the baseline's `output -json` shows
   it; and the state object in each side's bucket holds it.

2. cloud engine, against the stand-in HCP Terraform server (testing/tfc/, whose runs the
   real terraform plans and applies). Per round a new workspace, then a first apply and a run
   without changes. From the server's request log: the requests of each run by route (and the
   answers that are not 2xx, e.g. 503 while the state is processed); from its status log: for
   each status the run entered, the delay until a GET of the run first showed it (or a later
   one), i.e. the step noticing it (`TfcServer.notice_delays`); and the time from the run's final
   status to the step's exit (reading the outputs). Two timings of the server, each in rounds of
   its own: every passing status lasts --step-seconds (0.5 s, the poll policy's first interval:
   the step's polls fall into step with the server's changes), and every passing status lasts a
   random time, uniform in --random-steps (status changes at times unrelated to the polls, as on
   HCP Terraform). terraform's own time in planning and applying comes on top.

Usage: .venv/bin/python -m benchmarks.tf_apply [--rounds N] [--only cli|cloud] [--resources N]
[--step-seconds S] [--random-steps LOW,HIGH] [--state-processing-seconds S]
"""

from __future__ import annotations

import argparse
import compileall
import functools
import json
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import toto_actions
from benchmarks import processes
from testing.local_stack import run_moto_server
from testing.terraform_configurations import BACKEND, CONFIG, S3_BACKEND_BLOCK, TERRAFORM
from testing.tfc.server import API, TfcServer
from toto_actions.terraform.runs import PollPolicy

CLI = Path(sys.executable).parent / "toto-actions"
SIDES = ("ours", "baseline")
SCENARIOS = ("first apply", "one variable changed")
STATE_KEY = "core/terraform.tfstate"
# The cli configuration's resources besides CONFIG's two: a fleet that no variable changes.
FLEET = """
resource "terraform_data" "fleet" {{
  count = {count}
  input = "member-${{count.index}}"
}}
"""
# Variables of this process's environment that would change what terraform or the step does.
DROPPED_VARIABLES = ("GITHUB_", "INPUT_", "RUNNER_", "TF_", "AWS_", "CHECKPOINT_")
RUN_TIMEOUT = 600.0
run = functools.partial(processes.run, timeout=RUN_TIMEOUT)
run_in_phases = functools.partial(processes.run_in_phases, timeout=RUN_TIMEOUT)
# The cli engine's configuration, for HCP Terraform, which holds the state: no backend block.
CONFIG_WITHOUT_BACKEND = CONFIG.removeprefix(S3_BACKEND_BLOCK)
CLOUD_SCENARIOS = ("first apply", "no changes")
CLOUD_STATUSES = {
    "first apply": ("applied", "applied"),
    "no changes": ("no-changes", "planned_and_finished"),
}
ORGANIZATION = "bench"
TOKEN = "bench-team-token.atlasv1.0123456789"  # noqa: S105 - the stand-in's, made up here
STEP_CHANGE_INTERVAL = 0.02  # how often a random step time is drawn


class CliRun(NamedTuple):
    seconds: float
    phases: dict[str, float]  # seconds of each phase, in order
    cpu: float = 0.0  # CPU seconds (user and system) of the run's processes, terraform's included


def children_cpu() -> float:
    """CPU seconds of this process's children that have ended (and theirs): a run's processes,
    not the moto server, which runs until the end."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class StepTiming(NamedTuple):
    """How long the stand-in keeps a run in each passing status: low when high == low, else a
    random time, uniform in [low, high], drawn for each status."""

    low: float
    high: float

    def __str__(self) -> str:
        if self.high == self.low:
            return f"every passing status {self.low:g} s"
        return f"each passing status a random {self.low:g}-{self.high:g} s"


class CloudRun(NamedTuple):
    seconds: float
    requests: Counter[str]  # "METHOD route" (and " -> STATUS" when not 2xx): how many
    delays: list[tuple[str, float | None]]  # each status the run entered: until the step saw it
    tail: float  # from the run's final status to the step's exit


# ------------------------------------------------------------------------------------------------
# Processes


def base_environment(home: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without GitHub, terraform and AWS settings; an empty terraform
    CLI configuration and empty AWS files (the machine's own stay out); plus extra."""
    for name in ("terraformrc", "aws-config", "aws-credentials"):
        (home / name).write_text("", encoding="utf-8")
    kept = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_VARIABLES)}
    return {
        **kept,
        "TF_CLI_CONFIG_FILE": str(home / "terraformrc"),
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        "CHECKPOINT_DISABLE": "1",
        **extra,
    }


def step_outputs(lines: Sequence[str]) -> dict[str, str]:
    """The name=value lines the step prints outside GitHub Actions."""
    names = {"status", "add", "change", "destroy", "outputs-file", "run-id", "run-url"}
    pairs = (line.rstrip("\n").partition("=") for line in lines)
    return {name: value for name, _, value in pairs if name in names}


# ------------------------------------------------------------------------------------------------
# 1. The cli engine


def expected_counts(index: int, resources: int) -> dict[str, str]:
    """The counts of scenario index: every resource added, then image_tag's one changed."""
    if index == 0:
        return {"add": str(2 + resources), "change": "0"}
    return {"add": "0", "change": "1"}


def new_directory(root: Path, bucket: str, resources: int) -> Path:
    """A fresh copy of the configuration and its backend settings (bucket) in a new directory."""
    directory = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    fleet = FLEET.format(count=resources) if resources else ""
    (directory / "main.tf").write_text(CONFIG + fleet, encoding="utf-8")
    (directory / "backend.hcl").write_text(
        BACKEND.format(bucket=bucket, key=STATE_KEY), encoding="utf-8"
    )
    return directory


def run_ours(directory: Path, env: Mapping[str, str], tag: str, expected: dict[str, str]) -> CliRun:
    outputs_file = directory / "outputs.json"
    command = [
        str(CLI),
        "tf-apply",
        "--engine",
        "cli",
        "--working-directory",
        str(directory),
        "--backend-config",
        str(directory / "backend.hcl"),
        "--var",
        f"image_tag={tag}",
        "--outputs-file",
        str(outputs_file),
    ]
    # The log's group lines ("== terraform init", ...) mark where each phase starts.
    marks = {
        "== terraform init": "init",
        "== terraform plan": "plan",
        "== terraform apply": "apply, output, report",
    }
    label = f"ours, {tag}"
    measured = run_in_phases(command, env, label, first_phase="start", marks=marks, cwd=directory)
    lines = measured.lines
    reported = step_outputs(lines)
    expected = {"status": "applied", **expected}
    if {k: reported.get(k) for k in expected} != expected:
        sys.exit(f"{label}: reported {reported}, expected {expected}:\n{''.join(lines)}")
    written = json.loads(outputs_file.read_text(encoding="utf-8"))
    if written["image_tag"]["value"] != tag:
        sys.exit(f"{label}: the outputs file has image_tag {written['image_tag']}")
    return CliRun(measured.seconds, measured.phases)


def run_baseline(
    directory: Path, env: Mapping[str, str], tag: str, expected: dict[str, str]
) -> CliRun:
    label = f"baseline, {tag}"
    started = time.perf_counter()
    run([TERRAFORM, "init", "-backend-config=backend.hcl"], env, f"{label}, init", cwd=directory)
    initialized = time.perf_counter()
    applied_log = run(
        [TERRAFORM, "apply", "-auto-approve", "-var", f"image_tag={tag}"],
        env,
        f"{label}, apply",
        cwd=directory,
    )
    applied = time.perf_counter()
    shown = run([TERRAFORM, "output", "-json"], env, f"{label}, output", cwd=directory)
    seconds = time.perf_counter() - started
    summary = f"Resources: {expected['add']} added, {expected['change']} changed, 0 destroyed"
    if summary not in applied_log:
        sys.exit(f"{label}: no {summary!r} in the apply's output:\n{applied_log}")
    if json.loads(shown)["image_tag"]["value"] != tag:
        sys.exit(f"{label}: terraform output -json shows {shown}")
    phases = {
        "init": initialized - started,
        "apply": applied - initialized,
        "output": started + seconds - applied,
    }
    return CliRun(seconds, phases)


def check_state(s3: Any, bucket: str, tag: str, label: str) -> None:
    """The state object in bucket has the new image_tag: the run used the S3 backend."""
    state = json.loads(s3.get_object(Bucket=bucket, Key=STATE_KEY)["Body"].read())
    if state["outputs"]["image_tag"]["value"] != tag:
        sys.exit(f"{label}: the state in s3://{bucket}/{STATE_KEY} has {state['outputs']}")


def cli_rounds(rounds: int, root: Path, resources: int) -> dict[tuple[str, str], list[CliRun]]:
    results: dict[tuple[str, str], list[CliRun]] = {
        (scenario, side): [] for scenario in SCENARIOS for side in SIDES
    }
    with run_moto_server() as moto:
        env = base_environment(root, moto.env)
        s3 = moto.s3_client()
        for number in range(rounds):
            buckets = {side: f"bench-{side}-{uuid.uuid4().hex[:10]}" for side in SIDES}
            for bucket in buckets.values():
                s3.create_bucket(Bucket=bucket)
            for index, scenario in enumerate(SCENARIOS):
                order = SIDES if (number + index) % 2 == 0 else SIDES[::-1]
                tag = f"round{number + 1}-{('a', 'b')[index]}"
                for side in order:
                    print(f"cli, round {number + 1}, {scenario}: {side} ...", file=sys.stderr)
                    directory = new_directory(root, buckets[side], resources)
                    runner = run_ours if side == "ours" else run_baseline
                    cpu_before = children_cpu()
                    measured = runner(directory, env, tag, expected_counts(index, resources))
                    measured = measured._replace(cpu=children_cpu() - cpu_before)
                    check_state(s3, buckets[side], tag, f"{side}, {scenario}, {tag}")
                    results[scenario, side].append(measured)
                    print(f"  {measured.seconds:.2f} s", file=sys.stderr, flush=True)
    return results


def cli_report(results: dict[tuple[str, str], list[CliRun]], rounds: int, resources: int) -> None:
    print(f"cli engine, {2 + resources} resources: wall time, median of {rounds} rounds")
    print(f"{'scenario':22} {'ours s':>7} {'baseline s':>11} {'ours/baseline':>14}  runs (s)")
    for scenario in SCENARIOS:
        median = {
            side: statistics.median(r.seconds for r in results[scenario, side]) for side in SIDES
        }
        each = "; ".join(
            f"{side} " + " ".join(f"{r.seconds:.2f}" for r in results[scenario, side])
            for side in SIDES
        )
        ratio = median["ours"] / median["baseline"]
        print(
            f"{scenario:22} {median['ours']:7.2f} {median['baseline']:11.2f} {ratio:14.3f}  {each}"
        )
    # On a machine other work shares, the wall time of the side that starts more processes
    # suffers more; the CPU time each side spends varies less.
    print(f"{'CPU s, median':22} {'ours s':>7} {'baseline s':>11} {'ours/baseline':>14}")
    for scenario in SCENARIOS:
        cpu = {side: statistics.median(r.cpu for r in results[scenario, side]) for side in SIDES}
        print(
            f"{scenario:22} {cpu['ours']:7.2f} {cpu['baseline']:11.2f} "
            f"{cpu['ours'] / cpu['baseline']:14.3f}"
        )
    for (scenario, side), runs in results.items():
        names = list(runs[0].phases)
        split = ", ".join(
            f"{name} {statistics.median(r.phases.get(name, 0.0) for r in runs):.2f}"
            for name in names
        )
        print(f"{side}, {scenario}, median s: {split}")


# ------------------------------------------------------------------------------------------------
# 2. The cloud engine


def run_cloud(
    server: TfcServer, workspace: str, directory: Path, env: Mapping[str, str], scenario: str
) -> CloudRun:
    outputs_file = directory.parent / "outputs.json"
    command = [
        str(CLI),
        "tf-apply",
        "--engine",
        "cloud",
        "--working-directory",
        str(directory),
        "--workspace",
        workspace,
        "--var",
        f"image_tag={workspace}",
        "--outputs-file",
        str(outputs_file),
    ]
    server.clear_requests()
    started = time.monotonic()
    label = f"cloud, {workspace}, {scenario}"
    stdout = run(command, env, label, cwd=directory)
    ended = time.monotonic()
    reported = step_outputs(stdout.splitlines())
    expected_output, expected_run = CLOUD_STATUSES[scenario]
    run_id = reported.get("run-id", "")
    if reported.get("status") != expected_output or not run_id:
        sys.exit(f"{label}: reported {reported}, expected status {expected_output}")
    if server.run_status(run_id) != expected_run:
        sys.exit(f"{label}: run {run_id} is {server.run_status(run_id)}, not {expected_run}")
    written = json.loads(outputs_file.read_text(encoding="utf-8"))
    if written["image_tag"]["value"] != workspace:
        sys.exit(f"{label}: the outputs file has image_tag {written['image_tag']}")
    requests: Counter[str] = Counter()
    for request in server.requests:
        route = (request.route or request.path).removeprefix(API)
        answer = "" if 200 <= request.status < 300 else f" -> {request.status}"
        requests[f"{request.method} {route}{answer}"] += 1
    changes = server.run_statuses(run_id)
    return CloudRun(
        ended - started, requests, server.notice_delays(run_id), ended - changes[-1].time
    )


@contextmanager
def varied_steps(server: TfcServer, timing: StepTiming, seed: int) -> Iterator[None]:
    """While the block runs, draw the server's step time anew every STEP_CHANGE_INTERVAL: the
    server reads it when a run enters a status, so each status gets a random duration."""
    if timing.high == timing.low:
        server.step_seconds = timing.low
        yield
        return
    draw, stop = random.Random(seed), threading.Event()  # noqa: S311 - not a secret

    def vary() -> None:
        while not stop.wait(STEP_CHANGE_INTERVAL):
            server.step_seconds = draw.uniform(timing.low, timing.high)

    thread = threading.Thread(target=vary, name="vary-steps", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def cloud_rounds(
    rounds: int, root: Path, timings: Sequence[StepTiming], processing_seconds: float
) -> dict[StepTiming, dict[str, list[CloudRun]]]:
    results = {timing: {s: list[CloudRun]() for s in CLOUD_SCENARIOS} for timing in timings}
    with TfcServer(state_processing_seconds=processing_seconds) as server:
        server.add_organization(ORGANIZATION)
        server.add_token(TOKEN, "team")
        env = base_environment(
            root,
            {
                "TF_API_TOKEN": TOKEN,
                "TF_CLOUD_ORGANIZATION": ORGANIZATION,
                "TF_CLOUD_ADDRESS": server.url,
            },
        )
        for order, timing in enumerate(timings):
            with varied_steps(server, timing, seed=order):
                for number in range(rounds):
                    workspace = f"bench-{order + 1}-{number + 1}"
                    server.add_workspace(ORGANIZATION, workspace)
                    directory = root / workspace / "terraform"
                    directory.mkdir(parents=True)
                    (directory / "main.tf").write_text(CONFIG_WITHOUT_BACKEND, encoding="utf-8")
                    for scenario in CLOUD_SCENARIOS:
                        print(
                            f"cloud, {timing}, round {number + 1}: {scenario} ...",
                            file=sys.stderr,
                            flush=True,
                        )
                        measured = run_cloud(server, workspace, directory, env, scenario)
                        results[timing][scenario].append(measured)
                        print(f"  {measured.seconds:.2f} s", file=sys.stderr, flush=True)
        if server.errors:
            sys.exit(f"the stand-in failed: {server.errors}")
    return results


def spread(values: Sequence[float], decimals: int = 0) -> str:
    """The median, and the range when the values differ."""
    low, median, high = min(values), statistics.median(values), max(values)
    text = f"{median:.{decimals}f}" if decimals or median != int(median) else f"{median:.0f}"
    if low != high:
        text += f" ({low:.{decimals}f}-{high:.{decimals}f})"
    return text


def poll_times(policy: PollPolicy, until: float) -> list[float]:
    """When the step polls after seeing a change, while nothing changes (request time aside)."""
    times, delay, elapsed = [], policy.first, 0.0
    while elapsed + delay <= until:
        elapsed += delay
        times.append(elapsed)
        delay = policy.next_delay(delay, changed=False)
    return times


def cloud_report(
    results: dict[str, list[CloudRun]], rounds: int, timing: StepTiming, processing: float
) -> None:
    policy = PollPolicy()
    print(
        f"cloud engine against the stand-in: {timing}, state processed in {processing:g} s; "
        f"poll policy first {policy.first:g} s, x{policy.factor:g}, up to {policy.longest:g} s; "
        f"{rounds} rounds (median, and range when they differ)"
    )
    routes = sorted(
        {route for runs in results.values() for r in runs for route in r.requests},
        key=lambda route: (route.split(" ")[1], route),
    )
    width = max(len(route) for route in routes)

    def row(label: str, cells: Sequence[str]) -> None:
        print(f"{label:{width}}  " + "  ".join(f"{c:>17}" for c in cells))

    row("requests by route", CLOUD_SCENARIOS)
    for route in routes:
        row(route, [spread([r.requests[route] for r in results[s]]) for s in CLOUD_SCENARIOS])
    row("total", [spread([r.requests.total() for r in results[s]]) for s in CLOUD_SCENARIOS])
    row("wall s", [spread([r.seconds for r in results[s]], 2) for s in CLOUD_SCENARIOS])
    tails = [spread([r.tail for r in results[s]], 2) for s in CLOUD_SCENARIOS]
    row("final status to exit s", tails)
    print()
    print("notice delay: from the server's status change to the first GET of the run showing it")
    print(f"{'scenario':14} {'status':22} {'n':>3} {'median s':>9} {'max s':>7}  unseen")
    for scenario in CLOUD_SCENARIOS:
        by_status: dict[str, list[float | None]] = {}
        for measured in results[scenario]:
            for status, delay in measured.delays:
                by_status.setdefault(status, []).append(delay)
        for status, delays in by_status.items():
            seen = [d for d in delays if d is not None]
            median = f"{statistics.median(seen):9.3f}" if seen else f"{'-':>9}"
            longest = f"{max(seen):7.3f}" if seen else f"{'-':>7}"
            unseen = len(delays) - len(seen)
            print(f"{scenario:14} {status:22} {len(delays):3} {median} {longest}  {unseen}")
    print()
    for scenario in (*CLOUD_SCENARIOS, "both"):
        chosen = CLOUD_SCENARIOS if scenario == "both" else (scenario,)
        # pending is known from the answer to POST /runs; the first GET only confirms it.
        seen = [
            d
            for s in chosen
            for r in results[s]
            for status, d in r.delays
            if d is not None and status != "pending"
        ]
        print(
            f"notice delay, {scenario}, every status but pending: n {len(seen)}, "
            f"median {statistics.median(seen):.3f} s, max {max(seen):.3f} s"
        )
    schedule = ", ".join(f"{t:.2f}" for t in poll_times(policy, 30.0))
    print(f"polls after a seen change, while nothing changes, s: {schedule}, ...")


# ------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("cli", "cloud"))
    parser.add_argument(
        "--resources", type=int, default=300, help="cli: terraform_data resources added to CONFIG"
    )
    parser.add_argument("--step-seconds", type=float, default=0.5, help="stand-in, per status")
    parser.add_argument(
        "--random-steps",
        default="0.2,2.0",
        metavar="LOW,HIGH",
        help="stand-in, per status: a random time in this range ('' to skip)",
    )
    parser.add_argument(
        "--state-processing-seconds", type=float, default=1.0, help="stand-in, after an apply"
    )
    arguments = parser.parse_args()
    timings = [StepTiming(arguments.step_seconds, arguments.step_seconds)]
    if arguments.random_steps:
        low, _, high = arguments.random_steps.partition(",")
        timings.append(StepTiming(float(low), float(high)))
    if not CLI.is_file():
        sys.exit(f"{CLI} is missing: install the project into the venv (scripts/test does)")
    if not Path(TERRAFORM).is_file():
        sys.exit(f"no terraform at {TERRAFORM}")
    # As the actions' install step does (--compile-bytecode): else, with PYTHONDONTWRITEBYTECODE
    # set (as on the development machines), every run of the editable install compiles the
    # package again, 20 ms that no runner pays.
    compileall.compile_dir(Path(toto_actions.__file__).parent, quiet=1)
    run_started = time.perf_counter()
    version = run([TERRAFORM, "version"], os.environ, "terraform version")
    print(
        f"{version.splitlines()[0]}; Python {platform.python_version()}; {os.cpu_count()} cores\n"
    )
    with tempfile.TemporaryDirectory(prefix="toto-bench-tf-") as directory:
        root = Path(directory)
        if arguments.only in {None, "cli"}:
            (root / "cli").mkdir()
            measured = cli_rounds(arguments.rounds, root / "cli", arguments.resources)
            cli_report(measured, arguments.rounds, arguments.resources)
            print()
        if arguments.only in {None, "cloud"}:
            (root / "cloud").mkdir()
            processing = arguments.state_processing_seconds
            results = cloud_rounds(arguments.rounds, root / "cloud", timings, processing)
            for timing, runs in results.items():
                cloud_report(runs, arguments.rounds, timing, processing)
                print()
    print(f"the whole run took {time.perf_counter() - run_started:.0f} s")


if __name__ == "__main__":
    main()
