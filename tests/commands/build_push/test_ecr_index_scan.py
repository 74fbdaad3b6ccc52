"""build-push's scan threshold on an image index in ECR: each platform's image is waited for and
judged, BuildKit's attestation manifests are left out.

What ECR does, and moto with it: ECR scans images, not an index. StartImageScan of an index is
refused (botocore's ECR model: UnsupportedImageTypeException, "The image is of a type that cannot
be scanned"; ECR's message names `application/vnd.oci.image.index.v1+json`), so the index never
has a scan and DescribeImageScanFindings answers ScanNotFoundException for it, as moto does for
an image no scan was started for. moto scans nothing on push: the scans ECR's scan on push makes
of the platform images are started here through StartImageScan, their results set through moto's
API. The attestation manifest gets no scan either: waiting for it would wait out the timeout.
The index's shape is BuildKit's (moby/buildkit docs/attestations/attestation-storage.md).
"""

from __future__ import annotations

import json
from typing import Any

import requests

from testing.ecr_images import (
    OCI_INDEX,
    OCI_MANIFEST,
    manifest_json,
    put_manifest,
    set_scan_findings,
)
from testing.local_stack import MotoServer, Registry
from tests.commands.build_push.conftest import (
    MANIFEST_ACCEPT,
    Service,
    ecr_client,
    inputs_tag,
    outputs_of,
)
from tests.conftest import CliResult


class IndexInEcr:
    """The service's build as the amd64 image of an index in ECR (tagged with its inputs tag),
    with an arm64 image and a provenance attestation manifest, as buildx pushes it."""

    def __init__(
        self, service: Service, registry: Registry, moto_server: MotoServer, name: str
    ) -> None:
        self.service, self.moto_server, self.name = service, moto_server, name
        built = service("--repository", name, "--registry", registry.host)
        assert built.exit_code == 0, built.stderr
        tag = inputs_tag(registry, name)
        answer = requests.get(
            f"{registry.url}/v2/{name}/manifests/{tag}",
            headers={"Accept": MANIFEST_ACCEPT},
            timeout=10,
        )
        self.ecr = ecr_client(moto_server)
        self.ecr.create_repository(
            repositoryName=name, imageScanningConfiguration={"scanOnPush": True}
        )
        media_type = answer.headers["Content-Type"]
        amd64 = put_manifest(self.ecr, name, answer.text, media_type)
        arm64 = put_manifest(self.ecr, name, manifest_json(b"arm64 layer"), media_type)
        attestation = put_manifest(
            self.ecr, name, manifest_json(b"in-toto statement"), OCI_MANIFEST
        )
        self.platforms = {"linux/amd64": amd64, "linux/arm64": arm64}
        entries = [
            self._entry(amd64, media_type, {"os": "linux", "architecture": "amd64"}),
            self._entry(arm64, media_type, {"os": "linux", "architecture": "arm64"}),
            {
                **self._entry(
                    attestation, OCI_MANIFEST, {"os": "unknown", "architecture": "unknown"}
                ),
                "annotations": {
                    "vnd.docker.reference.digest": amd64,
                    "vnd.docker.reference.type": "attestation-manifest",
                },
            },
        ]
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        self.index = put_manifest(self.ecr, name, index, OCI_INDEX, tag=tag)
        self._sizes = {amd64: len(answer.text)}

    def _entry(self, digest: str, media_type: str, platform: dict[str, str]) -> dict[str, Any]:
        return {"mediaType": media_type, "digest": digest, "size": 1, "platform": platform}

    def build_push(self, threshold: str) -> CliResult:
        """build-push of the service to this repository with the scan severity threshold,
        waiting 4 s at most for the scans."""
        return self.service(
            "--repository",
            self.name,
            "--scan-severity-threshold",
            threshold,
            "--scan-timeout",
            "4",
            env=self.moto_server.env,
        )

    def scanned_on_push(self, counts: dict[str, dict[str, int]]) -> None:
        """ECR's scan on push of each platform's image, with its findings per severity."""
        for platform, digest in self.platforms.items():
            result = {
                "registryId": self.moto_server.account_id,
                "repositoryName": self.name,
                # A tag no image has: moto hands a result whose tag equals the image's to it,
                # and an untagged image's tag is None, as is a result's without one.
                "imageId": {"imageDigest": digest, "imageTag": f"untagged-{digest[7:19]}"},
                "imageScanStatus": {"status": "COMPLETE", "description": "done"},
                "imageScanFindings": {"findingSeverityCounts": counts[platform], "findings": []},
            }
            set_scan_findings(self.moto_server, [result])
            self.ecr.start_image_scan(repositoryName=self.name, imageId={"imageDigest": digest})


def test_each_platform_of_an_index_is_scanned_and_the_counts_added_up(
    service: Service, registry: Registry, moto_server: MotoServer
) -> None:
    image = IndexInEcr(service, registry, moto_server, "toto/index-scan")
    image.scanned_on_push({"linux/amd64": {"LOW": 2}, "linux/arm64": {"LOW": 1, "MEDIUM": 1}})

    result = image.build_push("HIGH")

    assert result.exit_code == 0, result.stderr
    assert outputs_of(result)["digest"] == image.index
    assert [line for line in result.stdout.splitlines() if line.startswith("scan: ")] == [
        "scan: LOW 2",
        "scan: MEDIUM 1, LOW 1",
    ]


def test_a_finding_in_one_platform_fails_the_step_naming_it(
    service: Service, registry: Registry, moto_server: MotoServer
) -> None:
    image = IndexInEcr(service, registry, moto_server, "toto/index-critical")
    image.scanned_on_push({"linux/amd64": {}, "linux/arm64": {"CRITICAL": 1}})

    result = image.build_push("CRITICAL")

    assert (result.exit_code, result.stderr) == (
        1,
        f"error: the scan of {image.name}@{image.platforms['linux/arm64']} (linux/arm64) found "
        "CRITICAL 1: at or above CRITICAL\n",
    )
