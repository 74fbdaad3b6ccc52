"""Fixtures the command tests share: the stand-in HCP Terraform of the cloud-engine tests,
tf-apply with the cli engine on a root module of one file, and a job's runner variables."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from testing.cli import make_cli_runner
from testing.tf_apply_step import TfApplyStep
from testing.tfc.server import TfcServer
from tests.commands.test_tf_apply_cloud import ORG, TOKEN
from tests.conftest import CliRunner

LocalStep = Callable[[str, Mapping[str, str]], TfApplyStep]


def job_env(repository: str, token: str, api_url: str, branch: str) -> dict[str, str]:
    """The variables the runner sets for a job of repository on branch, with its token."""
    return {
        "GITHUB_REPOSITORY": repository,
        "GITHUB_TOKEN": token,
        "GITHUB_API_URL": api_url,
        "GITHUB_REF_NAME": branch,
    }


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
def local_step(tmp_path: Path, cli: CliRunner) -> LocalStep:
    """Makes tf-apply with the cli engine and local state on a root module, tmp_path/
    configuration, whose main.tf is the text given; the runner's terraform settings are left
    out (an empty CLI configuration, no checkpoint call) and env is added to every run."""

    def make(main_tf: str, env: Mapping[str, str]) -> TfApplyStep:
        root = tmp_path / "configuration"
        root.mkdir()
        (root / "main.tf").write_text(main_tf, encoding="utf-8")
        (root / "terraformrc").write_text("", encoding="utf-8")
        settings = {"TF_CLI_CONFIG_FILE": str(root / "terraformrc"), "CHECKPOINT_DISABLE": "1"}
        return TfApplyStep(cli, root, "cli", {**settings, **env})

    return make


@pytest.fixture
def inline_cli(tmp_path: Path) -> CliRunner:
    """The console script in tmp_path, rendering the inline style (INPUT_STYLE, as an action
    input would set it) unless a run says otherwise: the render-workflow tests that read the
    whole pipeline's jobs in the repository's own workflow."""
    return make_cli_runner(tmp_path, {"INPUT_STYLE": "inline"})
