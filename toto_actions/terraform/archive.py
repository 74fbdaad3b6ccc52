"""The tar.gz of a Terraform configuration that HCP Terraform receives, honouring
.terraformignore as go-slug does (gitignore-style patterns; `.git/` and `.terraform/` always out,
but for `.terraform/modules/`)."""

from __future__ import annotations

import fnmatch
import io
import tarfile
from collections.abc import Sequence
from pathlib import Path

_ALWAYS_IGNORED = (".git/", ".terraform/", "!.terraform/modules/")


def ignore_patterns(directory: Path) -> list[str]:
    ignore_file = directory / ".terraformignore"
    lines = ignore_file.read_text(encoding="utf-8").splitlines() if ignore_file.is_file() else []
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [*_ALWAYS_IGNORED, *patterns]


def is_ignored(relative: str, is_dir: bool, patterns: Sequence[str]) -> bool:
    """gitignore semantics, the last matching pattern winning (`!` re-includes, a trailing `/`
    matches directories only, a pattern without `/` matches at any depth); a path no pattern
    names follows its nearest named parent directory."""
    decision = _decision(relative, is_dir, patterns)
    for parent in reversed(_parents(relative)):
        if decision is not None:
            break
        decision = _decision(parent, True, patterns)
    return bool(decision)


def _decision(relative: str, is_dir: bool, patterns: Sequence[str]) -> bool | None:
    decision = None
    for raw in patterns:
        negated = raw.startswith("!")
        pattern = raw.removeprefix("!")
        directory_only = pattern.endswith("/")
        if directory_only and not is_dir:
            continue
        anchored = "/" in pattern.strip("/")
        pattern = pattern.strip("/")
        candidates = [relative] if anchored else [relative, relative.rsplit("/", 1)[-1]]
        if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
            decision = not negated
    return decision


def config_archive(directory: Path) -> bytes:
    """The configuration as tar.gz bytes: the files .terraformignore lets through."""
    patterns = ignore_patterns(directory)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(directory).as_posix()
            if (path.is_file() or path.is_symlink()) and not is_ignored(relative, False, patterns):
                archive.add(path, arcname=relative, recursive=False)
    return buffer.getvalue()


def _parents(relative: str) -> list[str]:
    parts = relative.split("/")[:-1]
    return ["/".join(parts[: index + 1]) for index in range(len(parts))]
