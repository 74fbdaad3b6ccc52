"""Amazon ECR through boto3: every ECR call of build-push, and nothing else talks to ECR.

The registry's login (GetAuthorizationToken, masked, fetched again when it nears its expiry), the
repository (found, or created with scan-on-push and a lifecycle policy), manifests read and tagged
through the API (BatchGetImage, PutImage: a retag pushes no layer), digests and sizes
(DescribeImages) and the scan-on-push result (ecr_scanning.py). The registry is the caller's
account's, or the one a registry host names (`<account>.dkr.ecr.<region>.amazonaws.com`, maybe
another account's): every repository-level call then carries that account as its registryId,
and the login (which covers every registry the caller may reach) is handed to the engine for
that host. boto3 finds the endpoint (AWS_ENDPOINT_URL), the credentials and the profile as it
always does; retries are botocore's standard mode. Every failure of boto3 or of ECR becomes a
UsageError or an OperationError of one line, with ECR's error code and message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, TypedDict
from urllib.parse import urlsplit

import boto3  # type: ignore[import-untyped, unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]
from botocore.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    BotoCoreError,
    ClientError,
)

from toto_actions import actions_runtime
from toto_actions.errors import OperationError, UsageError
from toto_actions.images import ecr_scanning
from toto_actions.images.aws_errors import (
    NO_CREDENTIALS,
    NO_REGION,
    aws_errors,
    decode_token,
    error_code,
    one_line,
)
from toto_actions.images.manifests import declared_media_type
from toto_actions.images.names import (
    MANIFEST_MEDIA_TYPES,
    ImageManifest,
    TagMutability,
    branch_tag,
    ecr_account,
    is_branch_tag,
    is_index,
)
from toto_actions.images.registry import RepositorySettings

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.literals import ImageTagMutabilityType
    from mypy_boto3_ecr.type_defs import ImageDetailTypeDef, ImageIdentifierTypeDef

# Fetch the login again this long before ECR says it expires (tokens last 12 hours), so that a
# long build never pushes with a token that runs out halfway.
TOKEN_REFRESH_MARGIN = 600.0
RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 6},
    connect_timeout=10,
    read_timeout=60,
)
TAG_MUTABILITIES: tuple[ImageTagMutabilityType, ...] = ("MUTABLE", "IMMUTABLE")
# BatchGetImage failures that only say the image is not there.
_ABSENT_IMAGE_CODES = frozenset({"ImageNotFound", "ImageTagDoesNotMatchDigest"})


class RegistryId(TypedDict, total=False):
    """The registryId of every repository-level call: absent for the caller's own registry."""

    registryId: str


class RegistryCredentials(NamedTuple):
    """The login of an ECR registry, as `docker login` (or the engine's auth_config) takes it."""

    username: str
    password: str  # masked before it is returned
    registry: str  # the caller's own registry host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    expires_at: float  # epoch seconds


