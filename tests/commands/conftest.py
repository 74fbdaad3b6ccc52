"""Fixtures the command tests share: the stand-in HCP Terraform of the cloud-engine tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.cli import CliRunner, make_cli_runner
from testing.tfc.server import TfcServer
from tests.commands.test_tf_apply_cloud import ORG, TOKEN


@pytest.fixture
def tfc() -> Iterator[TfcServer]:
    """The stand-in HCP Terraform holding organization ORG and TOKEN, a team token; it must have
    seen no error by the end of the test."""
    with TfcServer(step_seconds=0.02, state_processing_seconds=0.3) as server:
        server.add_organization(ORG)
        server.add_token(TOKEN, "team")
        yield server
        assert server.errors == []


@pytest.fixture
def inline_cli(tmp_path: Path) -> CliRunner:
    """The console script in tmp_path, rendering the inline style (INPUT_STYLE, as an action
    input would set it) unless a run says otherwise: the render-workflow tests that read the
    whole pipeline's jobs in the repository's own workflow."""
    return make_cli_runner(tmp_path, {"INPUT_STYLE": "inline"})
