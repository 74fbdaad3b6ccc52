"""Image names, tags and manifests: the rules of registries, as plain values.

Shared by the registry adapters (ecr.py, registry_v2.py) and the build-push command.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

# The distribution spec's rules: a repository is lower-case path components, with separators
# between letters and digits; a tag is up to 128 word characters, dots and dashes, not starting
# with either. ECR's components take one separator at a time, and its names 2 characters or more.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_ECR_COMPONENT = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_ECR_REPOSITORY = re.compile(rf"(?=.{{2,256}}$){_ECR_COMPONENT}(?:/{_ECR_COMPONENT})*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_ECR_HOST = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
)

# Manifest media types a registry may answer with, the single-image ones first.
MANIFEST_MEDIA_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)


# An OCI image index or a Docker manifest list: a manifest of manifests (one per platform).
INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    }
)


class TagMutability(NamedTuple):
    """An ECR repository's tag mutability (botocore's ImageTagMutability) and the WILDCARD
    filters of its imageTagMutabilityExclusionFilters: which tags may not move to another image.

    IMMUTABLE_WITH_EXCLUSION: every tag is immutable but those a filter matches;
    MUTABLE_WITH_EXCLUSION: every tag moves but those a filter matches. A filter is a tag in
    which `*` stands for any run of characters, none included (ECR's wildcard); everything else
    is literal and the whole tag must match, case included.
    """

    setting: str  # MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION
    exclusions: tuple[str, ...] = ()

    def is_immutable(self, tag: str) -> bool:
        """Whether ECR refuses to move tag once it names an image (False for a setting this
        toolkit does not know: ECR itself then refuses the write, which fails the step)."""
        excluded = any(wildcard_matches(pattern, tag) for pattern in self.exclusions)
        if self.setting == "IMMUTABLE_WITH_EXCLUSION":
            return not excluded
        if self.setting == "MUTABLE_WITH_EXCLUSION":
            return excluded
        return self.setting == "IMMUTABLE"

    def __str__(self) -> str:
        if not self.exclusions:
            return self.setting
        return f"{self.setting} (exclusion filters {', '.join(self.exclusions)})"


def wildcard_matches(pattern: str, tag: str) -> bool:
    """Whether tag matches an ECR WILDCARD filter: `*` is any run of characters."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), tag) is not None


class ImageManifest(NamedTuple):
    """A manifest exactly as the registry stores it, its media type and its digest."""

    manifest: str
    media_type: str
    digest: str  # sha256:<hex>


def is_index(image: ImageManifest) -> bool:
    """Whether the manifest is an index of images (OCI image index, Docker manifest list)."""
    return image.media_type in INDEX_MEDIA_TYPES


def is_repository_name(name: str, *, ecr: bool = False) -> bool:
    """Whether name is an image repository name by the distribution spec (up to 256
    characters), or by ECR's stricter rule when `ecr`."""
    if ecr:
        return bool(_ECR_REPOSITORY.fullmatch(name))
    return len(name) <= 256 and bool(_REPOSITORY.fullmatch(name))


def is_tag(tag: str) -> bool:
    return bool(_TAG.fullmatch(tag))


# build-push's own tags for the layer cache: on a v2 registry, CACHE_TAG (the repository's newest
# image) and CACHE_TAG-<branch> (the branch's) move to each image pushed; on ECR, whose tags may
# be immutable, each image of a branch gets a tag of its own, BRANCH_TAG_PREFIX<branch>-<digest>,
# and the newest is found by its push time.
CACHE_TAG = "toto-cache"
BRANCH_TAG_PREFIX = "toto-branch-"
_UNSAFE_IN_TAG = re.compile(r"[^A-Za-z0-9_.-]+")
_SLUG_LENGTH = 80
_DIGEST_IN_TAG = 12


def branch_slug(branch: str) -> str:
    """The branch as a tag can hold it (`feature/login` -> `feature-login`), at most 80
    characters (a longer one keeps a hash of the whole); "" when nothing of it is left."""
    slug = _UNSAFE_IN_TAG.sub("-", branch).strip("-.")
    if len(slug) > _SLUG_LENGTH:
        whole = hashlib.sha256(branch.encode("utf-8")).hexdigest()[:8]
        slug = f"{slug[: _SLUG_LENGTH - 9].rstrip('-.')}-{whole}"
    return slug


def cache_tag(branch: str | None) -> str:
    """The v2 tag that names the newest image of the branch (None: of the repository)."""
    slug = branch_slug(branch) if branch else ""
    return f"{CACHE_TAG}-{slug}" if slug else CACHE_TAG


def branch_tag(branch: str, digest: str) -> str | None:
    """The ECR tag that marks image `digest` as built on branch (None: no usable branch)."""
    slug = branch_slug(branch)
    return (
        f"{BRANCH_TAG_PREFIX}{slug}-{digest.removeprefix('sha256:')[:_DIGEST_IN_TAG]}"
        if slug
        else None
    )


def is_branch_tag(tag: str, branch: str) -> bool:
    """Whether tag is a branch_tag of branch (of any image)."""
    slug = branch_slug(branch)
    rest = tag.removeprefix(BRANCH_TAG_PREFIX)
    return bool(slug) and rest != tag and rest.rpartition("-")[0] == slug


def ecr_region(host: str) -> str | None:
    """The AWS region of an ECR registry host, or None when host is not an ECR registry."""
    match = _ECR_HOST.fullmatch(host)
    return match["region"] if match else None


def ecr_account(host: str) -> str | None:
    """The AWS account (ECR's registryId) whose registry host is, or None when host is not an
    ECR registry."""
    match = _ECR_HOST.fullmatch(host)
    return match["account"] if match else None


# The operating systems and architectures BuildKit's platform parser knows (containerd's).
PLATFORM_OSES = frozenset(
    {"linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix"}
)
PLATFORM_ARCHITECTURES = frozenset(
    {"amd64", "arm64", "arm", "386", "ppc64le", "ppc64", "s390x", "riscv64"}
    | {"mips64le", "mips64", "mipsle", "mips", "loong64"}
)
_VARIANT = re.compile(r"v[1-9][0-9]?")


# Variants an architecture implies, dropped by containerd's normalisation (platforms/database.go).
_IMPLIED_VARIANTS = frozenset({("arm64", "v8"), ("arm64", "8"), ("amd64", "v1")})


def normalize_platform(platform: str) -> str:
    """platform as BuildKit names it (containerd's platforms.Normalize): an `arm64` variant v8
    and an `amd64` variant v1 are the architecture itself, a bare `arm` is `arm/v7`, and
    `linux/arm64/v8` is `linux/arm64` (what a builder lists and an index records)."""
    parts = platform.strip().split("/")
    if len(parts) == 3 and (parts[1], parts[2]) in _IMPLIED_VARIANTS:
        return "/".join(parts[:2])
    if len(parts) == 2 and parts[1] == "arm":
        return f"{parts[0]}/arm/v7"
    return "/".join(parts)


def platform_problem(platform: str) -> str | None:
    """None for a platform BuildKit knows (`linux/arm64`, `linux/arm/v7`), else why not."""
    parts = platform.split("/")
    if (
        len(parts) in {2, 3}
        and parts[0] in PLATFORM_OSES
        and parts[1] in PLATFORM_ARCHITECTURES
        and (len(parts) == 2 or _VARIANT.fullmatch(parts[2]))
    ):
        return None
    return (
        f"{platform!r} is not a platform: OS/ARCH[/VARIANT], e.g. linux/amd64, linux/arm64, "
        "linux/arm/v7"
    )


# Docker Hub: the registry an image name without a registry part is on, and the repository
# namespace of its one-component names (`python` is `library/python`).
DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io"})
_DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")


class ImageReference(NamedTuple):
    """An image reference as docker normalises it: `python:3.12` is
    docker.io/library/python:3.12. A reference without tag or digest names `latest`."""

    registry: str  # docker.io, ghcr.io, localhost:5000
    repository: str  # library/python
    tag: str | None
    digest: str | None  # sha256:...: the reference is pinned

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag is not None else ""
        digest = f"@{self.digest}" if self.digest is not None else ""
        return f"{self.registry}/{self.repository}{tag}{digest}"


def parse_reference(text: str) -> ImageReference:
    """text as docker reads `FROM text`, normalised; ValueError saying what is wrong otherwise.

    The first path component is the registry when it has a dot or a colon, is `localhost` or has
    upper-case letters (docker's rule); otherwise the image is on Docker Hub.
    """
    name, _, digest = text.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise ValueError(f"{text!r}: {digest!r} is not a digest (algorithm:hex)")
    slash, colon = name.rfind("/"), name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not is_tag(tag):
            raise ValueError(f"{text!r}: {tag!r} is not a valid tag")
    first, separator, rest = name.partition("/")
    if separator and (
        "." in first or ":" in first or first == "localhost" or first.lower() != first
    ):
        registry, repository = first, rest
    else:
        registry, repository = DOCKER_HUB, name
    if registry in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in repository:
            repository = f"library/{repository}"
    if not is_repository_name(repository):
        raise ValueError(f"{text!r}: {repository!r} is not a valid repository name")
    if tag is None and not digest:
        tag = "latest"
    return ImageReference(registry, repository, tag, digest or None)
