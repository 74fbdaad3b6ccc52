"""ECR's image scanning through boto3: whether a pushed image gets scanned, and its findings.

A repository scans on push when its own (deprecated, still honoured) `scanOnPush` says so, or a
rule of the registry's scanning configuration (basic or enhanced) scans the repositories its
WILDCARD filters match on push or continuously. Part of ecr.py's adapter: the same client and
registryId, the same one-line errors.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]

from toto_actions.errors import OperationError
from toto_actions.images.aws_errors import aws_errors, error_code, one_line
from toto_actions.images.names import wildcard_matches

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.type_defs import DescribeImageScanFindingsResponseTypeDef

    from toto_actions.images.ecr import RegistryId

# Scan statuses (botocore's ScanStatus): basic scanning ends in COMPLETE, enhanced scanning
# (Inspector) in ACTIVE; a scan that cannot give findings ends in one of SCAN_FAILED; the wait
# goes on through SCAN_WAITING (and through a status this list does not know yet).
SCAN_DONE = frozenset({"COMPLETE", "ACTIVE"})
SCAN_FAILED = frozenset(
    {
        "FAILED",
        "UNSUPPORTED_IMAGE",
        "FINDINGS_UNAVAILABLE",
        "SCAN_ELIGIBILITY_EXPIRED",
        "LIMIT_EXCEEDED",
        "IMAGE_ARCHIVED",
        "IMAGE_SIZE_EXCEEDED",
    }
)
SCAN_WAITING = frozenset({"IN_PROGRESS", "PENDING"})
# Scan frequencies (botocore's ScanFrequency) of a registry rule that scan a pushed image.
_SCANNED_ON_PUSH = frozenset({"SCAN_ON_PUSH", "CONTINUOUS_SCAN"})
# Answers that only say this caller may not read the registry's scanning configuration.
_NOT_ALLOWED = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})


def scans_on_push(client: ECRClient, registry_id: RegistryId, repository: str) -> bool | None:
    """True when ECR scans an image pushed to repository (also for a repository that does not
    exist yet: build-push creates it with scan on push); False when neither the repository nor
    a rule of the registry's scanning configuration scans it; None when that cannot be told
    (the caller may not read the configuration, or the registry is another account's)."""
    with aws_errors(f"ECR DescribeRepositories {repository}"):
        try:
            answer = client.describe_repositories(**registry_id, repositoryNames=[repository])
        except ClientError as failure:
            if error_code(failure) != "RepositoryNotFoundException":
                raise
            return True
    found = (answer.get("repositories") or [{}])[0]
    if found.get("imageScanningConfiguration", {}).get("scanOnPush"):
        return True
    if registry_id:  # GetRegistryScanningConfiguration reads the caller's own registry only
        return None
    with aws_errors("ECR GetRegistryScanningConfiguration"):
        try:
            configuration = client.get_registry_scanning_configuration()
        except ClientError as failure:
            if error_code(failure) in _NOT_ALLOWED:
                return None
            raise
    rules = configuration.get("scanningConfiguration", {}).get("rules", [])
    return any(
        rule.get("scanFrequency") in _SCANNED_ON_PUSH
        and any(
            wildcard_matches(scan_filter["filter"], repository)
            for scan_filter in rule.get("repositoryFilters", [])
            if scan_filter.get("filterType") == "WILDCARD"
        )
        for rule in rules
    )


def scan_findings(
    client: ECRClient, registry_id: RegistryId, image: str, timeout: float, poll_interval: float
) -> dict[str, int]:
    """The scan result of image (REPOSITORY@DIGEST) as counts per severity, once the scan is
    complete.

    Waits up to `timeout` seconds, asking every `poll_interval`, while the scan has not
    started or is in progress; a scan that failed, or that took too long, is an OperationError.
    """
    deadline = time.monotonic() + timeout
    status = "not started"
    while True:
        answer = _findings(client, registry_id, image)
        if answer is not None:
            scan_status = answer.get("imageScanStatus", {})
            status = scan_status.get("status", "unknown")
            if status in SCAN_DONE:
                counts = answer.get("imageScanFindings", {}).get("findingSeverityCounts", {})
                return {str(severity): int(count) for severity, count in counts.items()}
            if status in SCAN_FAILED:
                description = scan_status.get("description", "no description")
                raise OperationError(f"ECR scan of {image}: {status}: {one_line(description)}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise OperationError(
                f"ECR scan of {image} did not complete within {timeout:g} s (last status: {status})"
            )
        time.sleep(min(poll_interval, remaining))


def _findings(
    client: ECRClient, registry_id: RegistryId, image: str
) -> DescribeImageScanFindingsResponseTypeDef | None:
    """DescribeImageScanFindings of image, or None while there is no scan."""
    repository, _, digest = image.partition("@")
    with aws_errors(f"ECR DescribeImageScanFindings {image}"):
        try:
            return client.describe_image_scan_findings(
                **registry_id, repositoryName=repository, imageId={"imageDigest": digest}
            )
        except ClientError as failure:
            if error_code(failure) != "ScanNotFoundException":
                raise
            return None
