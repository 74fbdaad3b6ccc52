"""The stand-in HCP Terraform's VCS-connected workspaces (testing/tfc/vcs.py): their settings in
the workspace document, the runs a push or a pull request starts by the documented rules, and
the runs list's filters and its own rate limit.

Sources (hashicorp/web-unified-docs, content/terraform-docs-common/docs/cloud-docs/):
workspaces/run/ui.mdx, workspaces/settings/vcs.mdx, api-docs/workspaces.mdx (attributes and the
sample VCS workspace), api-docs/run.mdx ("List Runs in a Workspace": `filter[operation]`,
`filter[source]`, `search[commit]`, 30 requests a minute).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from testing.tfc.server import API, TfcServer
from testing.tfc.team import serving_team
from testing.tfc.vcs import PullRequest, Push
from tests.testing.test_tfc_server import tar_gz

ORG = "acme"
TOKEN = "team-t0ken"
ARCHIVE = tar_gz({"main.tf": 'output "x" {\n  value = 1\n}\n'})


@pytest.fixture
def server() -> Iterator[TfcServer]:
    with serving_team(ORG, TOKEN, step_seconds=0.01, state_processing_seconds=0.1) as running:
        yield running


def _get(server: TfcServer, path: str, **params: str) -> requests.Response:
    return requests.get(
        f"{server.url}{API}{path}",
        params=params,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )


def _connected(server: TfcServer, name: str = "core-dev", **settings: Any) -> str:
    """A VCS workspace that has had its first run (queued by hand, as HCP asks)."""
    workspace_id = server.add_workspace(ORG, name)
    server.connect_vcs(ORG, name, **settings)
    server.queue_vcs_run(ORG, name, ARCHIVE, commit_sha="first")
    return workspace_id


def test_the_workspace_document_shows_its_vcs_settings(server: TfcServer) -> None:
    workspace_id = _connected(
        server,
        branch="prod",
        trigger_patterns=("/infra/**/*",),
        working_directory="infra",
        speculative_enabled=False,
    )
    attributes = _get(server, f"/workspaces/{workspace_id}").json()["data"]["attributes"]
    assert attributes["vcs-repo"]["branch"] == "prod"
    assert attributes["vcs-repo"]["identifier"] == "acme/infra"
    assert attributes["vcs-repo"]["tags-regex"] is None
    assert attributes["trigger-patterns"] == ["/infra/**/*"]
    assert attributes["working-directory"] == "infra"
    assert (attributes["speculative-enabled"], attributes["file-triggers-enabled"]) == (False, True)
    plain = server.add_workspace(ORG, "api-driven")
    assert _get(server, f"/workspaces/{plain}").json()["data"]["attributes"]["vcs-repo"] is None


PUSHES = [
    # (settings, ref, changed files, a run?)
    ({}, "refs/heads/main", ["README.md"], True),
    ({}, "refs/heads/feature", ["README.md"], False),  # "ignores changes to other branches"
    ({"branch": "prod"}, "refs/heads/prod", ["x"], True),
    ({"working_directory": "infra"}, "refs/heads/main", ["docs/a.md"], False),
    ({"working_directory": "infra"}, "refs/heads/main", ["infra/main.tf"], True),
    (
        {"working_directory": "infra", "trigger_prefixes": ("/modules",)},
        "refs/heads/main",
        ["modules/vpc/main.tf"],
        True,
    ),
    ({"trigger_patterns": ("/**/networking/*",)}, "refs/heads/main", ["a/networking/x.tf"], True),
    ({"trigger_patterns": ("/**/networking/*",)}, "refs/heads/main", ["a/b/x.tf"], False),
    ({"trigger_patterns": ("/infra/*",)}, "refs/heads/main", None, True),  # no list: every one
    (
        {"trigger_patterns": ("/infra/*",)},
        "refs/heads/main",
        [f"docs/{n}" for n in range(300)],
        True,
    ),
    (
        {"working_directory": "infra", "file_triggers_enabled": False},
        "refs/heads/main",
        ["x"],
        True,
    ),
    ({"tags_regex": r"^\d+\.\d+\.\d+$"}, "refs/heads/main", ["x"], False),
    ({"tags_regex": r"^\d+\.\d+\.\d+$"}, "refs/tags/1.2.3", ["x"], True),
    ({"tags_regex": r"^\d+\.\d+\.\d+$"}, "refs/tags/v1", ["x"], False),
]


@pytest.mark.parametrize(("settings", "ref", "files", "runs"), PUSHES)
def test_a_push_starts_a_run_by_the_documented_rules(
    server: TfcServer, settings: dict[str, Any], ref: str, files: list[str] | None, runs: bool
) -> None:
    _connected(server, **settings)
    started = server.vcs_webhook(ORG, "core-dev", ARCHIVE, Push("c2", ref, files))
    assert (started is not None) is runs
    assert len(server.runs(ORG, "core-dev")) == (2 if runs else 1)


def test_a_workspace_without_runs_and_a_commit_already_processed_start_none(
    server: TfcServer,
) -> None:
    """ui.mdx: "A workspace with no runs will not accept new runs via VCS webhook", and "A
    workspace will not process a webhook if the workspace previously processed a webhook with
    the same commit SHA and created a run"."""
    server.add_workspace(ORG, "new")
    server.connect_vcs(ORG, "new")
    assert server.vcs_webhook(ORG, "new", ARCHIVE, Push("c1")) is None
    server.add_workspace(ORG, "eager")
    server.connect_vcs(ORG, "eager", queue_all_runs=True)
    assert server.vcs_webhook(ORG, "eager", ARCHIVE, Push("c1")) is not None
    assert server.vcs_webhook(ORG, "eager", ARCHIVE, Push("c1")) is None


def test_a_pull_request_gets_a_speculative_run_by_the_documented_rules(server: TfcServer) -> None:
    _connected(server, working_directory="infra")
    opened = PullRequest("h1", 3)

    def started(name: str, **event: Any) -> str | None:
        return server.vcs_webhook(ORG, name, ARCHIVE, opened._replace(**event))

    assert started("core-dev", changed_files=["docs/a"]) is None
    assert started("core-dev", base="release") is None
    assert started("core-dev", from_fork=True) is None
    assert started("core-dev", changed_files=["infra/a"]) is not None
    assert [r.plan_only for r in server.runs(ORG, "core-dev")] == [False, True]
    _connected(server, "quiet", speculative_enabled=False)
    assert started("quiet", changed_files=["x"]) is None


def test_the_runs_list_filters_by_source(server: TfcServer) -> None:
    """run.mdx: `filter[source]`, `tfe-configuration-version` for runs a VCS provider started."""
    workspace_id = _connected(server)
    runs = f"/workspaces/{workspace_id}/runs"
    vcs = _get(server, runs, **{"filter[source]": "tfe-configuration-version"}).json()["data"]
    assert len(vcs) == 1
    assert _get(server, runs, **{"filter[source]": "tfe-api,tfe-ui"}).json()["data"] == []


def test_the_runs_list_allows_30_requests_a_minute(server: TfcServer) -> None:
    """run.mdx: "This endpoint has an adjusted rate limit of 30 requests per minute"."""
    workspace_id = _connected(server)
    answers = [_get(server, f"/workspaces/{workspace_id}/runs") for _ in range(31)]
    assert [a.status_code for a in answers[:30]] == [200] * 30
    refused = answers[30]
    assert refused.status_code == 429
    assert 55 < float(refused.headers["X-RateLimit-Reset"]) <= 60
    assert _get(server, f"/workspaces/{workspace_id}").status_code == 200  # other routes
