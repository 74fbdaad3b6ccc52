"""`toto-actions tf-apply` run as a workflow step runs it, shared by the tests of both engines:
the options that name the configuration and the outputs file, and what the step reports."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from testing.cli import CliResult, CliRunner, clean_environment
from toto_actions import actions_runtime, cli
from toto_actions.commands import tf_apply
from toto_actions.errors import TotoError
from toto_actions.options import resolve
from toto_actions.terraform import cli_engine, cloud_engine
from toto_actions.terraform.engine import EngineResult, Review
from toto_actions.terraform.plan import PlanSummary

STEP_OUTPUTS = {
    "status",
    "add",
    "change",
    "destroy",
    "outputs-file",
    "run-id",
    "run-url",
    "services",
}


class TfApplyStep:
    """tf-apply with an engine on the configuration in root, writing its outputs file beside
    root; env is added to the runner's environment on every run."""

    def __init__(self, cli: CliRunner, root: Path, engine: str, env: Mapping[str, str]) -> None:
        self.cli, self.root, self.engine, self.env = cli, root, engine, dict(env)
        self.outputs_file = root.parent / "outputs.json"

    def engine_options(self) -> list[str]:
        """The options of the engine that every run passes (its backend, its workspace)."""
        return []

    def arguments(self, *arguments: str) -> list[str]:
        """The command's options (after `tf-apply`) for a run with these."""
        return [
            "--engine",
            self.engine,
            "--working-directory",
            str(self.root),
            *self.engine_options(),
            "--outputs-file",
            str(self.outputs_file),
            *arguments,
        ]

    def __call__(self, *arguments: str, env: Mapping[str, str] | None = None) -> CliResult:
        return self.cli("tf-apply", *self.arguments(*arguments), env={**self.env, **(env or {})})

    def reviewed(
        self, review: Review, *arguments: str, env: Mapping[str, str] | None = None
    ) -> CliResult:
        """tf-apply with review in its engine's settings, which no option sets: run in this
        process (a function cannot reach a subprocess) as the console script runs it, in the
        environment the script would get, its error reported as the script reports it. What
        other threads of this process (a stand-in server's) print meanwhile is captured too."""
        out, err = io.StringIO(), io.StringIO()
        environment = clean_environment({**self.env, **(env or {})})
        with _isolated(environment), redirect_stdout(out), redirect_stderr(err):
            try:
                code = _run_reviewed(review, self.arguments(*arguments))
            except TotoError as problem:
                actions_runtime.error(str(problem), title=problem.title)
                code = problem.exit_code
        return CliResult(code, out.getvalue(), err.getvalue())

    def outputs(self) -> dict[str, Any]:
        """The outputs file the last run wrote, in `terraform output -json`'s form."""
        document: dict[str, Any] = json.loads(self.outputs_file.read_text(encoding="utf-8"))
        return document


class Reviewer:
    """A review for the engine's settings that answers reason to every plan (None: apply it)
    and keeps each plan it was shown."""

    def __init__(self, reason: str | None) -> None:
        self.reason = reason
        self.shown: list[PlanSummary] = []

    def review(self, summary: PlanSummary) -> str | None:
        self.shown.append(summary)
        return self.reason


def outputs_of(result: CliResult) -> dict[str, str]:
    """The step's outputs, from the `NAME=VALUE` lines it prints outside GitHub Actions."""
    pairs = (line.partition("=") for line in result.stdout.splitlines())
    return {name: value for name, _, value in pairs if name in STEP_OUTPUTS}


def _run_reviewed(review: Review, arguments: list[str]) -> int:
    """What tf_apply.run does, with review added to the engine's settings."""
    parsed = cli.command_parser("tf-apply", tf_apply).parse_args(arguments)
    settings = tf_apply._settings(resolve(tf_apply.OPTIONS, parsed, os.environ))
    engine = settings.engine_settings
    engine_settings = engine._replace(choices=engine.choices._replace(review=review))
    result: EngineResult
    if isinstance(engine_settings, cli_engine.CliSettings):
        result = cli_engine.plan_and_apply(engine_settings)
    else:
        result = cloud_engine.plan_and_apply(engine_settings)
    return tf_apply._report(settings._replace(engine_settings=engine_settings), result)


@contextmanager
def _isolated(environment: Mapping[str, str]) -> Iterator[None]:
    """This process with only environment as its variables, and the values masked meanwhile
    forgotten afterwards (each console script starts with none), as a subprocess would be."""
    saved_environment, saved_masks = dict(os.environ), set(actions_runtime._masked_values)
    os.environ.clear()
    os.environ.update(environment)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_environment)
        actions_runtime._masked_values.clear()
        actions_runtime._masked_values.update(saved_masks)
