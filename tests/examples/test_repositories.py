"""examples/repositories: the example core and service repositories' settings are what the
toolkit reads (toto.yml by render-workflow, toto-secrets.yml by the sync and its schema), their
workflows render and then pass --check, and the sync maps exactly the core's outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import CliRunner, snapshot
from tests.examples.layout import CORE, REPOSITORIES, configuration, labelled
from toto_actions.github.sync_config import load_config
from toto_actions.workflows.settings import DEFAULT_CORE_SECRETS

WORKFLOWS = {"core": "toto-core.yml", "service": "toto-microservice.yml"}


def test_core_secrets_map_every_core_output() -> None:
    config = load_config(REPOSITORIES / "core/toto-secrets.yml", default_owner=None)
    assert config.scope == "environment"
    (service,) = config.repositories
    assert service.full_name == "acme/toto-ms-orders"
    assert dict(service.secrets) == {secret: secret.lower() for secret in DEFAULT_CORE_SECRETS}
    assert set(service.secrets.values()) == set(labelled(configuration(CORE)["output"]))


@pytest.mark.parametrize(("name", "workflow"), WORKFLOWS.items())
def test_workflow_renders_and_passes_its_check(
    name: str, workflow: str, cli: CliRunner, tmp_path: Path
) -> None:
    repository = tmp_path / name
    shutil.copytree(REPOSITORIES / name, repository)
    rendered = cli("render-workflow", cwd=repository)
    assert (rendered.exit_code, rendered.stderr) == (0, ""), rendered.stdout
    assert f"wrote .github/workflows/{workflow}" in rendered.stdout
    written = snapshot(repository)
    checked = cli("render-workflow", "--check", cwd=repository)
    assert (checked.exit_code, checked.stderr) == (0, "")
    assert snapshot(repository) == written
