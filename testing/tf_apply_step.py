"""`toto-actions tf-apply` run as a workflow step runs it, shared by the tests of both engines:
the options that name the configuration and the outputs file, and what the step reports."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from testing.cli import CliResult, CliRunner

STEP_OUTPUTS = {"status", "add", "change", "destroy", "outputs-file", "run-id", "run-url"}


class TfApplyStep:
    """tf-apply with an engine on the configuration in root, writing its outputs file beside
    root; env is added to the runner's environment on every run."""

    def __init__(self, cli: CliRunner, root: Path, engine: str, env: Mapping[str, str]) -> None:
        self.cli, self.root, self.engine, self.env = cli, root, engine, dict(env)
        self.outputs_file = root.parent / "outputs.json"

    def engine_options(self) -> list[str]:
        """The options of the engine that every run passes (its backend, its workspace)."""
        return []

    def __call__(self, *arguments: str, env: Mapping[str, str] | None = None) -> CliResult:
        return self.cli(
            "tf-apply",
            "--engine",
            self.engine,
            "--working-directory",
            str(self.root),
            *self.engine_options(),
            "--outputs-file",
            str(self.outputs_file),
            *arguments,
            env={**self.env, **(env or {})},
        )

    def outputs(self) -> dict[str, Any]:
        """The outputs file the last run wrote, in `terraform output -json`'s form."""
        document: dict[str, Any] = json.loads(self.outputs_file.read_text(encoding="utf-8"))
        return document


def outputs_of(result: CliResult) -> dict[str, str]:
    """The step's outputs, from the `NAME=VALUE` lines it prints outside GitHub Actions."""
    pairs = (line.partition("=") for line in result.stdout.splitlines())
    return {name: value for name, _, value in pairs if name in STEP_OUTPUTS}
