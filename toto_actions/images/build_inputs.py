"""What a build is made of, as plain values: the digest of its inputs.

Two builds with the same context files (as .dockerignore lets them through), Dockerfile, build
arguments, target, platforms, network, build secrets (by id) and base images (by the digest their
FROM lines resolve to) make the same image, so the
digest of those inputs names the image: an image already pushed under the tag derived from it
need not be built again.
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

INPUTS_TAG_PREFIX = "toto-inputs-"
_CHUNK = 1024 * 1024


class BuildInputs(NamedTuple):
    context: Path
    files: tuple[str, ...]  # relative, '/'-separated: what the engine receives
    dockerfile: Path
    build_args: Mapping[str, str]
    target: str | None
    labels: Mapping[str, str]  # the user's; not the OCI created/revision ones, which vary per run
    secret_ids: tuple[str, ...] = ()  # ids only: a value never enters the digest
    platforms: tuple[str, ...] = ()
    network: str | None = None
    base_images: tuple[str, ...] = ()  # each FROM image as reference@digest, the digest resolved


def inputs_digest(inputs: BuildInputs) -> str:
    """sha256 hex over every input that shapes the image: each file's path, kind, executable
    bit and content (a symlink's target), the Dockerfile, the build arguments, the target, the
    user's labels, the ids of the build secrets, the platforms, the RUN steps' network and the
    base images with their digests (a moved base tag, such as a patched python:3.12-slim, changes
    it).

    Not in it, so an image is reused across them: the OCI created/revision labels (a reused image
    keeps its first build's), and the secrets' values (a rotated token does not rebuild the image).
    """
    digest = hashlib.sha256(b"toto-build-inputs/3\n")
    for relative in sorted(inputs.files):
        _add(digest, "file", relative)
        _add_file(digest, inputs.context / relative)
    _add(digest, "dockerfile", inputs.dockerfile.read_bytes().decode("utf-8", "surrogateescape"))
    for name, value in sorted(inputs.build_args.items()):
        _add(digest, "arg", f"{name}={value}")
    _add(digest, "target", inputs.target or "")
    for name, value in sorted(inputs.labels.items()):
        _add(digest, "label", f"{name}={value}")
    for secret_id in sorted(set(inputs.secret_ids)):
        _add(digest, "secret", secret_id)
    for platform in sorted(set(inputs.platforms)):
        _add(digest, "platform", platform)
    _add(digest, "network", inputs.network or "")
    for base in sorted(set(inputs.base_images)):
        _add(digest, "base", base)
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
