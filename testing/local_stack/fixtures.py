"""The local stack's pytest plugin (tests/conftest.py registers it): the session fixtures
`docker_engine`, `registry`, `private_registry`, `moto_server` and `base_image`, and a failed
test's report gets the log tails of the services it used."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from pathlib import Path

import pytest

from testing.local_stack.base_image import BaseImage, import_base_image
from testing.local_stack.docker_engine import DockerEngine, run_docker_engine
from testing.local_stack.moto import MotoServer, run_moto_server
from testing.local_stack.processes import log_tail
from testing.local_stack.registry import Login, Registry, run_registry


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    """A dockerd of the test session (private socket, data and exec roots, no network)."""
    with run_docker_engine() as engine:
        yield engine


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    """A v2 registry of the test session on 127.0.0.1, plain http, deletes enabled."""
    with run_registry() as running:
        yield running


# The only user of the private_registry fixture.
PRIVATE_REGISTRY_LOGIN = Login("toto-ci", "private-registry-password-never-logged")


@pytest.fixture(scope="session")
def private_registry() -> Iterator[Registry]:
    """A v2 registry of the test session like `registry`, but with htpasswd authentication: it
    serves only its .login (PRIVATE_REGISTRY_LOGIN)."""
    with run_registry(login=PRIVATE_REGISTRY_LOGIN) as running:
        yield running


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """A moto server of the test session; point boto3 at it with its .env."""
    with run_moto_server() as server:
        yield server


@pytest.fixture(scope="session")
def base_image(docker_engine: DockerEngine) -> BaseImage:
    """toto-test/busybox:local in the session's engine, imported once."""
    return import_base_image(docker_engine)


_SERVICE_FIXTURES = ("docker_engine", "registry", "private_registry", "moto_server")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Append the log tails of the services a failed test used to its report."""
    report = yield
    if report.failed:
        values: Mapping[str, object] = getattr(item, "funcargs", {})
        for name in _SERVICE_FIXTURES:
            service = values.get(name)
            logs: Mapping[str, Path] = getattr(service, "logs", {})
            for title, path in logs.items():
                report.sections.append((f"{title} log ({path})", log_tail(path)))
    return report
