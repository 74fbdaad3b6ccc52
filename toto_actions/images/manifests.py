"""What a manifest's JSON says of itself (plain)."""

from __future__ import annotations

import json
from typing import NamedTuple


def declared_media_type(manifest: str) -> str:
    """The mediaType a manifest declares in its JSON, or "" when it declares none."""
    try:
        document = json.loads(manifest)
    except ValueError:
        return ""
    media_type = document.get("mediaType") if isinstance(document, dict) else None
    return media_type if isinstance(media_type, str) else ""


# BuildKit's attestation storage (moby/buildkit docs/attestations/attestation-storage.md): an
# attestation manifest sits in the index beside the image it describes, annotated with its type.
REFERENCE_TYPE = "vnd.docker.reference.type"
ATTESTATION_MANIFEST = "attestation-manifest"


class PlatformManifest(NamedTuple):
    """One image of an index: its manifest's digest and its platform (os/arch[/variant])."""

    digest: str
    platform: str


def platform_manifests(index: str) -> list[PlatformManifest]:
    """The images an index lists, in its order, without BuildKit's attestation manifests (an
    entry annotated `vnd.docker.reference.type: attestation-manifest`)."""
    try:
        document = json.loads(index)
    except ValueError:
        return []
    entries = document.get("manifests") if isinstance(document, dict) else None
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("digest"), str):
            continue
        annotations = entry.get("annotations") or {}
        if annotations.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST:
            continue
        platform = entry.get("platform") or {}
        named = [platform.get(key) for key in ("os", "architecture", "variant")]
        found.append(PlatformManifest(entry["digest"], "/".join(p for p in named if p)))
    return found
