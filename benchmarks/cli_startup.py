"""Start-up time of `toto-actions --help` against a bare interpreter, measured in the same run.

Both commands run alternately (so load on this shared machine hits both alike) with the same
interpreter: the one the console script uses. Prints the medians and their ratio.

Usage: .venv/bin/python -m benchmarks.cli_startup [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def elapsed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=40)
    runs = parser.parse_args().runs
    script = Path(sys.executable).parent / "toto-actions"
    candidates = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "toto-actions --help": [str(script), "--help"],
        "toto-actions render-workflow --help": [str(script), "render-workflow", "--help"],
    }
    for command in candidates.values():  # warm the file cache before timing
        elapsed(command)
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(runs):
        for name, command in candidates.items():
            times[name].append(elapsed(command))
    baseline = statistics.median(times["python -c pass"])
    print(f"{'command':40} {'median ms':>10} {'ratio':>6}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:40} {median * 1000:10.1f} {median / baseline:6.2f}")


if __name__ == "__main__":
    main()
