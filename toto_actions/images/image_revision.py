"""What the registry says of an image a service runs: its digest, the commit its revision label
names, and a tag of it, read through the v2 API (registry_v2.py) and never written.

The label is the image configuration's `config.Labels["org.opencontainers.image.revision"]`
(image-spec config.md and annotations.md: "source control revision identifier"), which
build-push sets to the commit it built; the configuration is the blob the manifest's `config`
names (distribution-spec, pulling manifests and blobs). An index's images are each read, and
must agree. ECR serves the same API with its login (`AWS` and the GetAuthorizationToken
password, ecr.py).
"""

from __future__ import annotations

import json
from typing import Any

from toto_actions.errors import OperationError
from toto_actions.images.build_inputs import INPUTS_TAG_PREFIX
from toto_actions.images.manifests import platform_manifests
from toto_actions.images.names import (
    BRANCH_TAG_PREFIX,
    CACHE_TAG,
    ImageManifest,
    ImageReference,
    ecr_region,
    is_index,
)
from toto_actions.images.registry_v2 import RegistryClient

REVISION_LABEL = "org.opencontainers.image.revision"


def reader(
    host: str | None, username: str | None, password: str | None, aws_region: str | None
) -> RegistryClient:
    """A v2 client of host with these credentials; for an ECR host, or none (the caller's
    account's ECR registry in aws_region), with ECR's login (masked by ecr.py)."""
    if host and ecr_region(host) is None:
        return RegistryClient(host, username, password)
    from toto_actions.images.ecr import EcrRegistry  # boto3: only for ECR

    login = EcrRegistry(ecr_region(host) if host else aws_region, host=host).credentials()
    return RegistryClient(host or login.registry, login.username, login.password)


def digest_of(client: RegistryClient, reference: ImageReference) -> str:
    """The digest reference names: its own, else its tag's now; OperationError when the
    repository has no such tag."""
    if reference.digest is not None:
        return reference.digest
    tag = reference.tag or "latest"
    digest = client.digest_of(reference.repository, tag)
    if digest is None:
        raise OperationError(f"{reference} names no image in {client.host}: nothing to redeploy")
    return digest


def revision(client: RegistryClient, repository: str, digest: str) -> str:
    """The commit the image's revision label names; an index's images must all name the same.
    OperationError when the image is missing or an image has no such label."""
    image = _manifest(client, repository, digest)
    images = [image]
    if is_index(image):
        images = [
            _manifest(client, repository, p.digest) for p in platform_manifests(image.manifest)
        ]
        if not images:
            raise OperationError(f"{client.host}/{repository}@{digest} is an index of no image")
    named = {_label(client, repository, one) for one in images}
    if None in named:
        raise OperationError(
            f"{client.host}/{repository}@{digest} has no label {REVISION_LABEL}: its commit is "
            "unknown, nothing to redeploy"
        )
    if len(named) != 1:
        listed = ", ".join(sorted(str(n) for n in named))
        raise OperationError(
            f"{client.host}/{repository}@{digest}: its images' {REVISION_LABEL} labels differ "
            f"({listed}): nothing to redeploy"
        )
    return str(named.pop())


def tag_of(client: RegistryClient, repository: str, digest: str) -> str | None:
    """A tag of repository naming digest: build-push's content-addressed inputs tag when one
    does, else any other, build-push's moving cache and branch tags last; None when no tag
    names it. The v2 API has no lookup by digest: the tags are asked one by one."""
    ordered = sorted(client.tags(repository), key=_preference)
    for tag in ordered:
        if client.digest_of(repository, tag) == digest:
            return tag
    return None


def _preference(tag: str) -> int:
    """0 for an inputs tag (it never moves), 2 for a tag build-push moves, 1 for the others."""
    if tag.startswith(INPUTS_TAG_PREFIX):
        return 0
    return 2 if tag == CACHE_TAG or tag.startswith(BRANCH_TAG_PREFIX) else 1


def _manifest(client: RegistryClient, repository: str, digest: str) -> ImageManifest:
    image = client.find_image(repository, digest)
    if image is None or image.digest != digest:
        raise OperationError(f"{client.host}/{repository}@{digest} is not in the registry")
    return image


def _label(client: RegistryClient, repository: str, image: ImageManifest) -> str | None:
    """The revision label of one image's configuration; None when it has none."""
    manifest: dict[str, Any] = json.loads(image.manifest)
    config_digest = (manifest.get("config") or {}).get("digest")
    if not isinstance(config_digest, str):
        raise OperationError(f"{client.host}/{repository}@{image.digest} names no configuration")
    try:
        config = json.loads(client.blob(repository, config_digest))
    except ValueError as problem:
        raise OperationError(
            f"{client.host}/{repository}@{image.digest}: its configuration is not JSON"
        ) from problem
    labels = (config.get("config") or {}).get("Labels") or {} if isinstance(config, dict) else {}
    value = labels.get(REVISION_LABEL) if isinstance(labels, dict) else None
    return value if isinstance(value, str) and value else None
