"""The git repository a command runs in: every git call goes through here."""

from __future__ import annotations

import subprocess
from pathlib import Path


def head_commit(directory: Path) -> str | None:
    """The commit checked out in directory, or None outside a git work tree (or without git)."""
    return _git(directory, "rev-parse", "HEAD")


def origin_url(directory: Path) -> str | None:
    """The fetch URL of the `origin` remote, or None."""
    return _git(directory, "remote", "get-url", "origin")


def changed_files(directory: Path, base: str, head: str) -> tuple[str, ...] | None:
    """The files changed from the common ancestor of base to head (`git diff base...head`, as
    GitHub's compare has them), from the repository root; None when git cannot tell (a commit
    not fetched: a shallow checkout holds the checked-out commit only)."""
    arguments = ("diff", "--name-only", "--no-renames", "-z", f"{base}...{head}", "--")
    listing = _run(directory, arguments, timeout=60)
    if listing is None:
        return None
    return tuple(name for name in listing.split("\0") if name)


def _git(directory: Path, *arguments: str) -> str | None:
    """git's one-line answer, or None when git fails or is missing."""
    answer = (_run(directory, arguments, timeout=30) or "").strip()
    return answer or None


def _run(directory: Path, arguments: tuple[str, ...], *, timeout: float) -> str | None:
    """git's standard output, or None when git fails, is missing or takes past timeout."""
    try:
        completed = subprocess.run(
            ["git", *arguments],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout if completed.returncode == 0 else None
