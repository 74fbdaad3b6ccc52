"""The install step of the actions (actions/install.sh) against a plain `pip install`.

Everything runs from a copy of this repository's tracked files, as an action's checkout, with the
interpreter of this script (its directory first on PATH: its python3, and uv when the test extras
installed it). For each installer (uv when available; "bootstrap": a runner without uv, the
interpreter this venv was made from and a PATH without this venv, so install.sh installs its
pinned uv with pip first; and pip), three scenarios per round:

1. cold: an empty TOTO_ACTIONS_CACHE (a fresh runner): a new environment, every wheel downloaded;
2. warm: the same cache again (the next action of the job, or a cached runner): the median of
   --warm-runs starts, which only hash the checkout and find the environment's marker;
3. new version, downloads cached: a file of toto_actions/ changed, the same cache: a new
   environment built from the download cache that run 1 filled.

The baseline, in the same round: `python -m venv DIR` then `DIR/bin/python -m pip install
CHECKOUT` with an empty pip cache (what the install step did before, on every fresh runner). The
sides alternate from one round to the next; every install is checked (the printed command runs
`--version`; the warm run printed the same path and said it reused it). Prints the medians, their
ratios to the baseline, and every run.

Usage: .venv/bin/python -m benchmarks.install [--rounds N] [--warm-runs N]
       [--installers uv,bootstrap,pip]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from testing.background import wait_for_processes_naming

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON_BIN = Path(sys.executable).parent
# What a runner without uv has: the system's PATH and an interpreter with pip but no uv.
PATH_WITHOUT_UV = "/usr/bin:/bin"
BASE_PYTHON = str(Path(sys.base_prefix, "bin", "python{}.{}".format(*sys.version_info)))
SCENARIOS = ("cold", "warm", "new version, downloads cached")


def copy_tracked_files(destination: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (REPO_ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, destination / name)
    return destination


def environment(**extra: str) -> dict[str, str]:
    variables = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "RUNNER_", "TOTO_ACTIONS_"))
    }
    variables["PATH"] = f"{PYTHON_BIN}{os.pathsep}{variables.get('PATH', '')}"
    variables.update(extra)
    return variables


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str, str]:
    started = time.perf_counter()
    completed = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr}")
    return seconds, completed.stdout, completed.stderr


def check_runs(command: Path) -> None:
    completed = subprocess.run(
        [str(command), "--version"], capture_output=True, text=True, check=True
    )
    if not completed.stdout.startswith("toto-actions "):
        raise SystemExit(f"{command} --version said {completed.stdout!r}")


def change_a_file(checkout: Path, label: str) -> None:
    with (checkout / "toto_actions" / "errors.py").open("a", encoding="utf-8") as file:
        file.write(f"# benchmark: {label}\n")


def ours(
    installer: str, checkout: Path, work: Path, round_number: int, warm_runs: int
) -> dict[str, float]:
    """The three scenarios of install.sh with one installer, in a new cache."""
    cache = work / f"cache-{installer}-{round_number}"
    if installer == "bootstrap":
        env = environment(
            TOTO_ACTIONS_CACHE=str(cache), TOTO_ACTIONS_PYTHON=BASE_PYTHON, PATH=PATH_WITHOUT_UV
        )
        said: tuple[str, ...] = ("installing uv ", " with uv ")
    else:
        env = environment(TOTO_ACTIONS_CACHE=str(cache), TOTO_ACTIONS_INSTALLER=installer)
        said = (f" with {installer} ",)
    script = [str(checkout / "actions" / "install.sh")]
    result: dict[str, float] = {}

    result["cold"], stdout, stderr = timed(script, env, work)
    if not all(words in stderr for words in said):
        raise SystemExit(f"install.sh did not install with {installer}:\n{stderr}")
    check_runs(Path(stdout.strip()))
    wait_for_processes_naming(str(cache))  # the warm starts measured without it

    warm = []
    for _ in range(warm_runs):
        seconds, again, stderr = timed(script, env, work)
        if again != stdout or "reusing the cached environment" not in stderr:
            raise SystemExit(f"the warm start did not reuse {stdout}:\n{stderr}")
        warm.append(seconds)
    result["warm"] = statistics.median(warm)

    change_a_file(checkout, f"{installer} round {round_number}")
    wait_for_processes_naming(str(cache))  # the bytecode compile install.sh leaves running
    result["new version, downloads cached"], changed, stderr = timed(script, env, work)
    if changed == stdout:
        raise SystemExit("a changed checkout reused the old environment")
    check_runs(Path(changed.strip()))
    wait_for_processes_naming(str(cache))
    shutil.rmtree(cache)
    return result


def plain_pip(checkout: Path, work: Path, round_number: int) -> float:
    """`python -m venv` and `pip install CHECKOUT` into it, with an empty pip cache."""
    venv = work / f"plain-{round_number}"
    env = environment(PIP_CACHE_DIR=str(work / f"plain-pip-cache-{round_number}"))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], env=env, cwd=work, check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(checkout)],
        env=env,
        cwd=work,
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    check_runs(venv / "bin" / "toto-actions")
    shutil.rmtree(venv)
    shutil.rmtree(work / f"plain-pip-cache-{round_number}", ignore_errors=True)
    return seconds


def available_installers() -> list[str]:
    uv = shutil.which("uv", path=environment()["PATH"]) is not None
    return ["uv", "bootstrap", "pip"] if uv else ["bootstrap", "pip"]


def version_of(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm-runs", type=int, default=20)
    parser.add_argument("--installers", default=",".join(available_installers()))
    arguments = parser.parse_args()
    installers = arguments.installers.split(",")

    with tempfile.TemporaryDirectory(prefix="toto-install-bench-") as directory:
        work = Path(directory)
        checkout = copy_tracked_files(work / "checkout")
        baseline: list[float] = []
        times: dict[tuple[str, str], list[float]] = {}
        for round_number in range(arguments.rounds):
            sides: list[tuple[str, Callable[[], None]]] = []

            def run_baseline(n: int = round_number) -> None:
                baseline.append(plain_pip(checkout, work, n))

            sides.append(("plain pip", run_baseline))
            for installer in installers:

                def run_ours(name: str = installer, n: int = round_number) -> None:
                    result = ours(name, checkout, work, n, arguments.warm_runs)
                    for scenario, seconds in result.items():
                        times.setdefault((name, scenario), []).append(seconds)

                sides.append((installer, run_ours))
            if round_number % 2:
                sides.reverse()
            for name, run in sides:
                print(f"round {round_number + 1}: {name}", file=sys.stderr, flush=True)
                run()

    plain = statistics.median(baseline)
    uv_version = version_of([str(PYTHON_BIN / "uv"), "--version"]) if "uv" in installers else ""
    print(
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{version_of([sys.executable, '-m', 'pip', '--version']).split(' from ')[0]}"
        f"{', ' + uv_version if uv_version else ''}, {arguments.rounds} rounds"
    )
    print(f"{'installer':10} {'scenario':32} {'median s':>9} {'/plain pip':>11}  runs (s)")
    print(
        f"{'-':10} {'plain pip, fresh venv':32} {plain:9.3f} {1:11.3f}  "
        + " ".join(f"{s:.2f}" for s in baseline)
    )
    for installer in installers:
        for scenario in SCENARIOS:
            samples = times[(installer, scenario)]
            median = statistics.median(samples)
            print(
                f"{installer:10} {scenario:32} {median:9.3f} {median / plain:11.3f}  "
                + " ".join(f"{s:.3f}" if scenario == "warm" else f"{s:.2f}" for s in samples)
            )


if __name__ == "__main__":
    main()
