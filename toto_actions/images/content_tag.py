"""The content-addressed tag of build-push's image, and the outputs and summary that report it.

The tag is computed from the build's inputs and the digests the base images' tags name now,
reading only: `push: false` (a pull request's plan) stops there and says whether the registry
already holds an image under it, so a plan shows the image a deploy will get without building,
pushing or writing anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from toto_actions import actions_runtime
from toto_actions.images import registry_steps
from toto_actions.images.build_inputs import BuildInputs, inputs_digest, inputs_tag
from toto_actions.images.build_options import BuildSettings
from toto_actions.images.engine import DockerEngine
from toto_actions.images.names import ImageManifest
from toto_actions.images.registry import Registry


class Published(NamedTuple):
    """What build-push reports: the image (None: none, with push false and no image under the
    inputs tag), whether it was there before, and its inputs tag (None: it carries none)."""

    digest: str | None
    skipped: bool
    size: int | None
    marker: str | None


def content_tag(
    settings: BuildSettings, registry: Registry, host: str, engine: DockerEngine
) -> str | None:
    """The inputs tag (`toto-inputs-<digest>`) the image is pushed under and found again by;
    None when no image gets one: with skip-if-exists false, or when a base image's digest is
    unknown (warned), since a moved base tag would go unseen. Reads the registry only."""
    if not settings.skip_if_exists:
        return None
    bases = registry_steps.base_images(settings, registry, host)
    if bases is None:
        return None
    inputs = BuildInputs(
        settings.context,
        tuple(engine.context_files(settings.context, settings.dockerfile, settings.excluded)),
        settings.dockerfile,
        settings.input_build_args,
        settings.target,
        settings.labels,
        settings.secret_ids,
        settings.platforms,
        settings.network,
        bases,
    )
    return inputs_tag(inputs_digest(inputs))


def plan(settings: BuildSettings, registry: Registry, host: str, engine: DockerEngine) -> int:
    """push false: report the inputs tag and whether the registry holds an image under it;
    nothing is built, pushed, created or tagged."""
    marker = content_tag(settings, registry, host, engine)
    existing = existing_image(registry, settings, marker)
    if marker is None:
        actions_runtime.warning("push: false: the image would carry no inputs tag")
    else:
        held = f"holds it: {existing.digest}" if existing else "does not hold it: a push builds"
        actions_runtime.info(f"push: false: {settings.repository}:{marker}; the registry {held}")
    digest = existing.digest if existing else None
    report(settings, host, Published(digest, existing is not None, None, marker))
    return 0


def report(
    settings: BuildSettings,
    host: str,
    published: Published,
    counts: Mapping[str, int] | None = None,
) -> None:
    """The step's outputs and its job summary."""
    image = f"{host}/{settings.repository}@{published.digest}" if published.digest else ""
    outputs = {
        "image": image,
        "digest": published.digest or "",
        "tags": ",".join(settings.tags),
        "tag": settings.tags[0],
        "inputs-tag": published.marker or "",
        "exists": "true" if published.skipped else "false",
        "registry": host,
        "skipped": "true" if published.skipped else "false",
    }
    for name, value in outputs.items():
        actions_runtime.set_output(name, value)
    actions_runtime.add_summary(_summary(settings, image, published, counts))


def _summary(
    settings: BuildSettings,
    image: str,
    published: Published,
    counts: Mapping[str, int] | None,
) -> str:
    rows = [
        ("image", f"`{image}`" if image else "none yet"),
        ("digest", f"`{published.digest}`" if published.digest else "none yet"),
        ("tags", ", ".join(f"`{tag}`" for tag in settings.tags)),
        ("inputs tag", f"`{published.marker}`" if published.marker else "none"),
    ]
    if settings.push:
        size = published.size
        rows.append(("size", f"{size / 1e6:.1f} MB" if size is not None else "unknown"))
        reused = "reused: an image from the same inputs existed"
        rows.append(("build", reused if published.skipped else "built and pushed"))
    else:
        held = "the registry holds it" if published.skipped else "a push builds it"
        rows.append(("build", f"push: false, nothing built or pushed: {held}"))
    if counts is not None:
        rows.append(("scan", ", ".join(f"{s} {n}" for s, n in counts.items() if n) or "clean"))
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return f"### build-push\n\n| | |\n| --- | --- |\n{table}"


def existing_image(
    registry: Registry, settings: BuildSettings, marker: str | None
) -> ImageManifest | None:
    """The image already pushed under the inputs tag, when there is one to reuse."""
    return registry.find_image(settings.repository, marker) if marker else None
