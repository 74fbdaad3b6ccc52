"""The installed `toto-actions` console script, run as a user's shell would: in a subprocess,
with none of the runner's GitHub Actions variables."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

CLI = Path(sys.executable).parent / "toto-actions"

# Variables of the machine running the tests that would change what the CLI does.
_RUNNER_VARIABLES = ("GITHUB_", "INPUT_", "RUNNER_")


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


CliRunner = Callable[..., CliResult]


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any GitHub Actions variable, plus extra."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(_RUNNER_VARIABLES)}
    environment.update(extra or {})
    return environment


def make_cli_runner(default_cwd: Path, default_env: Mapping[str, str] | None = None) -> CliRunner:
    """Run `toto-actions ARGS` in a subprocess (in default_cwd unless told) and capture it;
    default_env is in its environment unless a run's env says otherwise."""

    def run(
        *arguments: str, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> CliResult:
        completed = subprocess.run(
            [str(CLI), *arguments],
            cwd=cwd or default_cwd,
            env=clean_environment({**(default_env or {}), **(env or {})}),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return CliResult(completed.returncode, completed.stdout, completed.stderr)

    return run
