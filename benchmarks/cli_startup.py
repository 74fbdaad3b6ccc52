"""Start-up time of `toto-actions --help` against a bare interpreter, measured in the same run.

Two installs of the console script, each against its own interpreter's `python -c pass`:

- actions: the environment actions/install.sh builds (what every composite action runs: a
  non-editable install by uv, bytecode compiled, uv's console-script wrapper), built from a copy
  of the tracked files into a temporary cache;
- dev: this checkout's .venv (`pip install -e`, pip's wrapper, which imports `re` itself).

All commands run alternately (so load on this shared machine hits them alike) without
PYTHONDONTWRITEBYTECODE, so that the source of an editable install is compiled once, as on a
developer's machine or a runner, and not at every start. Prints the medians and their ratios.

Usage: .venv/bin/python -m benchmarks.cli_startup [--runs N] [--only actions|dev]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.install import copy_tracked_files, environment


def elapsed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def installed_by_install_sh(work: Path) -> Path:
    """The `toto-actions` of a new environment that actions/install.sh builds."""
    checkout = copy_tracked_files(work / "checkout")
    completed = subprocess.run(
        [str(checkout / "actions" / "install.sh")],
        env=environment(TOTO_ACTIONS_CACHE=str(work / "cache")),
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(completed.stdout.strip())


def candidates(label: str, script: Path) -> dict[str, list[str]]:
    python = str(script.with_name("python"))
    return {
        f"{label}: python -c pass": [python, "-c", "pass"],
        f"{label}: toto-actions --help": [str(script), "--help"],
        f"{label}: toto-actions render-workflow --help": [str(script), "render-workflow", "--help"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--only", choices=["actions", "dev"])
    arguments = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="toto-cli-startup-") as directory:
        commands: dict[str, list[str]] = {}
        if arguments.only != "dev":
            commands |= candidates("actions", installed_by_install_sh(Path(directory)))
        if arguments.only != "actions":
            commands |= candidates("dev", Path(sys.executable).parent / "toto-actions")
        for command in commands.values():  # warm the file cache, write any bytecode
            elapsed(command, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(arguments.runs):
            for name, command in commands.items():
                times[name].append(elapsed(command, env))
    print(f"{'command':45} {'median ms':>10} {'ratio':>6}")
    baseline = 0.0
    for name, samples in times.items():
        median = statistics.median(samples)
        if name.endswith("python -c pass"):
            baseline = median
        print(f"{name:45} {median * 1000:10.1f} {median / baseline:6.2f}")


if __name__ == "__main__":
    main()
