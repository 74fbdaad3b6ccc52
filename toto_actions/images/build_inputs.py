"""What a build is made of, as plain values: the digest of its inputs, and the Dockerfile's needs.

Two builds with the same context files (as .dockerignore lets them through), Dockerfile, build
arguments and target make the same image, so the digest of those inputs names the image: an
image already pushed under the tag derived from it need not be built again.
"""

from __future__ import annotations

import hashlib
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

INPUTS_TAG_PREFIX = "toto-inputs-"
_CHUNK = 1024 * 1024

# Dockerfile features only BuildKit understands; the docker SDK drives the classic builder.
_SYNTAX_DIRECTIVE = re.compile(r"#\s*syntax\s*=", re.IGNORECASE)
_BUILDKIT_FEATURES = (
    (re.compile(r"^\s*RUN\s+(?:--\S+\s+)*--mount[=\s]", re.IGNORECASE), "RUN --mount"),
    (re.compile(r"^\s*RUN\s+(?:--\S+\s+)*--network[=\s]", re.IGNORECASE), "RUN --network"),
    (re.compile(r"^\s*RUN\s+(?:--\S+\s+)*--security[=\s]", re.IGNORECASE), "RUN --security"),
    (
        re.compile(
            r"^\s*(?:COPY|ADD)\s+(?:--\S+\s+)*--(?:chmod|link|parents|exclude)[=\s]", re.IGNORECASE
        ),
        "COPY/ADD --chmod, --link, --parents or --exclude",
    ),
    (re.compile(r"^\s*ADD\s+(?:--\S+\s+)*--checksum[=\s]", re.IGNORECASE), "ADD --checksum"),
    (re.compile(r"^\s*(?:RUN|COPY)\s.*(?<!<)<<-?['\"]?[A-Za-z_]\w*", re.IGNORECASE), "a heredoc"),
)


class BuildInputs(NamedTuple):
    context: Path
    files: tuple[str, ...]  # relative, '/'-separated: what the engine receives
    dockerfile: Path
    build_args: Mapping[str, str]
    target: str | None
    labels: Mapping[str, str]  # the user's; not the OCI created/revision ones, which vary per run


def inputs_digest(inputs: BuildInputs) -> str:
    """sha256 hex over every input that shapes the image: each file's path, kind, executable
    bit and content (a symlink's target), the Dockerfile, the build arguments, the target and
    the user's labels.

    Not in it, so an image is reused across them: the base image a FROM line names resolves to
    (a moved tag), and the OCI created/revision labels (a reused image keeps its first build's).
    """
    digest = hashlib.sha256(b"toto-build-inputs/1\n")
    for relative in sorted(inputs.files):
        _add(digest, "file", relative)
        _add_file(digest, inputs.context / relative)
    _add(digest, "dockerfile", inputs.dockerfile.read_bytes().decode("utf-8", "surrogateescape"))
    for name, value in sorted(inputs.build_args.items()):
        _add(digest, "arg", f"{name}={value}")
    _add(digest, "target", inputs.target or "")
    for name, value in sorted(inputs.labels.items()):
        _add(digest, "label", f"{name}={value}")
    return digest.hexdigest()


def inputs_tag(digest: str) -> str:
    """The tag that marks an image built from inputs of that digest."""
    return INPUTS_TAG_PREFIX + digest[:40]


def _add(digest: hashlib._Hash, kind: str, text: str) -> None:
    encoded = text.encode("utf-8", "surrogateescape")
    digest.update(f"{kind} {len(encoded)}\n".encode())
    digest.update(encoded)


def _add_file(digest: hashlib._Hash, path: Path) -> None:
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        _add(digest, "symlink", str(path.readlink()))
        return
    _add(digest, "mode", "x" if mode & stat.S_IXUSR else "-")
    content = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            content.update(chunk)
    _add(digest, "content", content.hexdigest())


def buildkit_problems(dockerfile: Path, lines: Sequence[str]) -> list[str]:
    """One line per Dockerfile line that needs BuildKit, naming the line and the feature."""
    problems = []
    in_directives = True  # parser directives (# syntax=) count only above the first instruction
    for number, line in _instructions(lines):
        stripped = line.strip()
        if in_directives and _SYNTAX_DIRECTIVE.match(stripped):
            problems.append(_problem(dockerfile, number, "a `# syntax=` directive"))
        if stripped and not stripped.startswith("#"):
            in_directives = False
        feature = next((f for pattern, f in _BUILDKIT_FEATURES if pattern.search(line)), None)
        if feature:
            problems.append(_problem(dockerfile, number, feature))
    return problems


def _instructions(lines: Sequence[str]) -> list[tuple[int, str]]:
    """Each instruction with its continuation lines (ending in `\\`) joined, numbered by its
    first line."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in enumerate(lines, start=1):
        if pending is not None:
            if line.lstrip().startswith("#"):
                continue  # a comment inside a continued instruction
            pending = (pending[0], pending[1] + " " + line.strip())
        else:
            pending = (number, line)
        if pending[1].rstrip().endswith("\\"):
            pending = (pending[0], pending[1].rstrip()[:-1])
            continue
        joined.append(pending)
        pending = None
    if pending is not None:
        joined.append(pending)
    return joined


def _problem(dockerfile: Path, number: int, feature: str) -> str:
    return (
        f"{dockerfile}:{number}: {feature} needs BuildKit, which the classic builder that the "
        "docker SDK drives lacks; rewrite the line without it"
    )
