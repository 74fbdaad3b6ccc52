"""The moto server of the local stack: every AWS service moto knows, at one endpoint."""

from __future__ import annotations

import http.client
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testing.local_stack.processes import (
    Daemon,
    ServiceError,
    run_http_service,
    service_environment,
)

MOTO_ACCOUNT_ID = "123456789012"  # moto's default account
MOTO_REGION = "us-east-1"
MOTO_CREDENTIAL = "testing"  # moto takes any key; this one for both the id and the secret


@dataclass(frozen=True)
class MotoServer:
    """A running moto server: every AWS service moto knows, at one endpoint."""

    endpoint_url: str  # http://127.0.0.1:PORT
    log_path: Path
    started_in: float
    region: str = MOTO_REGION
    account_id: str = MOTO_ACCOUNT_ID
    env: dict[str, str] = field(default_factory=dict)  # see moto_environment

    @property
    def logs(self) -> dict[str, Path]:
        return {"moto_server": self.log_path}

    def s3_client(self) -> Any:
        """A boto3 S3 client of this server, whatever AWS_* the process has."""
        return self.boto3_client("s3")

    def boto3_client(self, service: str) -> Any:
        """A boto3 client of service on this server, whatever AWS_* the process has."""
        return boto3_client(service, self.endpoint_url, self.region)

    def reset(self) -> None:
        """Forget every resource created so far (POST /moto-api/reset)."""
        host, port = self.endpoint_url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("POST", "/moto-api/reset")
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise ServiceError(f"moto reset answered {response.status}", self.log_path)


def boto3_client(service: str, endpoint_url: str, region: str = MOTO_REGION) -> Any:
    """A boto3 client of service at endpoint_url, signing with MOTO_CREDENTIAL whatever AWS_* the
    process has: for moto and for the stand-ins (testing/ecs.py), which check no signature."""
    import boto3  # type: ignore[import-untyped, unused-ignore]

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=MOTO_CREDENTIAL,
        aws_secret_access_key=MOTO_CREDENTIAL,
    )


def moto_environment(endpoint_url: str, region: str = MOTO_REGION) -> dict[str, str]:
    """Variables that point boto3 (and the AWS CLI, terraform's S3 backend) at a moto server."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": MOTO_CREDENTIAL,
        "AWS_SECRET_ACCESS_KEY": MOTO_CREDENTIAL,
        "AWS_DEFAULT_REGION": region,
    }


@contextmanager
def run_moto_server(settings: Mapping[str, str] | None = None) -> Iterator[MotoServer]:
    """Start `python -m moto.server` (a process of its own, so no in-process moto mock can reset
    its state) on a free loopback port; yield it once it answers; stop it. settings: variables of
    the server's environment that steer moto (MOTO_ECS_SERVICE_RUNNING, ...)."""
    root = Path(tempfile.mkdtemp(prefix="toto-moto-"))
    log_path = root / "moto_server.log"

    def start(port: int) -> Daemon:
        return Daemon(
            "moto_server",
            [sys.executable, "-m", "moto.server", "--host", "127.0.0.1", "--port", str(port)],
            log_path,
            {**service_environment(()), **(settings or {})},
        )

    with run_http_service(root, start, "/moto-api/data.json") as started:
        endpoint_url = f"http://127.0.0.1:{started.port}"
        yield MotoServer(
            endpoint_url=endpoint_url,
            log_path=log_path,
            started_in=started.started_in,
            env=moto_environment(endpoint_url),
        )
