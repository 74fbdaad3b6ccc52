"""The repositories a user would have: a git repository on `main` whose origin is on GitHub, the
workflow rendered into it by `toto-actions render-workflow`, and the user's own files.

git runs with no system or global configuration (the machine's would sign commits, hook...).
act reads the repository (origin, branch, commit) to make the `github` context: origin names the
repository, `main` is the branch pushed, HEAD the commit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import CLI, clean_environment

_GIT_ENVIRONMENT = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_AUTHOR_NAME": "Toto Developer",
    "GIT_AUTHOR_EMAIL": "dev@toto.example",
    "GIT_COMMITTER_NAME": "Toto Developer",
    "GIT_COMMITTER_EMAIL": "dev@toto.example",
}


def git(repository: Path, *arguments: str) -> str:
    completed = subprocess.run(
        ["git", *arguments],
        cwd=repository,
        env=clean_environment(_GIT_ENVIRONMENT),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if completed.returncode:
        raise AssertionError(f"git {' '.join(arguments)} failed: {completed.stderr}")
    return completed.stdout.strip()


def new_repository(root: Path, full_name: str, files: Mapping[str, str]) -> Path:
    """A git repository at root, on main, origin https://github.com/<full_name>.git, holding
    files (relative paths) in one commit."""
    root.mkdir(parents=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "remote", "add", "origin", f"https://github.com/{full_name}.git")
    commit(root, files, "First commit")
    return root


def commit(repository: Path, files: Mapping[str, str | None], message: str) -> str:
    """Write (or, for None, delete) files and commit them; the new commit's sha."""
    for name, content in files.items():
        path = repository / name
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--message", message)
    return head(repository)


def head(repository: Path) -> str:
    return git(repository, "rev-parse", "HEAD")


def copy_repository(source: Path, destination: Path) -> Path:
    """Another clone of the same repository and history (a copy: origin stays on GitHub)."""
    shutil.copytree(source, destination, symlinks=True)
    return destination


def render_workflow(repository: Path, *options: str) -> Path:
    """`toto-actions render-workflow --output-dir repository OPTIONS`, committed as a user would
    (and checked unchanged with --check); the rendered file's path relative to the repository."""

    def render(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CLI), "render-workflow", "--output-dir", str(repository), *options, *extra],
            env=clean_environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    rendered = render()
    if rendered.returncode:
        raise AssertionError(f"render-workflow failed: {rendered.stderr}")
    files = sorted((repository / ".github" / "workflows").glob("toto-*.yml"))
    assert len(files) == 1, files
    commit(repository, {}, "Add the Toto workflow")
    checked = render("--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return files[0].relative_to(repository)
