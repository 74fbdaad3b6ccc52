"""A sync whose GitHub API cannot be reached says so soon, in one line naming the address, with
each retry in the log: not after the whole backoff in silence.

GitHub's REST documentation ("Troubleshooting the REST API", Timeouts): "If GitHub takes more than
10 seconds to process an API request, GitHub will terminate the request and you will receive a
timeout response", so a connection silent for longer than that will not answer. A request that
got no answer at all (refused, cut, timed out) is retried for about ten seconds, each retry
logged; the default backoff (six attempts from one second, doubling) took some 24 s before.

Real sockets on loopback: a port nothing listens on (refused), and a server that takes the
request and never answers. The console script runs in a subprocess with the default backoff.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from testing.sockets import free_port, unanswering_server
from tests.commands.test_sync_secrets import CONFIG, KEY, OUTPUTS, TOKEN
from tests.conftest import CLI, clean_environment

# What the issue asks (15 s), for a refused connection; a server that takes the request and
# keeps silent is given the one request timeout besides (today: minutes).
REFUSED_WITHIN = 15.0
SILENT_WITHIN = 20.0
GIVE_UP_AFTER = 40.0  # how long the test waits for the old code before failing it


def run_sync(tmp_path: Path, api_url: str) -> tuple[subprocess.CompletedProcess[str], float]:
    (tmp_path / "toto-secrets.yml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "outputs.json").write_text(json.dumps(OUTPUTS), encoding="utf-8")
    arguments = ["sync-secrets", "--environment", "dev", "--outputs", "outputs.json"]
    arguments += ["--github-api-url", api_url, "--fingerprint-key", KEY]
    started = time.monotonic()
    try:
        completed = subprocess.run(
            [str(CLI), *arguments],
            cwd=tmp_path,
            env=clean_environment({"GITHUB_TOKEN": TOKEN}),
            capture_output=True,
            text=True,
            timeout=GIVE_UP_AFTER,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"sync-secrets still running after {GIVE_UP_AFTER:g} s")
    return completed, time.monotonic() - started


def assert_reported(completed: subprocess.CompletedProcess[str], api_url: str) -> None:
    """Exit 1; one error line naming the address; no traceback."""
    assert completed.returncode == 1, completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, completed.stderr
    assert f"no answer from the GitHub API at {api_url}" in errors[0]
    assert "Traceback" not in completed.stderr + completed.stdout
    assert TOKEN not in completed.stderr + completed.stdout


def sync_reported_within(
    seconds: float, tmp_path: Path, port: int
) -> subprocess.CompletedProcess[str]:
    """Sync against the API at 127.0.0.1:port: it ends within seconds, reported as
    assert_reported says; the finished process."""
    api_url = f"http://127.0.0.1:{port}"
    completed, elapsed = run_sync(tmp_path, api_url)
    assert elapsed < seconds, (elapsed, completed.stderr)
    assert_reported(completed, api_url)
    return completed


def test_a_refused_connection_is_reported_within_seconds_each_retry_logged(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there: every connection is refused
    completed = sync_reported_within(REFUSED_WITHIN, tmp_path, port)
    assert "Connection refused" in completed.stderr
    retries = re.findall(
        rf"^GET acme/toto-ms-games: no answer from the GitHub API at http://127\.0\.0\.1:{port} "
        r"\(Connection refused\): retrying in \d+\.\d s \(attempt (\d) of \d\)$",
        completed.stdout,
        re.MULTILINE,
    )
    assert retries[:2] == ["2", "3"], completed.stdout  # every retry of the request, in order


def test_a_server_that_never_answers_is_reported_after_one_request_timeout(
    tmp_path: Path,
) -> None:
    with unanswering_server(hang_up=False) as port:  # takes each connection, never answers
        completed = sync_reported_within(SILENT_WITHIN, tmp_path, port)
    assert "ReadTimeout" in completed.stderr
