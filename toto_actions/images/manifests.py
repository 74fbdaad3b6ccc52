"""What a manifest's JSON says of itself (plain)."""

from __future__ import annotations

import json


def declared_media_type(manifest: str) -> str:
    """The mediaType a manifest declares in its JSON, or "" when it declares none."""
    try:
        document = json.loads(manifest)
    except ValueError:
        return ""
    media_type = document.get("mediaType") if isinstance(document, dict) else None
    return media_type if isinstance(media_type, str) else ""
