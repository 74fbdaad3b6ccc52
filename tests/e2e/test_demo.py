"""scripts/demo, the README's "see it work" command, run once as a person runs it.

It installs what it needs (scripts/bootstrap: nothing new here), starts its own stack, runs both
flows under act, prints what happened and stops everything; the test reads its output and its
log, and looks for anything it left behind.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, clean_environment
from tests.e2e.flows import (
    DB_PASSWORD,
    EXPECTED_SECRETS,
    FINGERPRINT_KEY,
    JOB_TOKEN,
    SERVICE_REPOSITORIES,
    TF_API_TOKEN,
)

DEMO = REPO_ROOT / "scripts" / "demo"
DEMO_TIMEOUT = 600


def processes_naming(path: str) -> list[str]:
    """The command lines of running processes that name path."""
    found: list[str] = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # ended meanwhile
        if path in text:
            found.append(text)
    return found


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], str]:
    log = tmp_path_factory.mktemp("demo") / "act.log"
    completed = subprocess.run(
        [str(DEMO), "--log", str(log)],
        env=clean_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    return completed, log.read_text(encoding="utf-8")


def test_the_demo_runs_both_flows_green_and_says_what_happened(
    demo: tuple[subprocess.CompletedProcess[str], str],
) -> None:
    completed, _ = demo
    out = completed.stdout
    assert completed.returncode == 0, out + completed.stderr
    for step in (
        "Apply the core Terraform",
        "Write the core outputs as secrets of the service repositories",
        "Build the image and push it",
        "Deploy the new image with the service's Terraform",
    ):
        assert re.search(rf"^   {re.escape(step)} \.+ ok ", out, re.MULTILINE), step
    image = r"^   image +127\.0\.0\.1:\d+/toto-ms-expenses/dev:[0-9a-f]{7} "
    assert re.search(image, out, re.M), out
    assert re.search(r"^   digest +sha256:[0-9a-f]{64} \(the registry serves it\)$", out, re.M)
    assert "applied: 8 added, 0 changed, 0 destroyed" in out  # the core's 8 terraform_data
    assert "applied: 1 added, 0 changed, 0 destroyed; the deployment holds image_tag" in out
    for repository in SERVICE_REPOSITORIES:
        assert re.search(rf"^     {re.escape(repository)} +\(9\) [A-Z]", out, re.M), repository
    for name in EXPECTED_SECRETS:
        assert out.count(name) >= len(SERVICE_REPOSITORIES), name
    assert "FAILED" not in out
    assert re.search(r"^Demo green in \d+s\. act's output: ", out, re.MULTILINE)


def test_both_flows_run_through_the_callers_of_the_reusable_workflows(
    demo: tuple[subprocess.CompletedProcess[str], str],
) -> None:
    """The demo's repositories commit the default render, a caller: act resolves the called
    workflow through --local-repository (toto/actions@v1), runs its route job, then the one job
    the push chose. act sets no job.workflow_sha, so the toolkit's checkout falls back to the
    major tag, which the stand-in checkout fetches from the toolkit's origin; and act passes the
    called workflow only the secrets the caller maps, which the harness maps (Act.run)."""
    completed, log = demo
    out = completed.stdout
    for kind, job in (("core", "apply"), ("microservice", "deploy")):
        assert re.search(rf"^== The {kind} flow: .* \(toto-{kind}\.yml, job {job}\)$", out, re.M)
    assert out.count("Check out the toolkit at this workflow's commit ..") == 2
    assert re.search(r"^   Write them into the plan environment dev-plan too \.+ ok ", out, re.M)
    assert log.count("checked out toto/actions@v1: ") == 4  # each flow: its route and its job
    assert "| apply: dev" in log and "| deploy: dev" in log  # the route jobs' choices


def test_the_demo_prints_and_logs_no_secret_value(
    demo: tuple[subprocess.CompletedProcess[str], str],
) -> None:
    completed, log = demo
    assert "Job succeeded" in log and "***" in log  # the log is act's output, masked
    secrets = {FINGERPRINT_KEY, TF_API_TOKEN, JOB_TOKEN, DB_PASSWORD}
    for text in (completed.stdout, completed.stderr, log):
        assert not [secret for secret in secrets if secret in text]
        assert "PRIVATE KEY" not in text  # the GitHub App's key, made for the run
    assert not [value for value in EXPECTED_SECRETS.values() if value in completed.stdout]


def test_the_demo_leaves_nothing_running_and_no_files_but_its_log(
    demo: tuple[subprocess.CompletedProcess[str], str],
) -> None:
    _, log = demo
    # Its work directory (repositories, act's cache) and the Docker engine's, as act's log names
    # them.
    work = re.search(r"(/tmp/toto-demo-[^/\s]+)/toto-actions-v1", log)
    engine = re.search(r"unix://(/tmp/toto-docker-[^/\s]+)/docker\.sock", log)
    assert work and engine, log[:2000]
    for directory in (work[1], engine[1]):
        assert not Path(directory).exists(), directory
        assert processes_naming(directory) == [], directory
