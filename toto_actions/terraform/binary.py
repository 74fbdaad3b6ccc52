"""The terraform CLI: init, workspace, plan, show, apply and output, one child process at a time.

This is the only module that runs the terraform binary. Every run is non-interactive
(TF_IN_AUTOMATION=1, TF_INPUT=0, -input=false, stdin closed), uncoloured (-no-color), and streams
its output line by line as it comes, keeping the last lines for the error message; plan and
apply can speak terraform's machine-readable UI instead (-json, read in json_ui.py).

Each child runs in a session of its own, so a Ctrl-C on a terminal does not reach terraform
directly: terraform treats a first interrupt as "stop cleanly and release the state lock" and a
second one as "exit at once", leaving the lock held. cancel(), and a plan or apply that outlasts
its timeout, send that one interrupt; a child still running a grace period later gets the second
one (SIGTERM), and a few seconds after that its process group is killed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from toto_actions.errors import OperationError, UsageError
from toto_actions.terraform import json_ui, plan_text
from toto_actions.terraform.diagnostics import WarningSink, warning_text, warnings_apart
from toto_actions.terraform.exits import TAIL_LINES, Exit, TerraformError, failure
from toto_actions.terraform.process import TerraformProcess, answer, lines_and_prompt
from toto_actions.terraform.var_file import private_var_file
from toto_actions.terraform.variables import is_duration

LineSink = Callable[[str], None]
MessageSink = Callable[[json_ui.Message], None]

# Seconds terraform gets after the interrupt to stop cleanly (finish the calls in flight, write
# the state, release the lock) before SIGTERM, its second interrupt, makes it exit at once.
CANCEL_GRACE = 20.0
# Exit codes of `plan -detailed-exitcode`.
PLAN_NO_CHANGES = 0
PLAN_HAS_CHANGES = 2


class TerraformCli:
    """The terraform binary, run in one configuration directory."""

    def __init__(
        self,
        working_directory: Path,
        *,
        binary: str = "terraform",
        environment: Mapping[str, str] | None = None,
        cancel_grace: float = CANCEL_GRACE,
        on_warning: WarningSink | None = None,
    ) -> None:
        """binary: a name looked up on PATH, or a path. environment: variables added to this
        process's environment for every run (AWS_*, TF_VAR_*...). cancel_grace: seconds between
        cancel()'s SIGINT and SIGTERM. on_warning: each warning terraform prints (its summary,
        then its detail), which then reaches neither the lines nor an error; None: warnings are
        lines as any other, kept out of errors only.

        Raises UsageError when the binary or the directory is missing.
        """
        self._environment = {
            **os.environ,
            **(environment or {}),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
        }
        found = shutil.which(binary, path=self._environment.get("PATH"))
        if found is None:
            where = f"at {binary}" if os.sep in binary else f"{binary!r} on PATH"
            raise UsageError(
                f"no terraform binary {where}: install terraform "
                "(hashicorp/setup-terraform in a workflow) or give the binary's path"
            )
        if not working_directory.is_dir():
            raise UsageError(f"no Terraform configuration directory at {working_directory}")
        self._binary = found
        self._directory = working_directory.resolve()
        self._cancel_grace = cancel_grace
        self._on_warning = on_warning
        self._child: TerraformProcess | None = None
        self._cancelled = False

    def init(self, backend_config: Path | None, on_line: LineSink) -> None:
        """`terraform init`, with the backend settings of backend_config when given. The
        directory is re-pointed at that backend (-reconfigure): state is never migrated."""
        arguments = ["init", "-input=false", "-no-color", "-reconfigure"]
        if backend_config is not None:
            arguments.append(f"-backend-config={_existing_file(backend_config, 'backend config')}")
        exited = self._stream(arguments, on_line)
        if exited.code != 0:
            raise self._failure(exited)

    def select_workspace(self, name: str, on_line: LineSink, *, create: bool = True) -> None:
        """Select the workspace, creating it (with an empty state) when it does not exist;
        without create, a missing workspace is an error and nothing is written."""
        exited = self._stream(
            ["workspace", "select", "-no-color", f"-or-create={str(create).lower()}", name],
            on_line,
        )
        if exited.code != 0:
            raise self._failure(exited)

    def plan(  # noqa: PLR0917 - the signature tf-apply is written against
        self,
        plan_file: Path,
        variables: Mapping[str, str],
        var_file: Path | None,
        lock_timeout: str | None,
        destroy: bool,
        on_line: LineSink,
        *,
        on_message: MessageSink | None = None,
        timeout: float | None = None,
        refresh_only: bool = False,
        lock: bool = True,
    ) -> bool:
        """Plan into plan_file; True when the plan changes anything, False when it does not.
        refresh_only: a plan of what changed outside Terraform (`-refresh-only`), True when
        something did. lock False: the plan does not take the state lock (`-lock=false`), for a
        plan that is never applied.

        The variables reach terraform as `-var NAME=VALUE` would give them, through a private
        variables file (var_file.py) passed before var_file. lock_timeout is a Go duration
        (`30s`, `5m`). With on_message, terraform speaks its machine-readable UI: each message
        goes to on_message, then its log lines to on_line. A plan still running after timeout
        seconds is interrupted. Raises TerraformError when the plan fails or times out.
        """
        with self._inputs(variables, var_file, lock_timeout) as inputs:
            arguments = [
                "plan",
                "-input=false",
                "-no-color",
                f"-out={plan_file.resolve()}",
                "-detailed-exitcode",
                *(["-json"] if on_message else []),
                *(["-destroy"] if destroy else []),
                *(["-refresh-only"] if refresh_only else []),
                *([] if lock else ["-lock=false"]),
                *inputs,
            ]
            exited = self._stream(arguments, on_line, on_message, timeout)
        if exited.code == PLAN_HAS_CHANGES:
            return True
        if exited.code == PLAN_NO_CHANGES:
            return False
        raise self._failure(exited)

    def show_plan(self, plan_file: Path) -> dict[str, Any]:
        """The saved plan as terraform's JSON plan representation (`show -json`)."""
        return self._json(["show", "-json", "-no-color", str(plan_file.resolve())])

    def apply(
        self,
        plan_file: Path,
        on_line: LineSink,
        *,
        lock_timeout: str | None = None,
        on_message: MessageSink | None = None,
        timeout: float | None = None,
    ) -> None:
        """Apply exactly the saved plan (a plan that is stale, because the state moved on since,
        is refused by terraform). The apply takes the state lock again: lock_timeout, a Go
        duration as for plan(), is how long it waits for it. on_message and timeout as for
        plan(): the last message of a successful apply lists the outputs."""
        arguments = ["apply", "-input=false", "-no-color", *_lock_timeout_arguments(lock_timeout)]
        if on_message:
            arguments.append("-json")
        exited = self._stream(
            [*arguments, str(plan_file.resolve())],
            on_line,
            on_message,
            timeout,
            unlogged=json_ui.APPLY_REPEATS,
        )
        if exited.code != 0:
            raise self._failure(exited)

    def apply_reviewed(
        self,
        inputs: tuple[Mapping[str, str], Path | None, str | None],
        review: Callable[[list[str]], bool],
        on_line: LineSink,
        *,
        plan_timeout: float | None = None,
        apply_timeout: float | None = None,
    ) -> tuple[bool, list[str]]:
        """One `terraform apply` that plans, shows its plan as text and waits for approval:
        review(the plan's lines) answers it, so what is applied is exactly the plan reviewed.
        inputs: variables, variables file and lock timeout, as for plan(). The apply's lines go
        to on_line without their resource IDs, and none from its `Outputs:` list on. Returns
        whether it was approved (False: declined, or nothing to change) and the plan's lines.
        Raises TerraformError when it fails or outlasts its phase's timeout."""
        with self._inputs(*inputs) as input_arguments:
            arguments = ["apply", "-input=true", "-no-color", *input_arguments]
            return self._apply_reviewed(
                arguments, review, on_line, plan_timeout=plan_timeout, apply_timeout=apply_timeout
            )

    def _apply_reviewed(
        self,
        arguments: list[str],
        review: Callable[[list[str]], bool],
        on_line: LineSink,
        *,
        plan_timeout: float | None,
        apply_timeout: float | None,
    ) -> tuple[bool, list[str]]:
        child = self._start(arguments, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)
        child.verb = "terraform plan"
        child.set_deadline(plan_timeout)
        planned: list[str] = []
        approved: bool | None = None
        outputs_listed = False  # from the apply's `Outputs:` line on: values, never shown
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        try:
            read = lines_and_prompt(child, plan_text.APPROVAL_PROMPT)
            for line, waiting in self._without_warnings(read):
                outputs_listed = outputs_listed or line.startswith("Outputs:")
                if waiting and approved is None:
                    # Only the approval is answered; another question (a variable without a
                    # value) gets no answer: its input closes, and terraform fails.
                    asked = any(plan_text.APPROVAL_QUESTION in text for text in planned[-6:])
                    approved = review(planned) if asked else None
                    answer(child, approved, apply_timeout)
                elif outputs_listed:
                    continue
                elif approved is None:
                    planned.append(line)
                else:
                    on_line(plan_text.apply_log_line(line))
                if line.strip():
                    tail.append(line)
            code = child.process.wait()
        finally:
            self._finish(child)
        if code != 0 and approved is not False:
            errors = [text.lstrip("│ ") for text in plan_text.plan_log(tail)]
            first = next(
                (e.removeprefix("Error: ") for e in errors if e.startswith("Error: ")), None
            )
            exited = Exit(child.verb, code, tuple(errors), first, child.timed_out, child.forced)
            raise self._failure(exited)
        return bool(approved), planned

    @contextmanager
    def _inputs(
        self, variables: Mapping[str, str], var_file: Path | None, lock_timeout: str | None
    ) -> Iterator[list[str]]:
        """The arguments of one run's inputs: the variables' private file, then var_file (in
        that order, as `-var` before `-var-file` had it: the later wins), the lock timeout;
        the variables' file removed when the block ends. UsageError before anything is
        written for a bad name, a missing var_file, a lock timeout that is not a duration."""
        given = [] if var_file is None else [_existing_file(var_file, "variables file")]
        timeout = _lock_timeout_arguments(lock_timeout)
        with private_var_file(variables, self._directory) as written:
            files = [*filter(None, [written]), *given]
            yield [*(f"-var-file={path}" for path in files), *timeout]

    def outputs(self) -> dict[str, Any]:
        """The workspace's outputs as `terraform output -json` gives them: {name: {"value",
        "type", "sensitive"}}, sensitive values included."""
        return self._json(["output", "-json", "-no-color"])

    def cancel(self) -> None:
        """Interrupt the running terraform (SIGINT; SIGTERM after the grace period, then the
        kill), so that it stops cleanly and releases its state lock; no later run starts. Safe
        to call from a signal handler, and more than once; it returns at once."""
        self._cancelled = True
        child = self._child
        if child is not None:
            child.interrupt()

    def _start(
        self,
        arguments: Sequence[str],
        *,
        stderr: int,
        timeout: float | None = None,
        stdin: int = subprocess.DEVNULL,
    ) -> TerraformProcess:
        verb = f"terraform {arguments[0]}"
        if self._cancelled:
            raise OperationError(f"cancelled: {verb} was not started")
        process = subprocess.Popen(
            [self._binary, *arguments],
            cwd=self._directory,
            env=self._environment,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
        child = TerraformProcess(process, verb, self._cancel_grace)
        self._child = child
        if timeout is not None:
            child.set_deadline(timeout)
        if self._cancelled:  # cancel() came between the check above and now
            child.interrupt()
        return child

    def _stream(
        self,
        arguments: Sequence[str],
        on_line: LineSink,
        on_message: MessageSink | None = None,
        timeout: float | None = None,
        unlogged: frozenset[str] = frozenset(),
    ) -> Exit:
        """Run terraform, each line of its output (stdout and stderr) to on_line as it comes;
        with on_message, each machine-readable message to on_message, then its log lines (none
        for a message of a type in unlogged)."""
        child = self._start(arguments, stderr=subprocess.STDOUT, timeout=timeout)
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        first_error: str | None = None
        try:
            stdout = child.process.stdout
            if stdout is None:
                raise AssertionError("unreachable: stdout is a pipe")
            lines = ((raw.rstrip("\r\n"), False) for raw in stdout)
            for line, _ in self._without_warnings(lines, on_message, unlogged):
                if line.strip():
                    tail.append(line)
                if first_error is None and line.startswith("Error: "):
                    first_error = line.removeprefix("Error: ").strip()
                on_line(line)
            code = child.process.wait()
        finally:
            self._finish(child)
        return Exit(
            child.verb, code, tuple(tail), first_error, child.timed_out, forced=child.forced
        )

    def _json(self, arguments: Sequence[str]) -> dict[str, Any]:
        """Run terraform and parse what it prints on stdout as a JSON object; its stderr (warnings,
        errors) goes into the error when it fails."""
        child = self._start(arguments, stderr=subprocess.PIPE)
        try:
            stdout, stderr = child.process.communicate()
        finally:
            self._finish(child)
        read = ((line, False) for line in stderr.splitlines())
        lines = [line for line, _ in self._without_warnings(read) if line.strip()]
        if child.process.returncode != 0:
            first_error = next(
                (line.removeprefix("Error: ") for line in lines if line.startswith("Error: ")),
                None,
            )
            exited = Exit(
                child.verb, child.process.returncode, tuple(lines[-TAIL_LINES:]), first_error
            )
            raise self._failure(exited)
        try:
            document = json.loads(stdout)
        except ValueError as problem:
            raise TerraformError(f"{child.verb} printed no JSON ({problem})", lines) from problem
        if not isinstance(document, dict):
            raise TerraformError(f"{child.verb} printed JSON that is not an object", lines)
        return document

    def _without_warnings(
        self,
        lines: Iterable[tuple[str, bool]],
        on_message: MessageSink | None = None,
        unlogged: frozenset[str] = frozenset(),
    ) -> Iterator[tuple[str, bool]]:
        """The (line, waiting at a prompt) pairs terraform printed, machine-readable messages
        read (with on_message: each to on_message, then its log lines, none for a type in
        unlogged), its warnings apart (diagnostics.warnings_apart)."""

        def read(line: str, on_warning: WarningSink) -> list[str]:
            return _read_line(line, on_message, unlogged, on_warning)

        return warnings_apart(lines, read, self._on_warning)

    def _failure(self, exited: Exit) -> TerraformError:
        return failure(exited, self._cancel_grace, cancelled=self._cancelled)

    def _finish(self, child: TerraformProcess) -> None:
        """Forget the child; one still running (the caller is leaving on an exception) is stopped
        the way cancel() stops it, then killed if it outlasts twice the grace period."""
        try:
            if child.process.poll() is None:
                child.interrupt()
                try:
                    child.process.wait(timeout=2 * self._cancel_grace)
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    child.process.wait()
        finally:
            child.stop_escalation()
            if child.process.stdout is not None:
                child.process.stdout.close()
            self._child = None


def _read_line(
    line: str, on_message: MessageSink | None, unlogged: frozenset[str], on_warning: WarningSink
) -> list[str]:
    """The log lines of a line terraform printed; a machine-readable message (when on_message
    takes them) goes to on_message first, and a warning's to on_warning instead."""
    message = json_ui.parse(line) if on_message else None
    if on_message is None or message is None:
        return [line]
    on_message(message)
    if json_ui.is_warning(message):
        on_warning(warning_text(json_ui.log_lines(message)))
        return []
    return [] if message.get("type") in unlogged else json_ui.log_lines(message)


def _lock_timeout_arguments(lock_timeout: str | None) -> list[str]:
    """`-lock-timeout=DURATION`, or nothing; UsageError when it is not a Go duration."""
    if lock_timeout is None:
        return []
    if not is_duration(lock_timeout):
        raise UsageError(f"lock timeout {lock_timeout!r} is not a duration such as 30s, 5m or 1h")
    return [f"-lock-timeout={lock_timeout}"]


def _existing_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise UsageError(f"no {what} file at {path}")
    return path.resolve()
