"""The image a redeploy applies again, and its commit: the one image of the environment's image
repository that its ECS services run now, or (where the configuration names no ECS service) the
image build-push tagged with the deployed commit. Never a recomputed inputs tag (a moved base
tag would name no image), never a build: no image, an image of another repository, two images,
or no revision label is an OperationError, and nothing is applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from toto_actions import actions_runtime
from toto_actions.errors import OperationError
from toto_actions.images import image_revision
from toto_actions.images.names import ImageReference, parse_reference
from toto_actions.images.registry_v2 import RegistryClient
from toto_actions.rollout.running import ServiceImages

SHORT_COMMIT = 7  # build-push's default tag: the commit's first 7 digits (build_options.tags)


class DeployedImage(NamedTuple):
    """What deployed-commit reports: the commit, the image by digest, a tag of it, and where the
    commit came from (services: the running image's label; deployments: the records)."""

    sha: str
    image: str  # HOST/REPOSITORY@sha256:...
    image_tag: str
    source: str


class _Running(NamedTuple):
    digest: str
    service: str  # cluster/service, for messages


def running_image(
    services: Sequence[ServiceImages], client: RegistryClient, repository: str
) -> DeployedImage:
    """The one image of client.host/repository the services run, its commit and a tag of it."""
    home = f"{client.host}/{repository}"
    running: dict[str, list[str]] = {}
    others: list[str] = []
    for service in services:
        for text in service.images:
            reference = _reference(text, service.service.label)
            if (reference.registry, reference.repository) != (client.host, repository):
                others.append(f"{service.service.label} runs {text}")
                continue
            digest = image_revision.digest_of(client, reference)
            running.setdefault(digest, []).append(service.service.label)
    if not running:
        ran = f" ({', '.join(others)})" if others else ""
        raise OperationError(f"the services run no image of {home}{ran}: nothing to redeploy")
    for other in others:
        actions_runtime.info(f"left aside, not of {home}: {other}")
    if len(running) > 1:
        listed = ", ".join(
            f"{digest} ({', '.join(labels)})" for digest, labels in sorted(running.items())
        )
        raise OperationError(
            f"the services run {len(running)} images of {home}: {listed}: one image expected, "
            "nothing to redeploy"
        )
    [digest] = running
    return _deployed(client, repository, digest, "services")


def commit_image(client: RegistryClient, repository: str, sha: str) -> DeployedImage:
    """The image build-push tagged with sha's short commit in repository, whose revision label
    must be sha (a tag moves; the label is the image's own); OperationError otherwise."""
    tag = sha[:SHORT_COMMIT]
    digest = client.digest_of(repository, tag)
    if digest is None:
        raise OperationError(
            f"{client.host}/{repository} has no image tagged {tag} (build-push's tag of "
            f"{sha}): nothing to redeploy, nothing is built"
        )
    found = _deployed(client, repository, digest, "deployments")
    if found.sha != sha:
        raise OperationError(
            f"{client.host}/{repository}:{tag} is {digest}, whose {image_revision.REVISION_LABEL} "
            f"is {found.sha}, not {sha}: nothing to redeploy"
        )
    return found


def _deployed(client: RegistryClient, repository: str, digest: str, source: str) -> DeployedImage:
    sha = image_revision.revision(client, repository, digest)
    tag = image_revision.tag_of(client, repository, digest)
    if tag is None:
        raise OperationError(
            f"no tag of {client.host}/{repository} names {digest}: the redeploy needs one as "
            "image_tag"
        )
    return DeployedImage(sha, f"{client.host}/{repository}@{digest}", tag, source)


def _reference(text: str, service: str) -> ImageReference:
    try:
        return parse_reference(text)
    except ValueError as problem:
        raise OperationError(f"ECS service {service} runs an image named {problem}") from problem
