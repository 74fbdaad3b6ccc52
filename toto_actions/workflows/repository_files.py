"""The target repository's files that render-workflow reads or writes, never through a link.

GitHub reads a workflow only from a file committed in `.github/workflows`, never from where a
symbolic link points; and a link in the checked-out repository could point anywhere on the
machine (a credentials file whose lines a diff or a YAML error would print, a directory a write
would land in). So each part of such a path must be the file or directory itself.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from toto_actions.errors import UsageError


def refuse_links(root: Path, relative: PurePosixPath) -> None:
    """Raise a UsageError when any part of relative, under root, is a symbolic link."""
    parts = relative.parts
    for depth in range(1, len(parts) + 1):
        shown = PurePosixPath(*parts[:depth])
        if (root / shown).is_symlink():
            kind = "file" if depth == len(parts) else "directory"
            raise UsageError(
                f"{shown} is a symbolic link, which render-workflow does not follow: "
                f"commit the {kind} itself"
            )
