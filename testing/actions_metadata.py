"""The composite actions of the repository (actions/<name>/action.yml) and their metadata, for
the tests that check them against the commands and the README."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from testing import REPO_ROOT

ACTIONS = sorted(p.parent.name for p in (REPO_ROOT / "actions").glob("*/action.yml"))
# Inputs whose default is made of several context values, or is the job's token (for which the
# runner sets no variable); the command has its own fallback.
COMPOSED_DEFAULTS = {
    ("tf-apply", "message"),
    ("build-push", "source"),
    ("tf-apply", "github-token"),
    ("deployed-commit", "github-token"),
    ("deployed-commit", "log-url"),
}


def action_path(name: str) -> Path:
    return REPO_ROOT / "actions" / name / "action.yml"


def metadata(name: str) -> dict[str, Any]:
    """The action's action.yml, parsed."""
    document: dict[str, Any] = yaml.safe_load(action_path(name).read_text(encoding="utf-8"))
    return document
