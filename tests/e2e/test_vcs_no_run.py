"""A push HCP Terraform starts no VCS run for, end to end: the rendered core workflow with
`--run-source vcs` run by act against the stand-in HCP Terraform and GitHub (issue 27, item 5).

The core workspace's trigger patterns name the Terraform configuration only, and the push changes
`docs/` only: HCP Terraform starts no run (hashicorp/web-unified-docs,
content/terraform-docs-common/docs/cloud-docs/workspaces/settings/vcs.mdx: with trigger
patterns, a push starts a run only when a changed file matches one; the stand-in's
testing/tfc/vcs.py). tf-apply tells so from the push's files, `git diff before...after` in the
checkout, which needs both commits there: actions/checkout fetches `fetch-depth` commits, 1 by
default (action.yml at the pinned v4.4.0), so the rendered workflow asks for `fetch-depth: 0`.

What act does differently from GitHub, and how the test makes up for it:
- act never runs actions/checkout for the repository being run: it copies the repository, .git
  and its whole history included, into the job's workspace, so `fetch-depth` would change
  nothing. This run asks act for --no-skip-checkout and maps actions/checkout to the stand-in
  (tests/e2e/stand-ins/checkout), which fetches from a bare copy of the repository as the real
  action fetches from GitHub, `fetch-depth` honoured (tests/e2e/act.py, git_origins).
- act hands the steps the event file as it is given and adds nothing: GitHub's push payload has
  `before` and `after` (github/docs, "Webhook events and payloads", push), so the event here
  carries them too; act's own default push event has neither.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import requests

from testing.github.server import GitHubServer
from testing.tfc.server import TfcServer
from testing.tfc.vcs import Push
from tests.e2e import flows
from tests.e2e.act import Act, ActRun, assert_nothing_leaked
from tests.e2e.repositories import commit, git, head
from toto_actions.terraform.archive import config_archive

SERVICE_REPOSITORY = f"{flows.ORG}/toto-ms-games"
APPLY_STEP = "Apply the core Terraform"
TRIGGER_PATTERNS = ("/terraform/**/*",)
# Short, so that a step that cannot tell (its checkout without the push's `before`) fails fast.
QUEUE_TIMEOUT = 25
NO_RUN_GRACE = 3
VCS_INPUT = "          run-source: vcs  # follow the run the workspace's VCS connection started"


def shorten_the_waits(repository: Path) -> None:
    """The rendered apply steps with a short queue timeout and no-run grace (the defaults, 1800
    s and 120 s, are a real workspace's), committed."""
    workflow = repository / flows.CORE_WORKFLOW
    text = workflow.read_text(encoding="utf-8")
    assert VCS_INPUT in text
    lines = [
        line + f'\n          queue-timeout: "{QUEUE_TIMEOUT}"\n'
        f'          no-run-grace: "{NO_RUN_GRACE}"'
        if line.startswith(VCS_INPUT)
        else line
        for line in text.splitlines()
    ]
    workflow.write_text("\n".join(lines) + "\n", encoding="utf-8")
    commit(repository, {}, "Short waits for the test")


def apply_by_hand(tfc: TfcServer, run_id: str) -> None:
    """Confirm the workspace's initial run as a user does in HCP Terraform (a new VCS workspace
    starts no run before one is queued by hand: workspaces/run/ui.mdx), until it applied."""
    assert tfc.wait_for_run(run_id, {"planned"}) == "planned"
    answer = requests.post(
        f"{tfc.url}/api/v2/runs/{run_id}/actions/apply",
        headers={
            "Authorization": f"Bearer {flows.TF_API_TOKEN}",
            "Content-Type": "application/vnd.api+json",
        },
        json={"comment": "the initial run"},
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    assert tfc.wait_for_run(run_id, {"applied"}) == "applied"


def bare_origin(repository: Path, origins: Path) -> Path:
    """A bare copy of repository at origins/<owner>/<name>.git: GitHub's, for the checkout."""
    destination = origins / f"{flows.CORE_REPOSITORY}.git"
    destination.parent.mkdir(parents=True)
    subprocess.run(
        ["git", "clone", "--quiet", "--bare", str(repository), str(destination)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return origins


def push_core(
    act: Act, repository: Path, tfc: TfcServer, github: GitHubServer, *, before: str, after: str
) -> tuple[ActRun, frozenset[str]]:
    """The push of after (on before) to main: the job apply-dev under act, checked out by the
    stand-in actions/checkout; the run and the values it must never print."""
    secrets = {"TF_API_TOKEN": flows.TF_API_TOKEN, **flows.app_secrets(github)}
    event = {
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "repository": {"full_name": flows.CORE_REPOSITORY, "default_branch": "main"},
    }
    run = act.run(
        repository,
        flows.CORE_WORKFLOW,
        "apply-dev",
        event=event,
        secrets=secrets,
        variables={
            "TF_CLOUD_ORGANIZATION": flows.ORG,
            "TF_CLOUD_ADDRESS": tfc.url,
            "TOTO_GITHUB_API_URL": github.url,
            "TOTO_APP_ID": str(flows.APP_ID),
        },
        git_origins=bare_origin(repository, repository.parent / "origins"),
    )
    return run, frozenset({*secrets.values(), flows.DB_PASSWORD})


def test_a_push_the_trigger_patterns_exclude_ends_with_no_run_and_the_sync_still_runs(
    act: Act, tmp_path: Path
) -> None:
    """Only docs/ changed: the apply step ends green with status no-run and a notice giving the
    reason, uploads nothing, and the sync writes the current state's outputs into the service
    repositories. On a checkout of one commit (fetch-depth 1), the files are unknown and the
    step waits out its queue timeout and fails."""
    with (
        TfcServer(step_seconds=0.02, state_processing_seconds=0.3) as tfc,
        GitHubServer() as github,
    ):
        flows.serve_core_workspace(tfc)
        tfc.connect_vcs(
            flows.ORG,
            flows.CORE_WORKSPACE,
            flows.CORE_REPOSITORY,
            trigger_patterns=TRIGGER_PATTERNS,
        )
        flows.serve_service_repositories(github, (SERVICE_REPOSITORY,))
        repository = flows.new_core_repository(
            tmp_path / flows.CORE_SERVICE, engine="cloud", repositories=(SERVICE_REPOSITORY,)
        )
        flows.render_core_workflow(repository, "cloud", (SERVICE_REPOSITORY,), "--run-source=vcs")
        shorten_the_waits(repository)
        before = head(repository)
        archive = config_archive(repository / "terraform")
        initial = tfc.queue_vcs_run(flows.ORG, flows.CORE_WORKSPACE, archive, commit_sha=before)
        apply_by_hand(tfc, initial)

        after = commit(repository, {"docs/README.md": "How the core is run.\n"}, "Document it")
        pushed = Push(after, changed_files=["docs/README.md"])
        started = tfc.vcs_webhook(flows.ORG, flows.CORE_WORKSPACE, archive, pushed)
        assert started is None  # the stand-in starts no run, as HCP Terraform would not

        run, sensitive = push_core(act, repository, tfc, github, before=before, after=after)
        assert run.exit_code == 0, flows.log(run)
        assert flows.succeeded(run, APPLY_STEP), flows.log(run)
        assert run.outputs()["status"] == "no-run", flows.log(run)
        reason = "none of the 1 file changed matches the trigger patterns (/terraform/**/*)"
        assert f"no run of {flows.CORE_WORKSPACE}: {reason}" in run.output, flows.log(run)
        history = git(repository, "rev-list", "--count", "HEAD")
        assert f"checked out {after}, {history} commit(s) of history" in run.output, flows.log(run)
        assert [r.id for r in tfc.runs(flows.ORG, flows.CORE_WORKSPACE)] == [
            initial
        ]  # nothing uploaded
        assert github.secrets(SERVICE_REPOSITORY, "dev") == flows.EXPECTED_SECRETS
        assert github.secrets(SERVICE_REPOSITORY, "dev-plan") == flows.PLAN_SECRETS
        assert_nothing_leaked(run, sensitive)
        assert tfc.errors == [] and github.errors == []
