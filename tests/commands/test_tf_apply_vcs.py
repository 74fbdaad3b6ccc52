"""`tf-apply --run-source vcs` when the workspace's VCS connection starts no run for the commit,
against the stand-in HCP Terraform, whose VCS workspaces start runs (or not) by the documented
rules (testing/tfc/vcs.py), and a real git checkout for the push's changed files.

Sources (hashicorp/web-unified-docs, content/terraform-docs-common/docs/cloud-docs/):
workspaces/run/ui.mdx, workspaces/settings/vcs.mdx, api-docs/workspaces.mdx, api-docs/run.mdx
("List Runs in a Workspace": `search[commit]`, `filter[operation]`, `filter[source]`, 30
requests a minute). github/docs, "Events that trigger workflows" (push): the payload Actions
gets has no `added`, `removed` or `modified` lists, so the files come from the checkout.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from testing.terraform_configurations import CLOUD_CONFIG
from testing.tf_apply_step import outputs_of
from testing.tfc.server import TfcServer
from testing.tfc.vcs import PullRequest, Push
from tests.commands.test_tf_apply_cloud import ORG, Service
from tests.conftest import CliRunner
from toto_actions.terraform.archive import config_archive

WORKSPACE = "core-dev"
RUNS_LIST = "/api/v2/workspaces/:workspace_id/runs"


def _git(root: Path, *arguments: str) -> str:
    completed = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *arguments],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


class Checkout:
    """The configuration in a git repository with two commits: the one first applied, and a
    push on top of it that changes `docs/README.md` only."""

    def __init__(self, root: Path) -> None:
        _git(root, "init", "-q", "-b", "main")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "first")
        self.first = _git(root, "rev-parse", "HEAD")
        (root / "docs").mkdir()
        (root / "docs" / "README.md").write_text("how to\n", encoding="utf-8")
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "docs")
        self.pushed = _git(root, "rev-parse", "HEAD")


@pytest.fixture
def service(tmp_path: Path, cli: CliRunner, tfc: TfcServer) -> Service:
    tfc.add_workspace(ORG, WORKSPACE)
    root = tmp_path / "repository"
    root.mkdir()
    made = Service(root, cli, tfc, WORKSPACE)
    assert (root / "main.tf").read_text(encoding="utf-8") == CLOUD_CONFIG
    return made


def _event(tmp_path: Path, name: str, payload: dict[str, Any]) -> dict[str, str]:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return {"GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": str(path)}


def _push_event(tmp_path: Path, before: str, after: str) -> dict[str, str]:
    payload = {
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "repository": {"full_name": "acme/infra", "default_branch": "main"},
    }
    return _event(tmp_path, "push", payload)


def _apply_the_first_commit(service: Service, tfc: TfcServer, checkout: Checkout) -> None:
    """The workspace's first run (queued by hand, as HCP Terraform asks of a VCS workspace),
    applied: the state whose outputs a later no-run hands on."""
    tfc.queue_vcs_run(ORG, WORKSPACE, config_archive(service.root), commit_sha=checkout.first)
    first = service("--run-source", "vcs", "--commit", checkout.first)
    assert first.exit_code == 0, first.stdout + first.stderr
    assert outputs_of(first)["status"] == "applied"
    service.outputs_file.unlink()


def test_a_push_the_trigger_patterns_exclude_ends_with_no_run_and_the_current_outputs(
    service: Service, tfc: TfcServer, tmp_path: Path
) -> None:
    """vcs.mdx: with trigger patterns, only changes to matching files start a run. The step
    looks for the commit's run for the grace period only, then ends with status no-run and the
    current state's outputs, so the sync that follows still runs."""
    checkout = Checkout(service.root)
    tfc.connect_vcs(ORG, WORKSPACE, trigger_patterns=("/infra/**/*",))
    _apply_the_first_commit(service, tfc, checkout)
    archive = config_archive(service.root)
    pushed = tfc.vcs_webhook(
        ORG, WORKSPACE, archive, Push(checkout.pushed, changed_files=["docs/README.md"])
    )
    assert pushed is None  # the stand-in starts no run, as HCP Terraform would not

    started = time.monotonic()
    result = service(
        "--run-source", "vcs", "--commit", checkout.pushed, "--queue-timeout", "60",
        env={**_push_event(tmp_path, checkout.first, checkout.pushed), "INPUT_NO-RUN-GRACE": "3"},
    )  # fmt: skip

    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stdout + result.stderr
    assert 3 <= elapsed < 30
    outputs = outputs_of(result)
    assert (outputs["status"], outputs["run-id"]) == ("no-run", "")
    reason = "none of the 1 file changed matches the trigger patterns (/infra/**/*)"
    assert reason in result.stdout + result.stderr
    assert service.outputs() == tfc.workspace_state_outputs(ORG, WORKSPACE)
    assert service.outputs()["image_tag"]["value"] == "v1"
    assert [r.status for r in tfc.runs(ORG, WORKSPACE)] == ["applied"]