class EcrRegistry:
    """One ECR registry in one region (the caller's account's, or the one `host` names), through
    one boto3 client."""

    def __init__(
        self,
        region: str | None,
        *,
        host: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Make the client; UsageError when boto3 finds no region or no credentials.

        The region is the argument (the host's region, else the command's --aws-region, which
        falls back on AWS_REGION), else what boto3 finds (AWS_DEFAULT_REGION, the profile).
        `host`, an ECR registry host, is where images go, and the account it names is the
        registryId of every repository-level call; None: the caller's account's registry.
        `clock` tells the time the token's expiry is compared with.
        """
        self._clock = clock
        self._credentials: RegistryCredentials | None = None
        self._host = host
        account = ecr_account(host) if host else None
        self._registry_id: RegistryId = {"registryId": account} if account else {}
        try:
            session = boto3.Session(region_name=region or None)
            if not session.region_name:
                raise UsageError(NO_REGION)
            if session.get_credentials() is None:
                raise UsageError(NO_CREDENTIALS)
            self._client: ECRClient = session.client("ecr", config=RETRY_CONFIG)
        except BotoCoreError as failure:  # a missing profile, an unreadable config file
            raise UsageError(f"AWS configuration: {one_line(str(failure))}") from failure

    def credentials(self) -> RegistryCredentials:
        """The registry's login (GetAuthorizationToken), cached until it is within
        TOKEN_REFRESH_MARGIN of its expiry; its password is masked before it is returned."""
        cached = self._credentials
        if cached is not None and self._clock() < cached.expires_at - TOKEN_REFRESH_MARGIN:
            return cached
        # No registryIds (deprecated): the token covers every registry the caller may reach.
        with aws_errors("ECR GetAuthorizationToken"):
            answer = self._client.get_authorization_token()
        data = answer.get("authorizationData") or [{}]
        token = data[0].get("authorizationToken", "")
        username, password = decode_token(token)
        # Masked before anything else happens with them: the password, and the token that holds it.
        actions_runtime.mask(password)
        actions_runtime.mask(token)
        expires_at = data[0].get("expiresAt")
        endpoint = data[0].get("proxyEndpoint", "")
        self._credentials = RegistryCredentials(
            username=username,
            password=password,
            registry=urlsplit(endpoint).netloc or endpoint,
            expires_at=expires_at.timestamp() if expires_at else self._clock(),
        )
        return self._credentials

    @property
    def host(self) -> str:
        """The registry host images go to, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com:
        the one given, else the caller's own registry."""
        return self._host or self.credentials().registry

    def auth_config(self) -> dict[str, str]:
        """The login for one push to host, fetched again when it nears its expiry."""
        credentials = self.credentials()
        return {
            "username": credentials.username,
            "password": credentials.password,
            "serveraddress": self._host or credentials.registry,
        }

    def tag_mutability(self, repository: str, settings: RepositorySettings) -> TagMutability:
        """The repository's tag mutability, exclusion filters applied; for a missing one, the
        settings' (a UsageError when they do not let it be created)."""
        mutability = self.repository_mutability(repository)
        if mutability is None and not settings.create:
            _missing_repository(repository)
        return mutability or TagMutability(_tag_mutability(settings.tag_mutability))

    def repository_mutability(self, repository: str) -> TagMutability | None:
        """The repository's tag mutability with its WILDCARD exclusion filters
        (DescribeRepositories), or None when the repository is missing."""
        with aws_errors(f"ECR DescribeRepositories {repository}"):
            try:
                answer = self._client.describe_repositories(
                    **self._registry_id, repositoryNames=[repository]
                )
            except ClientError as failure:
                if error_code(failure) != "RepositoryNotFoundException":
                    raise
                return None
        found: dict[str, Any] = dict((answer.get("repositories") or [{}])[0])
        filters = found.get("imageTagMutabilityExclusionFilters") or []
        return TagMutability(
            str(found.get("imageTagMutability", "MUTABLE")),
            tuple(str(f["filter"]) for f in filters if f.get("filterType") == "WILDCARD"),
        )

    def ensure_repository(self, repository: str, settings: RepositorySettings) -> bool:
        """Make sure the repository exists; True when this call created it (with scan-on-push,
        the settings' tag mutability and, unless None, lifecycle policy). An existing repository
        is left as it is, its policy included. A missing repository the settings may not create
        is a UsageError; a policy ECR refuses is an OperationError, and the repository created
        for it is deleted again, so that the next run creates it with its policy."""
        mutability = _tag_mutability(settings.tag_mutability)
        if self.repository_mutability(repository) is not None:
            return False
        if not settings.create:
            _missing_repository(repository)
        with aws_errors(f"ECR CreateRepository {repository}"):
            try:
                self._client.create_repository(
                    **self._registry_id,
                    repositoryName=repository,
                    imageTagMutability=mutability,
                    imageScanningConfiguration={"scanOnPush": True},
                )
            except ClientError as failure:
                # Another job (the same service's other environment) created it meanwhile.
                if error_code(failure) != "RepositoryAlreadyExistsException":
                    raise
                return False
        if settings.lifecycle_policy is not None:
            self._put_lifecycle_policy(repository, settings.lifecycle_policy)
        return True

    def _put_lifecycle_policy(self, repository: str, policy: str) -> None:
        """PutLifecyclePolicy on the repository just created; when it fails, delete the
        repository again (DeleteRepository without force: only while it holds no image)."""
        try:
            with aws_errors(f"ECR PutLifecyclePolicy {repository}"):
                self._client.put_lifecycle_policy(
                    **self._registry_id, repositoryName=repository, lifecyclePolicyText=policy
                )
        except (UsageError, OperationError) as failure:
            try:
                with aws_errors(f"ECR DeleteRepository {repository}"):
                    self._client.delete_repository(**self._registry_id, repositoryName=repository)
            except (UsageError, OperationError) as cleanup:
                raise type(failure)(
                    f"{failure}; the repository was created without it and could not be "
                    f"deleted again ({cleanup}): put its lifecycle policy by hand"
                ) from failure
            raise type(failure)(
                f"{failure}; the repository created for it was deleted again"
            ) from failure

    def find_image(self, repository: str, tag: str) -> ImageManifest | None:
        """The manifest repository:tag points to, exactly as stored; None when there is none."""
        what = f"ECR BatchGetImage {repository}:{tag}"
        with aws_errors(what):
            try:
                answer = self._client.batch_get_image(
                    **self._registry_id,
                    repositoryName=repository,
                    imageIds=[{"imageTag": tag}],
                    acceptedMediaTypes=list(MANIFEST_MEDIA_TYPES),
                )
            except ClientError as failure:
                if error_code(failure) != "RepositoryNotFoundException":
                    raise
                return None
        for missing in answer.get("failures", []):
            code = missing.get("failureCode", "")
            if code not in _ABSENT_IMAGE_CODES:
                raise OperationError(f"{what} failed: {code}: {missing.get('failureReason', '')}")
        images = answer.get("images", [])
        if not images:
            return None
        image = images[0]
        manifest = image.get("imageManifest", "")
        media_type = image.get("imageManifestMediaType") or declared_media_type(manifest)
        digest = image.get("imageId", {}).get("imageDigest", "")
        if not (manifest and media_type and digest):
            raise OperationError(f"{what}: ECR answered without a manifest, media type or digest")
        return ImageManifest(manifest=manifest, media_type=media_type, digest=digest)

    def put_tags(self, repository: str, image: ImageManifest, tags: Sequence[str]) -> None:
        """Point each tag at image (PutImage, no layer moves). A tag that already points there
        is fine, so a re-run on an IMMUTABLE repository succeeds; an immutable tag (IMMUTABLE,
        or kept so by the exclusion filters) on another image is an OperationError."""
        for tag in tags:
            with aws_errors(f"ECR PutImage {repository}:{tag}"):
                try:
                    self._client.put_image(
                        **self._registry_id,
                        repositoryName=repository,
                        imageManifest=image.manifest,
                        imageManifestMediaType=image.media_type,
                        imageTag=tag,
                        imageDigest=image.digest,
                    )
                except ClientError as failure:
                    code = error_code(failure)
                    if code == "ImageTagAlreadyExistsException":
                        _tag_taken(repository, tag)
                    if code != "ImageAlreadyExistsException":
                        raise
                    # ECR means "this tag already names this manifest"; make sure of it, since
                    # an emulator (moto) answers the same when the tag names another image.
                    if self.digest_of(repository, tag) != image.digest:
                        _tag_taken(repository, tag)

    def digest_of(self, repository: str, tag: str) -> str | None:
        """The digest repository:tag points to (DescribeImages), or None when it points nowhere."""
        details = self._describe_image(repository, {"imageTag": tag}, f"{repository}:{tag}")
        return details.get("imageDigest") if details else None

    def cache_source(self, repository: str, branch: str | None) -> str | None:
        """The newest tagged image by push time (DescribeImages, every page) that carries the
        branch's tag, else the newest tagged image of the repository, as
        `host/repository@sha256:...`; None when the repository is missing or has none. An image
        index's platform and attestation manifests, which ECR lists untagged, are never chosen.
        No tag moves: IMMUTABLE repositories work alike."""
        images: list[ImageDetailTypeDef] = []
        with aws_errors(f"ECR DescribeImages {repository}"):
            try:
                pages = self._client.get_paginator("describe_images").paginate(
                    **self._registry_id,
                    repositoryName=repository,
                    filter={"tagStatus": "TAGGED"},
                    PaginationConfig={"PageSize": 1000},  # ECR's largest page: fewest calls
                )
                for page in pages:
                    images += page.get("imageDetails", [])
            except ClientError as failure:
                if error_code(failure) != "RepositoryNotFoundException":
                    raise
                return None
        pushed = [
            image
            for image in images
            if image.get("imagePushedAt") and image.get("imageDigest") and image.get("imageTags")
        ]
        of_branch = [
            image
            for image in pushed
            if branch and any(is_branch_tag(tag, branch) for tag in image.get("imageTags", []))
        ]
        candidates = of_branch or pushed
        if not candidates:
            return None
        newest = max(candidates, key=lambda image: image["imagePushedAt"])
        return f"{self.host}/{repository}@{newest['imageDigest']}"

    def mark_cache(self, repository: str, image: ImageManifest, branch: str | None) -> None:
        """Tag image as the branch's with a tag of its own (never moved, so IMMUTABLE
        repositories take it); nothing without a branch: the push time is enough then."""
        tag = branch_tag(branch, image.digest) if branch else None
        if tag is not None:
            self.put_tags(repository, image, (tag,))

    def image_size(self, repository: str, image: ImageManifest) -> int | None:
        """The image's size in bytes as ECR reports it, or None when there is no such image. An
        image index (manifest list) has no one size: ECR reports its largest manifest's, which
        would read as the whole; None (unknown) instead."""
        if is_index(image):
            return None
        digest = image.digest
        details = self._describe_image(
            repository, {"imageDigest": digest}, f"{repository}@{digest}"
        )
        return details.get("imageSizeInBytes") if details else None

    def scan_findings(
        self, repository: str, digest: str, timeout: float, poll_interval: float
    ) -> dict[str, int]:
        """The image's scan result as counts per severity, once the scan is complete (see
        ecr_scanning.scan_findings)."""
        return ecr_scanning.scan_findings(
            self._client, self._registry_id, f"{repository}@{digest}", timeout, poll_interval
        )

    def scans_on_push(self, repository: str) -> bool | None:
        """Whether ECR scans an image pushed to repository (see ecr_scanning.scans_on_push)."""
        return ecr_scanning.scans_on_push(self._client, self._registry_id, repository)

    def _describe_image(
        self, repository: str, image_id: ImageIdentifierTypeDef, image: str
    ) -> ImageDetailTypeDef | None:
        """DescribeImages of one image, or None when the image or the repository is missing."""
        with aws_errors(f"ECR DescribeImages {image}"):
            try:
                answer = self._client.describe_images(
                    **self._registry_id,
                    repositoryName=repository,
                    imageIds=[image_id],
                )
            except ClientError as failure:
                if error_code(failure) not in {
                    "ImageNotFoundException",
                    "RepositoryNotFoundException",
                }:
                    raise
                return None
        details = answer.get("imageDetails", [])
        return details[0] if details else None


def _tag_taken(repository: str, tag: str) -> NoReturn:
    raise OperationError(
        f"ECR repository {repository} keeps the tag {tag} immutable and {repository}:{tag} "
        "already points to another image: use a new tag"
    )


def _missing_repository(repository: str) -> NoReturn:
    raise UsageError(
        f"ECR repository {repository} does not exist: create it, or pass --create-repository true"
    )


def _tag_mutability(value: str) -> ImageTagMutabilityType:
    for mutability in TAG_MUTABILITIES:
        if value.upper() == mutability:
            return mutability
    raise UsageError(f"--tag-mutability must be MUTABLE or IMMUTABLE, not {value!r}")
