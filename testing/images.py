"""Images built for the tests with the package's own BuildKit adapter, into the test engine."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from toto_actions.images import buildkit, docker_client
from toto_actions.images.buildkit import BuildRequest

# The machine's clients do not change during a session: asked once, not before every build.
_client = functools.cache(docker_client.find_client)


def build_image(
    engine_url: str,
    context: Path,
    tag: str,
    on_line: Callable[[str], None] = lambda _: None,
    labels: Mapping[str, str] = MappingProxyType({}),
    **request: Any,
) -> str:
    """Build context's own Dockerfile into the engine (RUN steps without a network, unless
    request says otherwise: the test engine has none) and return the image ID. The suite's
    client is Debian's, with BuildKit built in (scripts/bootstrap): it builds into the engine."""
    built = BuildRequest(context, context / "Dockerfile", tag, {}, labels)._replace(
        **{"network": "none", **request}
    )
    with buildkit.build_directory() as directory:
        directory.write_docker_config("unused.invalid", None)
        image_id = buildkit.build(_client(), built, directory, on_line, engine_url).image_id
    assert image_id is not None, f"{_client()} pushed instead of building into the engine"
    return image_id
