"""sync-secrets masks a sensitive output that is a map or a list element by element, every string
in it as well as its whole JSON text (issue 28, point 11), as tf-apply does (its test:
tests/commands/test_tf_apply_masking.py).

The runner masks a registered value only where it appears whole within one log line
(actions/toolkit, docs/commands.md, "Masking a value in log"); masks last for the job, and a
later step can print one string of the map alone. The sync runs on its own where the outputs
come from elsewhere than tf-apply (a file, another job), so it registers them itself. Not
masked: a non-sensitive output's strings (a region masked would garble the log).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.github.server import GitHubServer
from testing.workflow_commands import masks
from tests.commands.test_sync_secrets import Sync, sync_github
from tests.conftest import CliRunner

CREDENTIALS = {"user": "admin-user-1", "password": "pw-in-a-map-2", "port": 5432}
TOKENS = ["token-aaaa-3", "token-bbbb-4"]


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    with sync_github() as server:
        yield server


def test_every_string_of_a_sensitive_map_or_list_is_masked(
    cli: CliRunner, tmp_path: Path, github: GitHubServer
) -> None:
    sync = Sync(cli, tmp_path, github)
    sync.outputs["db_password"] = {"value": CREDENTIALS, "type": "dynamic", "sensitive": True}
    sync.outputs["ecs_subnets"]["sensitive"] = True
    sync.outputs["ecs_subnets"]["value"] = TOKENS
    result = sync(env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "github-output")})
    assert result.exit_code == 0, result.stdout + result.stderr
    masked = masks(result.stdout)
    assert {"admin-user-1", "pw-in-a-map-2", *TOKENS} <= masked
    assert json.dumps(CREDENTIALS, separators=(",", ":")) in masked
    assert not {"5432", "user", "password", "eu-west-1"} & masked
    written = github.secrets("acme/toto-ms-expenses", "dev")
    assert json.loads(written["DB_PASSWORD"]) == CREDENTIALS  # the sync still writes them whole