def test_a_workspace_that_never_ran_fails_at_once(service: Service, tfc: TfcServer) -> None:
    """ui.mdx: "A workspace with no runs will not accept new runs via VCS webhook"; "You must
    manually trigger an initial run in any new VCS-driven workspace"."""
    tfc.connect_vcs(ORG, WORKSPACE)
    started = time.monotonic()
    result = service("--run-source", "vcs", "--commit", "abc1234", "--queue-timeout", "40")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert time.monotonic() - started < 20
    assert "queue the initial run in HCP Terraform" in result.stderr
    assert not service.outputs_file.exists()


def test_without_the_push_s_files_the_queue_timeout_holds_and_the_list_is_paced(
    service: Service, tfc: TfcServer, tmp_path: Path
) -> None:
    """The push's `before` commit is not in this checkout (a shallow one): its files are
    unknown, so the trigger patterns decide nothing and the step waits its queue timeout.
    Meanwhile it lists the commit's VCS runs (`filter[source]=tfe-configuration-version`) at
    most once every 2 s: the runs list allows 30 requests a minute (run.mdx)."""
    tfc.connect_vcs(ORG, WORKSPACE, trigger_patterns=("/infra/**/*",))
    tfc.queue_vcs_run(ORG, WORKSPACE, config_archive(service.root), commit_sha="first")
    started = time.monotonic()
    result = service(
        "--run-source", "vcs", "--commit", "abc1234", "--queue-timeout", "7",
        env={**_push_event(tmp_path, "f" * 40, "abc1234"), "INPUT_NO-RUN-GRACE": "1"},
    )  # fmt: skip
    assert result.exit_code == 1, result.stdout + result.stderr
    assert time.monotonic() - started >= 7
    assert "no run of core-dev for commit abc1234 started within 7 s" in result.stderr
    listed = tfc.requests_to(RUNS_LIST, "GET")
    assert len(listed) >= 3
    for request in listed:
        query = dict(parse_qsl(request.query))
        assert query["search[commit]"] == "abc1234"
        assert query["filter[operation]"] == "plan_and_apply"
        assert query["filter[source]"] == "tfe-configuration-version"
    gaps = [later.time - earlier.time for earlier, later in itertools.pairwise(listed)]
    assert min(gaps) >= 1.95, gaps
    assert all(r.status == 200 for r in listed)


def test_a_pull_request_without_speculative_plans_ends_with_no_run_and_no_outputs(
    service: Service, tfc: TfcServer, tmp_path: Path
) -> None:
    """ui.mdx: "Pull requests can only trigger runs in workspaces where automatic speculative
    plans are allowed". A plan writes no outputs, with or without a run."""
    tfc.connect_vcs(ORG, WORKSPACE, speculative_enabled=False)
    tfc.queue_vcs_run(ORG, WORKSPACE, config_archive(service.root), commit_sha="first")
    head = "head123"
    assert tfc.vcs_webhook(ORG, WORKSPACE, b"", PullRequest(head, 5, changed_files=["x"])) is None
    payload = {
        "pull_request": {
            "number": 5,
            "head": {"sha": head, "ref": "feature", "repo": {"full_name": "acme/infra"}},
            "base": {"sha": "base456", "ref": "main", "repo": {"full_name": "acme/infra"}},
        },
        "repository": {"full_name": "acme/infra", "default_branch": "main"},
    }
    result = service(
        "--plan-only", "true", "--run-source", "vcs", "--commit", head,
        "--queue-timeout", "40", "--detailed-exitcode", "true",
        env={**_event(tmp_path, "pull_request", payload), "INPUT_NO-RUN-GRACE": "2",
             "INPUT_PR-COMMENT": "false"},
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    assert outputs_of(result)["status"] == "no-run"
    assert "core-dev has automatic speculative plans turned off" in result.stdout + result.stderr
    assert "outputs-file" not in outputs_of(result)
    assert not service.outputs_file.exists()
    [listed, *_] = tfc.requests_to(RUNS_LIST, "GET")
    assert dict(parse_qsl(listed.query))["filter[operation]"] == "plan_only"


def test_a_run_that_comes_within_the_grace_period_is_followed(
    service: Service, tfc: TfcServer, tmp_path: Path
) -> None:
    """The settings say no run comes, but one does (a person queued it for the commit, or HCP
    Terraform read the push otherwise): the step keeps looking through the grace period and
    follows it."""
    checkout = Checkout(service.root)
    tfc.connect_vcs(ORG, WORKSPACE, working_directory="infra")
    _apply_the_first_commit(service, tfc, checkout)
    archive = config_archive(service.root)
    late: list[str] = []
    queue_later = threading.Timer(
        4.0,
        lambda: late.append(tfc.queue_vcs_run(ORG, WORKSPACE, archive, commit_sha=checkout.pushed)),
    )
    queue_later.start()
    try:
        result = service(
            "--run-source", "vcs", "--commit", checkout.pushed, "--queue-timeout", "60",
            env={**_push_event(tmp_path, checkout.first, checkout.pushed),
                 "INPUT_NO-RUN-GRACE": "30"},
        )  # fmt: skip
    finally:
        queue_later.join()
    assert result.exit_code == 0, result.stdout + result.stderr
    assert (outputs_of(result)["status"], outputs_of(result)["run-id"]) == ("no-changes", late[0])
    assert "none of the 1 file changed is under the working directory" in (
        result.stdout + result.stderr
    )
