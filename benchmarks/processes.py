"""Running the commands a benchmark measures: to completion, or timed phase by phase from the
group lines of its log. A command that fails stops the benchmark, naming what it was doing."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple


def run(
    command: Sequence[str],
    env: Mapping[str, str],
    label: str,
    *,
    timeout: float,
    cwd: Path | None = None,
) -> str:
    """Run command; its stdout, or exit naming label with its output when it fails."""
    done = subprocess.run(
        list(command),
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(
            f"{label}: {' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


class PhasedRun(NamedTuple):
    seconds: float  # wall time
    phases: dict[str, float]  # seconds in each phase, in the order they came
    lines: list[str]  # stdout and stderr, merged, with their newlines


def run_in_phases(
    command: Sequence[str],
    env: Mapping[str, str],
    label: str,
    *,
    first_phase: str,
    marks: Mapping[str, str],
    timeout: float,
    cwd: Path | None = None,
) -> PhasedRun:
    """Run command, timing its phases: it starts in first_phase, and a line that starts with a
    key of marks starts that phase (the first time). Exit naming label with the output when it
    fails."""
    phases: dict[str, float] = {}
    lines: list[str] = []
    phase, phase_started = first_phase, time.perf_counter()
    started = phase_started
    with subprocess.Popen(
        list(command),
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None  # stdout=PIPE
        for line in process.stdout:
            lines.append(line)
            new_phase = next((p for m, p in marks.items() if line.startswith(m)), phase)
            if new_phase not in phases and new_phase != phase:
                now = time.perf_counter()
                phases[phase], phase, phase_started = now - phase_started, new_phase, now
        status = process.wait(timeout)
    seconds = time.perf_counter() - started
    phases[phase] = started + seconds - phase_started
    if status != 0:
        sys.exit(f"{label}: {' '.join(command)} exited {status}:\n{''.join(lines)}")
    return PhasedRun(seconds, phases, lines)
