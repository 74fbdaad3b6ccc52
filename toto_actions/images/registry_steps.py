"""The steps build-push takes with the registry around a build, each reporting to the log:
the base images' digests, the layer cache's source and marks, the digest confirmed, the size,
the scan. A failure that only costs a rebuild or a figure is a warning, never the step's end.
"""

from __future__ import annotations

import time

from toto_actions import actions_runtime
from toto_actions.errors import OperationError
from toto_actions.http_retry import RetryPolicy
from toto_actions.images import dockerfile
from toto_actions.images.build_options import BuildSettings
from toto_actions.images.manifests import platform_manifests
from toto_actions.images.names import ImageManifest, ImageReference, is_index
from toto_actions.images.registry import Registry

# ECR's severities, the most severe first (botocore's FindingSeverity).
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")

_BASE_LOOKUP_RETRY = RetryPolicy(attempts=2, base_delay=0.5)


def base_images(settings: BuildSettings, registry: Registry, host: str) -> tuple[str, ...] | None:
    """Each base image of the Dockerfile as reference@digest, the digest asked of its registry
    (one HEAD a base, none for a pinned one; with the push's login when the base is on the push's
    registry). None, with a warning a base, when one cannot be known: then the build runs and
    reuses nothing, since a moved base tag would go unseen (a failed lookup costs a build, never
    a stale image)."""
    from toto_actions.images.registry_v2 import reference_digest  # requests: only when building

    text = settings.dockerfile.read_text(encoding="utf-8", errors="surrogateescape")
    digests: dict[ImageReference, str | None] = {}
    unknown = False
    for base in dockerfile.base_images(text, settings.build_args):
        problem = base.problem
        if base.reference is not None and base.reference not in digests:
            login = registry.auth_config() if base.reference.registry == host else None
            try:
                digests[base.reference] = reference_digest(
                    base.reference, login, _BASE_LOOKUP_RETRY
                )
            except OperationError as failure:
                digests[base.reference], problem = None, str(failure)
        if base.reference is not None and digests[base.reference] is None:
            problem = problem or f"{base.reference} is not in its registry"
        if problem is not None:
            actions_runtime.warning(
                f"{settings.dockerfile}:{base.line}: FROM {base.text}: its digest is unknown "
                f"({problem}): building, reusing no earlier image"
            )
            unknown = True
    if unknown:
        return None
    return tuple(str(reference._replace(digest=digest)) for reference, digest in digests.items())


def cache_source(registry: Registry, settings: BuildSettings) -> str | None:
    """The image whose layers the build may reuse, when the layer cache is wanted and the user
    named no cache source; a registry that cannot say is a warning, and the build goes on
    without it."""
    if not settings.layer_cache or settings.cache_from or settings.no_cache:
        return None
    try:
        source = registry.cache_source(settings.repository, settings.branch)
    except OperationError as problem:
        actions_runtime.warning(f"layer cache: no cache source, the lookup failed: {problem}")
        return None
    found = f"from {source}" if source else "none yet: this build fills it"
    of = f"branch {settings.branch}" if settings.branch else "the repository"
    actions_runtime.info(f"layer cache of {of}: {found}")
    return source


def mark_cache(registry: Registry, settings: BuildSettings, image: ImageManifest) -> None:
    """Make image the next build's cache source; a failure is a warning: the image is pushed
    and tagged by then."""
    try:
        registry.mark_cache(settings.repository, image, settings.branch)
    except OperationError as problem:
        actions_runtime.warning(
            f"layer cache: {image.digest} is not marked as the newest: {problem}"
        )


def image_size(registry: Registry, repository: str, image: ImageManifest) -> int | None:
    """The pushed size, or None (unknown): never an error, since the tags have moved by then."""
    try:
        return registry.image_size(repository, image)
    except OperationError as problem:
        actions_runtime.warning(f"the size of {repository}@{image.digest} is unknown: {problem}")
        return None


def confirm(registry: Registry, settings: BuildSettings, digest: str) -> None:
    """The registry must serve every tag at the digest that will be reported."""
    for tag in settings.tags:
        served = registry.digest_of(settings.repository, tag)
        if served != digest:
            raise OperationError(
                f"{settings.repository}:{tag} is served at {served or 'no digest'}, "
                f"not the pushed {digest}"
            )


def scan(
    registry: Registry, settings: BuildSettings, image: ImageManifest
) -> dict[str, int] | None:
    """The registry's scan-on-push counts; a finding at or above the threshold fails the step.

    ECR scans images, never an index ("cannot be scanned"): for an index each platform's image
    is waited for and judged, BuildKit's attestation manifests left out, and the counts added
    up. The wait for them all shares one scan timeout."""
    threshold = settings.scan_threshold
    if threshold is None:
        return None
    if is_index(image):
        scanned = [(m.digest, f" ({m.platform})") for m in platform_manifests(image.manifest)]
        if not scanned:
            raise OperationError(
                f"{settings.repository}@{image.digest} is an index that lists no image to scan"
            )
    else:
        scanned = [(image.digest, "")]
    deadline = time.monotonic() + settings.scan_timeout
    total: dict[str, int] = {}
    for digest, platform in scanned:
        with actions_runtime.group(f"Scan of {settings.repository}@{digest}{platform}"):
            timeout = max(deadline - time.monotonic(), 1.0)
            counts = registry.scan_findings(settings.repository, digest, timeout, 5.0)
        if counts is None:
            actions_runtime.warning("--scan-severity-threshold applies to ECR only: no scan here")
            return None
        found = _judged(f"{settings.repository}@{digest}{platform}", threshold, counts)
        total = {severity: total.get(severity, 0) + found[severity] for severity in SEVERITIES}
    return total


def _judged(image: str, threshold: str, counts: dict[str, int]) -> dict[str, int]:
    """image's counts per severity, each severity listed; OperationError at or above threshold."""
    blocking = SEVERITIES[: SEVERITIES.index(threshold) + 1]
    found = {severity: counts.get(severity, 0) for severity in SEVERITIES}
    listed = ", ".join(f"{severity} {count}" for severity, count in found.items() if count)
    if any(found[severity] for severity in blocking):
        raise OperationError(f"the scan of {image} found {listed}: at or above {threshold}")
    actions_runtime.info(f"scan: {listed or 'no findings'}")
    return found
