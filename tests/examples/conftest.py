"""The example service repository's workflow, rendered once for the tests that read its jobs."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from testing.cli import make_cli_runner
from tests.examples.layout import REPOSITORIES


@pytest.fixture(scope="session")
def inline_service_workflow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The example service repository's workflow rendered inline: every job of the pipeline."""
    repository = tmp_path_factory.mktemp("service")
    (repository / "toto.yml").write_bytes((REPOSITORIES / "service/toto.yml").read_bytes())
    cli = make_cli_runner(repository)
    result = cli("render-workflow", "--style", "inline")
    assert (result.exit_code, result.stderr) == (0, "")
    workflow: dict[str, Any] = yaml.safe_load(
        (repository / ".github/workflows/toto-microservice.yml").read_text(encoding="utf-8")
    )
    return workflow
