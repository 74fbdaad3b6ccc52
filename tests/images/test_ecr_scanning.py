"""images.ecr's scanning: whether ECR scans a pushed image, and the scan's findings, on moto.

moto scans nothing on push: a scan exists once StartImageScan is called, and its result is the
one configured through moto's API, or moto's fixed default."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import botocore.session  # type: ignore[import-untyped, unused-ignore]
import pytest

from testing.ecr_images import put_image, set_scan_findings
from testing.local_stack import MotoServer
from toto_actions.errors import OperationError
from toto_actions.images.ecr import EcrRegistry
from toto_actions.images.ecr_scanning import SCAN_DONE, SCAN_FAILED, SCAN_WAITING
from toto_actions.images.registry import RepositorySettings

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.literals import ScanFrequencyType, ScanTypeType
    from mypy_boto3_ecr.type_defs import RegistryScanningRuleTypeDef


@pytest.fixture
def registry(aws_env: MotoServer) -> EcrRegistry:
    return EcrRegistry(None)


class ScannedImage:
    """An image in a repository of its own, whose scan the test starts and whose result it sets."""

    def __init__(self, server: MotoServer, client: ECRClient, repository: str) -> None:
        self.server = server
        self.client = client
        self.repository = repository
        self.image = put_image(client, repository, "v1", b"layer")
        self.digest = self.image.digest
        self._timers: list[threading.Timer] = []

    def answer(self, status: str, counts: dict[str, int]) -> None:
        """What moto will answer to DescribeImageScanFindings once the scan started."""
        result = {
            "registryId": self.server.account_id,
            "repositoryName": self.repository,
            "imageId": {"imageDigest": self.digest},
            "imageScanStatus": {"status": status, "description": f"moto says {status}"},
            "imageScanFindings": {"findingSeverityCounts": counts, "findings": []},
        }
        set_scan_findings(self.server, [result])

    def start_scan(self, delay: float = 0.0) -> None:
        """StartImageScan now, or from another thread after delay seconds."""
        if not delay:
            self._start()
            return
        timer = threading.Timer(delay, self._start)
        self._timers.append(timer)
        timer.start()

    def _start(self) -> None:
        self.client.start_image_scan(
            repositoryName=self.repository, imageId={"imageDigest": self.digest}
        )

    def join(self) -> None:
        for timer in self._timers:
            timer.join()


@pytest.fixture
def scanned(
    registry: EcrRegistry, ecr_client: ECRClient, aws_env: MotoServer, repository: str
) -> Iterator[ScannedImage]:
    registry.ensure_repository(repository, RepositorySettings("MUTABLE"))
    image = ScannedImage(aws_env, ecr_client, repository)
    yield image
    image.join()


def test_scan_findings_wait_for_the_scan_then_count_per_severity(
    registry: EcrRegistry, scanned: ScannedImage
) -> None:
    counts = {"CRITICAL": 1, "HIGH": 2, "LOW": 5}
    scanned.answer("COMPLETE", counts)
    scanned.start_scan(delay=0.3)  # ScanNotFoundException until then
    started = time.monotonic()

    assert registry.scan_findings(scanned.repository, scanned.digest, 10, 0.05) == counts
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("status", ["FAILED", "UNSUPPORTED_IMAGE", "IMAGE_SIZE_EXCEEDED"])
def test_a_failed_scan_is_an_operation_error_with_its_description(
    registry: EcrRegistry, scanned: ScannedImage, status: str
) -> None:
    scanned.answer(status, {})
    scanned.start_scan()

    with pytest.raises(OperationError) as raised:
        registry.scan_findings(scanned.repository, scanned.digest, 10, 0.05)

    image = f"{scanned.repository}@{scanned.digest}"
    assert str(raised.value) == f"ECR scan of {image}: {status}: moto says {status}"


def test_every_scan_status_of_botocores_model_is_known() -> None:
    """Each ScanStatus the SDK's ECR model lists either ends the wait (with the counts, or as a
    failure) or is one to wait through: none is waited out to the timeout by mistake."""
    model = botocore.session.get_session().get_service_model("ecr")
    statuses = set(model.shape_for("ScanStatus").enum)

    assert statuses == SCAN_DONE | SCAN_FAILED | SCAN_WAITING
    assert "IMAGE_SIZE_EXCEEDED" in SCAN_FAILED


def test_a_scan_still_in_progress_at_the_timeout_is_an_operation_error(
    registry: EcrRegistry, scanned: ScannedImage
) -> None:
    scanned.answer("IN_PROGRESS", {})
    scanned.start_scan()

    with pytest.raises(OperationError) as raised:
        registry.scan_findings(scanned.repository, scanned.digest, 0.3, 0.05)

    assert str(raised.value).endswith("did not complete within 0.3 s (last status: IN_PROGRESS)")


def test_a_scan_that_never_starts_times_out(registry: EcrRegistry, scanned: ScannedImage) -> None:
    with pytest.raises(OperationError) as raised:
        registry.scan_findings(scanned.repository, scanned.digest, 0.2, 0.05)

    assert str(raised.value) == (
        f"ECR scan of {scanned.repository}@{scanned.digest} did not complete within 0.2 s "
        "(last status: not started)"
    )


# ------------------------------------------------------------------------------------------------
# Whether a pushed image gets scanned


def test_a_repository_scans_on_push_by_its_own_setting(
    registry: EcrRegistry, ecr_client: ECRClient, repository: str
) -> None:
    ecr_client.create_repository(
        repositoryName=repository, imageScanningConfiguration={"scanOnPush": True}
    )
    ecr_client.create_repository(
        repositoryName=f"{repository}-off", imageScanningConfiguration={"scanOnPush": False}
    )

    assert registry.scans_on_push(repository) is True
    assert registry.scans_on_push(f"{repository}-off") is False
    assert registry.scans_on_push(f"{repository}-missing") is True  # created with scan on push


@pytest.fixture
def registry_rules(ecr_client: ECRClient) -> Iterator[ECRClient]:
    """ECR's client, with the registry's scanning configuration reset to no rule afterwards."""
    yield ecr_client
    ecr_client.put_registry_scanning_configuration(scanType="BASIC", rules=[])


def rule(frequency: ScanFrequencyType, pattern: str) -> RegistryScanningRuleTypeDef:
    return {
        "scanFrequency": frequency,
        "repositoryFilters": [{"filter": pattern, "filterType": "WILDCARD"}],
    }


@pytest.mark.parametrize(
    ("scan_type", "scan_rule", "expected"),
    [
        ("BASIC", rule("SCAN_ON_PUSH", "toto-ms-*"), True),
        ("ENHANCED", rule("CONTINUOUS_SCAN", "*"), True),
        ("BASIC", rule("MANUAL", "*"), False),
        ("BASIC", rule("SCAN_ON_PUSH", "other-*"), False),
    ],
)
def test_a_registry_rule_scans_the_repositories_its_filter_matches(
    registry_rules: ECRClient,
    repository: str,
    scan_type: ScanTypeType,
    scan_rule: RegistryScanningRuleTypeDef,
    expected: bool,
) -> None:
    registry_rules.create_repository(repositoryName=repository)  # scanOnPush false
    registry_rules.put_registry_scanning_configuration(scanType=scan_type, rules=[scan_rule])

    assert EcrRegistry(None).scans_on_push(repository) is expected


def test_another_account_s_registry_rules_cannot_be_read(
    aws_env: MotoServer, ecr_client: ECRClient, repository: str
) -> None:
    account = "210987654321"
    ecr_client.create_repository(registryId=account, repositoryName=repository)
    other = EcrRegistry(None, host=f"{account}.dkr.ecr.{aws_env.region}.amazonaws.com")

    assert other.scans_on_push(repository) is None
