"""The ECR layer cache source is a tagged image: never an image index's untagged platform or
attestation manifest, which ECR lists as images of their own (DescribeImages) with push times
of their own.

botocore's ECR model (data/ecr/2015-09-21/service-2.json): DescribeImages takes
`filter.tagStatus` (TAGGED, UNTAGGED, ANY). moto 5 ignores that filter in DescribeImages (it reads
it in ListImages only), so it answers the untagged manifests too: the filter sent is checked
through a recording proxy, and what is chosen among moto's answers is checked too.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from testing.ecr_images import OCI_MANIFEST, oci_manifest_json, put_image, put_untagged
from testing.local_stack import MotoServer
from testing.recording_proxy import RecordingProxy
from toto_actions.images.ecr import EcrRegistry

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient


def test_the_cache_source_is_never_an_untagged_platform_or_attestation_manifest(
    aws_env: MotoServer,
    ecr_client: ECRClient,
    repository: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tagged image, then, a second later (imagePushedAt counts seconds), the untagged
    platform and attestation manifests of an index whose push did not finish: the newest image
    by push time that can seed a build is the tagged one."""
    ecr_client.create_repository(repositoryName=repository)
    tagged = put_image(ecr_client, repository, "toto-inputs-1", b"layer one")
    time.sleep(1.1)
    for layer, media_type in (
        (b"platform layer", "application/vnd.oci.image.layer.v1.tar+gzip"),
        (b'{"predicateType": "https://slsa.dev/provenance/v0.2"}', "application/vnd.in-toto+json"),
    ):
        put_untagged(ecr_client, repository, oci_manifest_json(layer, media_type), OCI_MANIFEST)
    described = ecr_client.describe_images(repositoryName=repository)["imageDetails"]
    assert sorted(len(image.get("imageTags", [])) for image in described) == [0, 0, 1]

    with RecordingProxy(aws_env.endpoint_url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        registry = EcrRegistry(None)
        chosen = {branch: registry.cache_source(repository, branch) for branch in (None, "new")}

    expected = f"{registry.host}/{repository}@{tagged.digest}"
    assert chosen == {None: expected, "new": expected}
    filters = [body.get("filter") for body in proxy.bodies("DescribeImages")]
    assert filters and filters == [{"tagStatus": "TAGGED"}] * len(filters)
