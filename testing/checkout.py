"""A copy of this repository as a runner's checkout of it holds: the tracked files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from testing import REPO_ROOT


def copy_tracked_files(destination: Path) -> Path:
    """A copy of the repository's tracked files as they are in the work tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():  # a file deleted but not yet committed is skipped
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def changed_copy(checkout: Path, destination: Path, change: str) -> Path:
    """A copy of checkout whose toto_actions/errors.py ends with the comment `# change`."""
    shutil.copytree(checkout, destination, symlinks=True)
    with (destination / "toto_actions" / "errors.py").open("a", encoding="utf-8") as file:
        file.write(f"# {change}\n")
    return destination
