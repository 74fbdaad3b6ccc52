"""The git repository a command runs in: every git call goes through here."""

from __future__ import annotations

import subprocess
from pathlib import Path


def head_commit(directory: Path) -> str | None:
    """The commit checked out in directory, or None outside a git work tree (or without git)."""
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = completed.stdout.strip()
    return commit if completed.returncode == 0 and commit else None


def origin_url(directory: Path) -> str | None:
    """The fetch URL of the `origin` remote, or None."""
    try:
        completed = subprocess.run(
            ["git", "remote", "get-url", "origin"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    url = completed.stdout.strip()
    return url if completed.returncode == 0 and url else None
