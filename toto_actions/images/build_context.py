"""Which files of a build context BuildKit receives: the ignore patterns it applies, and the
toolkit's own checkout left out of them (plain: no SDK).

The reusable workflows check the toolkit out inside the service's workspace (`.toto-actions/`:
actions/checkout and a local `uses:` stay under GITHUB_WORKSPACE). In the default context `.`
that checkout would change the inputs digest with every toolkit upgrade (a rebuild and a
redeploy of an unchanged service) and a `COPY . .` would put it into the image, so build-push
leaves it out of the file list, the digest and the context the engine receives alike.

BuildKit reads `<Dockerfile>.dockerignore` beside the Dockerfile in place of the context's
.dockerignore ("A Dockerfile-specific ignore-file takes precedence over the .dockerignore file at
the root of the build context", docs.docker.com/build/concepts/context/#filename-and-location):
the engine is given a copy of the Dockerfile beside such a file, holding the patterns BuildKit
would have applied and the exclusion last (no `!` line of the user's takes it back). The
service's own files are never written to.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

IGNORE_FILE = ".dockerignore"
# What a .dockerignore line cannot spell literally, in Go's filepath.Match (BuildKit) and the
# docker SDK's fnmatch alike: neither lets a pattern quote a wildcard the same way.
_PATTERN_CHARACTERS = frozenset("*?[\\")
_LINE_MARKS = ("!", "#")  # an exception, a comment


def checkout_exclusion(
    problems: list[str], context: Path, checkout: Path | None
) -> tuple[str, ...]:
    """The ignore pattern that leaves the toolkit's checkout out of context: its path relative
    to the context, when it lies strictly inside it (both resolved); () when there is no
    checkout, or it lies outside (a remote `uses:`), or it is the context or holds it (the
    toolkit building itself). A path no pattern can spell is a problem, appended."""
    if checkout is None:
        return ()
    root, place = context.resolve(), checkout.resolve()
    if place == root or not place.is_relative_to(root):
        return ()
    relative = place.relative_to(root).as_posix()
    unwritable = (
        _PATTERN_CHARACTERS.intersection(relative)
        or relative.startswith(_LINE_MARKS)
        or relative != relative.strip()
    )
    if unwritable:
        problems.append(
            f"the toto-actions checkout {relative!r} lies inside the build context {context}, "
            "and a .dockerignore pattern cannot spell its path (*, ?, [ or \\ in it, a leading "
            "! or #, or a space at an end): check the toolkit out to a plain path such as "
            ".toto-actions"
        )
        return ()
    return (relative,)


def ignore_file(context: Path, dockerfile: Path) -> Path | None:
    """The ignore file BuildKit applies to context: `<Dockerfile>.dockerignore` beside the
    Dockerfile when it exists, else the context's .dockerignore when it exists, else None."""
    own = dockerfile.with_name(dockerfile.name + IGNORE_FILE)
    for candidate in (own, context / IGNORE_FILE):
        if candidate.is_file():
            return candidate
    return None


def ignore_patterns(context: Path, dockerfile: Path) -> list[str]:
    """The patterns of the ignore file BuildKit applies, read as BuildKit reads them (moby's
    ignorefile.ReadAll): a byte order mark dropped, a line starting with # a comment, then each
    line trimmed and the blank ones dropped."""
    found = ignore_file(context, dockerfile)
    if found is None:
        return []
    lines = found.read_text(encoding="utf-8-sig").splitlines()
    patterns = (line.strip() for line in lines if not line.startswith("#"))
    return [pattern for pattern in patterns if pattern]


def dockerfile_leaving_out(
    excluded: Sequence[str], context: Path, dockerfile: Path, directory: Path
) -> Path:
    """The Dockerfile to hand BuildKit so that the patterns in excluded stay out of context:
    dockerfile itself when there are none; else a copy of it in directory (created, holding
    nothing else: BuildKit reads the Dockerfile's directory) beside its own ignore file: the
    ignore file BuildKit would apply, as it is, then excluded, one a line."""
    if not excluded:
        return dockerfile
    directory.mkdir(mode=0o700)
    copy = directory / dockerfile.name
    shutil.copyfile(dockerfile, copy)
    found = ignore_file(context, dockerfile)
    kept = found.read_bytes() if found is not None else b""
    if kept and not kept.endswith(b"\n"):
        kept += b"\n"
    added = "".join(f"{pattern}\n" for pattern in excluded).encode("utf-8")
    copy.with_name(copy.name + IGNORE_FILE).write_bytes(kept + added)
    return copy
