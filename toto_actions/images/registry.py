"""What build-push needs of a registry, whichever it is, and the adapter that serves a host.

ECR (ecr.py) and any v2 registry (registry_v2.py) implement Registry; where a registry has no
such thing (a v2 registry keeps no tag mutability, creates no repository, scans nothing), its
adapter answers "not applicable" as the method says. A third registry (GHCR's package API,
Artifact Registry) is one adapter module and one branch of connect().
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from toto_actions.images.names import ImageManifest, TagMutability, ecr_region


@dataclass(frozen=True)
class RegistryAccess:
    """Which registry, and how to log in: a host (None: the caller's account's ECR registry in
    aws_region) with the user name and password for a v2 registry; ECR logs in with AWS's."""

    host: str | None = None
    username: str | None = None
    password: str | None = None
    aws_region: str | None = None


@dataclass(frozen=True)
class RepositorySettings:
    """How build-push may make a missing repository: whether it may (`create`; False: a missing
    one is a UsageError), the tag mutability it gets, and the lifecycle policy text put on it
    (None: none). A registry with no such settings ignores them."""

    tag_mutability: str = "MUTABLE"
    create: bool = True
    lifecycle_policy: str | None = None


class Registry(Protocol):
    """One registry, as the build-push command uses it."""

    @property
    def host(self) -> str:
        """The registry part of an image name: `123456789012.dkr.ecr.eu-west-1.amazonaws.com`."""
        ...

    def auth_config(self) -> dict[str, str] | None:
        """Credentials for one push, as the engine takes them (never written to disk); None:
        push without any."""
        ...

    def tag_mutability(self, repository: str, settings: RepositorySettings) -> TagMutability:
        """Which tags the repository refuses to move; for a missing repository, the mutability
        it will be created with, or a UsageError when it may not be created."""
        ...

    def ensure_repository(self, repository: str, settings: RepositorySettings) -> bool:
        """Make sure the repository exists before a push; True when this call created it, with
        the settings. An existing repository is left as it is."""
        ...

    def find_image(self, repository: str, tag: str) -> ImageManifest | None:
        """The manifest repository:tag names, exactly as stored; None when there is none."""
        ...

    def put_tags(self, repository: str, image: ImageManifest, tags: Sequence[str]) -> None:
        """Point each tag at image, a manifest already in repository: no layer moves."""
        ...

    def cache_source(self, repository: str, branch: str | None) -> str | None:
        """The image a build on branch takes its layer cache from: the newest image of the
        branch, else of the repository, as `host/repository@sha256:...`; None when there is
        none (a new repository). branch None: of the repository."""
        ...

    def mark_cache(self, repository: str, image: ImageManifest, branch: str | None) -> None:
        """Make image, just pushed or reused on branch, the one cache_source finds next (v2:
        moves build-push's cache tags; ECR: tags it as the branch's, a tag of its own)."""
        ...

    def digest_of(self, repository: str, tag: str) -> str | None:
        """The digest repository:tag names, or None when it names none."""
        ...

    def image_size(self, repository: str, image: ImageManifest) -> int | None:
        """The pushed size in bytes as the registry counts it; None when it is unknown."""
        ...

    def scan_findings(
        self, repository: str, digest: str, timeout: float, poll_interval: float
    ) -> dict[str, int] | None:
        """Counts per severity of the image's scan, once complete (waiting up to `timeout`);
        None when the registry does not scan images."""
        ...

    def scans_on_push(self, repository: str) -> bool | None:
        """Whether an image pushed to repository gets scanned; None when it cannot be told or
        the registry does not scan images."""
        ...


def connect(access: RegistryAccess) -> Registry:
    """The adapter for the host: ECR for an ECR host (the registry of the account it names, in
    its region: the API calls go where the image goes) or for none (the caller's account's
    registry in aws_region), else the host's v2 API with the access's credentials."""
    host = access.host
    region = ecr_region(host) if host else None
    if host and region is None:
        from toto_actions.images.registry_v2 import RegistryClient

        return RegistryClient(host, access.username, access.password)
    from toto_actions.images.ecr import EcrRegistry  # boto3: imported only for ECR

    return EcrRegistry(region or access.aws_region, host=host)
