"""render-workflow's checkouts with `run-source: vcs` (issue 27, item 5).

tf-apply tells that HCP Terraform starts no VCS run for a push (or a pull request) from the files
it changed, read with `git diff before...after` in the checkout (toto_actions/git.py). The
checkout must hold both commits: actions/checkout (action.yml at the pinned v4.4.0,
11d5960a326750d5838078e36cf38b85af677262) fetches `fetch-depth` commits, default 1, and "0
indicates all history for all branches and tags". So the apply and pull-request plan jobs of a
vcs core workflow fetch the whole history; the drift job (an upload, no diff) and every other
combination keep the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.commands.test_render_workflow import CORE, load
from tests.commands.test_render_workflow_plans import COMBINATIONS, Combination
from tests.conftest import CliRunner

CORE_COMBINATIONS = [c for c in COMBINATIONS if c.kind == "core"]


def checkouts(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout@")]


@pytest.mark.parametrize("combination", CORE_COMBINATIONS, ids="-".join)
def test_only_the_vcs_apply_and_plan_checkouts_fetch_the_whole_history(
    inline_cli: CliRunner, tmp_path: Path, combination: Combination
) -> None:
    _, engine, drift, run_source = combination
    arguments = ["--kind=core", "--service=toto-x", f"--terraform-engine={engine}"]
    arguments += ["--sync-auth=token"]  # environments: dev=main;prod=prod, the default
    arguments += ["--drift-schedule=none"] if drift == "none" else []
    arguments += [f"--run-source={run_source}"] if run_source != "default" else []
    result = inline_cli("render-workflow", *arguments)
    assert result.exit_code == 0, result.stdout + result.stderr
    jobs: dict[str, Any] = load(tmp_path / CORE)["jobs"]
    expected_jobs = {"apply-dev", "plan-dev", "apply-prod", "plan-prod"}
    if drift != "none":
        expected_jobs |= {"drift-dev", "drift-prod"}
    assert set(jobs) == expected_jobs
    for name, job in jobs.items():
        [checkout] = checkouts(job)
        needs_history = run_source == "vcs" and not name.startswith("drift-")
        if needs_history:
            assert checkout["with"] == {"persist-credentials": False, "fetch-depth": 0}, name
        else:
            assert checkout["with"] == {"persist-credentials": False}, name
    text = (tmp_path / CORE).read_text(encoding="utf-8")
    count = 4 if run_source == "vcs" else 0
    assert text.count("fetch-depth: 0") == count
    assert text.count("git diff before...after") == count
