"""`sync-secrets --dispatch EVENT`: the event type is checked before the first write.

GitHub's OpenAPI description (npm @octokit/openapi, `POST /repos/{owner}/{repo}/dispatches`):
`event_type` is a string of `minLength: 1`, `maxLength: 100` ("Must be 100 characters or fewer").
A longer one is refused with a 422 after the secrets were written, so the services never hear of
the change: the sync refuses it up front (exit 2, nothing written), as render-workflow does
for `sync-dispatch`, by the same rule (toto_actions/github/sync_config.event_type_problem).
The description says nothing of blanks or control characters: render already refuses a padded
or unprintable type (no workflow's `types:` would name it), and the one rule keeps doing so.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.github.server import GitHubServer
from tests.commands.test_sync_secrets import Sync, sync_github
from tests.conftest import CliRunner

TOO_LONG = "toto-core-changed-" + "x" * 83  # 101 characters


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    with sync_github(dispatch=True) as server:  # it ends asserting no body the description refused
        yield server


@pytest.fixture
def sync(cli: CliRunner, tmp_path: Path, github: GitHubServer) -> Sync:
    return Sync(cli, tmp_path, github)


@pytest.mark.parametrize(
    ("event_type", "shown"),
    [
        (TOO_LONG, repr(TOO_LONG)),
        (" padded", "' padded'"),
        ("core\tchanged", "'core\\tchanged'"),
    ],
)
def test_an_event_type_github_refuses_is_refused_before_the_first_write(
    sync: Sync, github: GitHubServer, event_type: str, shown: str
) -> None:
    result = sync("--dispatch", event_type)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: --dispatch {shown} is not a repository_dispatch event type: 1 to 100 "
        "printable characters"
    ]
    assert github.requests == []  # refused before GitHub is asked anything
    assert "Traceback" not in result.stderr


def test_an_event_type_of_100_characters_is_sent(sync: Sync, github: GitHubServer) -> None:
    event_type = TOO_LONG[:100]
    result = sync("--dispatch", event_type)
    assert result.exit_code == 0, result.stderr
    assert [d["event_type"] for d in github.dispatches("acme/toto-ms-games")] == [event_type]
