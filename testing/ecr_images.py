"""Images put into moto's ECR through its API, as a push would leave them: manifests whose
blobs need not exist, under digests that are ECR's own (the sha256 of the manifest's bytes)."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import requests

from toto_actions.images.ecr import RegistryId
from toto_actions.images.names import ImageManifest

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient

    from testing.local_stack import MotoServer

DOCKER_MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def manifest_json(layer: bytes) -> str:
    """A Docker v2 image manifest as `docker push` sends it (the blobs need not exist)."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST_V2,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1469,
                "digest": sha256(b"config-" + layer),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 2811,
                    "digest": sha256(layer),
                }
            ],
        },
        indent=3,
    )


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def put_image(
    client: ECRClient, repository: str, tag: str, layer: bytes, registry_id: str | None = None
) -> ImageManifest:
    """Push a manifest as the engine would; its digest is ECR's (sha256 of its bytes), passed
    explicitly because moto would otherwise compute one of its own. `registry_id`: into that
    account's registry."""
    manifest = manifest_json(layer)
    digest = put_manifest(
        client, repository, manifest, DOCKER_MANIFEST_V2, tag=tag, registry_id=registry_id
    )
    return ImageManifest(manifest, DOCKER_MANIFEST_V2, digest)


def put_manifest(
    client: ECRClient,
    repository: str,
    manifest: str,
    media_type: str,
    *,
    tag: str | None = None,
    registry_id: str | None = None,
) -> str:
    """Put manifest, tagged or not, under ECR's digest (the sha256 of its bytes, passed
    explicitly because moto would otherwise compute one of its own); returns that digest."""
    digest = sha256(manifest.encode())
    tagged = {} if tag is None else {"imageTag": tag}
    client.put_image(
        **in_registry(registry_id),
        **tagged,
        repositoryName=repository,
        imageManifest=manifest,
        imageManifestMediaType=media_type,
        imageDigest=digest,
    )
    return digest


def in_registry(account: str | None) -> RegistryId:
    """The registryId argument of a call into account's registry (none: the caller's)."""
    return {"registryId": account} if account else {}


OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def oci_manifest_json(layer: bytes, layer_media_type: str) -> str:
    """An OCI image manifest of one layer (the blobs need not exist): a platform's image with
    `application/vnd.oci.image.layer.v1.tar+gzip`, or an attestation manifest, whose layers are
    in-toto statements (`application/vnd.in-toto+json`), as buildx pushes them."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": 241,
                "digest": sha256(b"config-" + layer),
            },
            "layers": [
                {"mediaType": layer_media_type, "size": len(layer), "digest": sha256(layer)}
            ],
        }
    )


def put_untagged(client: ECRClient, repository: str, manifest: str, media_type: str) -> str:
    """Put manifest without a tag, as ECR holds the platform and attestation manifests of an
    image index (listed by DescribeImages as images of their own, untagged); its digest."""
    return put_manifest(client, repository, manifest, media_type)


def set_scan_findings(moto_server: MotoServer, results: list[dict[str, Any]]) -> None:
    """Have moto answer DescribeImageScanFindings with these results (each an imageScanFindings
    answer naming its repository and imageId) once a scan of the image is started: moto's API,
    POST /moto-api/static/ecr/scan-finding-results."""
    answer = requests.post(
        f"{moto_server.endpoint_url}/moto-api/static/ecr/scan-finding-results",
        json={
            "results": results,
            "region": moto_server.region,
            "account_id": moto_server.account_id,
        },
        timeout=10,
    )
    assert answer.status_code == 201
