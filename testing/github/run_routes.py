"""The stand-in GitHub's workflow runs: GET /repos/{owner}/{repo}/actions/runs/{run_id} with its
document (workflow-run of GitHub's OpenAPI description), and the test-side seeding. Handlers run
under the server's lock, as those of routes.py do.

What the run says of its pull requests follows GitHub, not a wish: the description's
`pull_requests` is "Pull requests that are open with a `head_sha` or `head_branch` that matches
the workflow run"; GitHub empties it once the pull request is merged or closed (a GitHub staff
member reproduced it: con/tinuous#28) and leaves out a fork's pull requests (github/docs#22501).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from testing.github.documents import account_document, error, node_id, repository_document
from testing.github.pull_documents import BOT_ID, BOT_LOGIN
from testing.github.routes import Call, Handler
from testing.github.state import Repository, State, WorkflowRun
from testing.http_stand_in import BRACED_PARAMETERS, Reply, Route, route

WORKFLOW_ID = 161_335  # one workflow per file would be truer; no reader here needs its id


def workflow_run_document(api_url: str, repository: Repository, run: WorkflowRun) -> dict[str, Any]:
    """workflow-run, as GET /repos/{owner}/{repo}/actions/runs/{run_id} answers it. `path`
    takes the form of the description's example for this operation
    (`.github/workflows/build.yml@main`)."""
    api = f"{api_url}/repos/{repository.full_name}"
    url = f"{api}/actions/runs/{run.id}"
    head = _repository(api_url, run.head_repository, repository)
    return {
        "id": run.id,
        "name": "toto-actions",
        "node_id": node_id("WorkflowRun", run.id),
        "head_branch": run.head_branch,
        "head_sha": run.head_sha,
        "path": f"{run.path}@{run.head_branch}",
        "display_title": f"Run {run.id}",
        "run_number": run.id % 1000,
        "run_attempt": 1,
        "event": run.event,
        "status": "completed",
        "conclusion": "success",
        "workflow_id": WORKFLOW_ID,
        "url": url,
        "html_url": f"https://github.com/{repository.full_name}/actions/runs/{run.id}",
        "pull_requests": [
            _pull_request_minimal(api, repository, number, run)
            for number in _open_pulls(repository, run)
        ],
        "created_at": run.created_at,
        "updated_at": run.updated_at,
        "run_started_at": run.created_at,
        "actor": account_document(BOT_LOGIN, BOT_ID, "Bot"),
        "jobs_url": f"{url}/jobs",
        "logs_url": f"{url}/logs",
        "check_suite_url": f"{api}/check-suites/{run.id + 1}",
        "artifacts_url": f"{url}/artifacts",
        "cancel_url": f"{url}/cancel",
        "rerun_url": f"{url}/rerun",
        "workflow_url": f"{api}/actions/workflows/{WORKFLOW_ID}",
        "head_commit": None,
        "repository": repository_document(api_url, repository),
        "head_repository": head,
    }


def _open_pulls(repository: Repository, run: WorkflowRun) -> list[int]:
    """The open pull requests of the repository (not a fork's) whose head commit or branch is
    the run's."""
    return [
        pull.number
        for pull in sorted(repository.pulls.values(), key=lambda p: p.number)
        if pull.merge_commit_sha is None
        and pull.head_repository.lower() == repository.full_name.lower()
        and (pull.head_sha == run.head_sha or pull.head_ref == run.head_branch)
    ]


def _pull_request_minimal(
    api: str, repository: Repository, number: int, run: WorkflowRun
) -> dict[str, Any]:
    pull = repository.pulls[number]
    repo = {"id": repository.id, "url": api, "name": repository.full_name.split("/")[1]}
    return {
        "id": pull.id,
        "number": pull.number,
        "url": f"{api}/pulls/{pull.number}",
        "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo": repo},
        "base": {"ref": pull.base_ref, "sha": run.head_sha, "repo": repo},
    }


def _repository(api_url: str, full_name: str, repository: Repository) -> dict[str, Any]:
    """The run's head repository: this one, or a fork made up for it."""
    if full_name.lower() == repository.full_name.lower():
        return repository_document(api_url, repository)
    fork = Repository(
        repository.id + 3_000_000, full_name, repository.created_at, repository.target
    )
    return {**repository_document(api_url, fork), "fork": True}


def _get_run(call: Call) -> Reply:
    text = call.params["run_id"]
    run = call.repository.runs.get(int(text)) if text.isdigit() else None
    if run is None:
        raise error(404, "Not Found")
    return Reply(200, workflow_run_document(call.api_url, call.repository, run))


WORKFLOW_RUN_ROUTES: list[Route[Handler]] = [
    route(
        "GET",
        "/repos/{owner}/{repo}/actions/runs/{run_id}",
        _get_run,
        {200, 404},
        BRACED_PARAMETERS,
    ),
]


class WorkflowRunSeeding:
    """GitHubServer's workflow run methods; they hold its lock, as every method of it does."""

    _lock: AbstractContextManager[Any]
    _state: State

    def add_workflow_run(
        self,
        repository: str,
        run_id: int,
        head_sha: str,
        *,
        path: str = ".github/workflows/core.yml",
        event: str = "pull_request",
        head_branch: str = "feature",
        head_repository: str | None = None,
        started_at: str | None = None,
    ) -> None:
        """A run of the workflow file at path, started by event on head_branch at head_sha (in
        head_repository: a fork when it is not the repository), at started_at (a `now()` taken
        before its job ran; default now) and completed now."""
        with self._lock:
            found = self._state.repository(repository)
            now = self._state.clock.stamp()
            found.runs[run_id] = WorkflowRun(
                run_id,
                path,
                event,
                head_sha,
                head_branch,
                head_repository or repository,
                started_at or now,
                now,
            )

    def now(self) -> str:
        """The stand-in's clock, as GitHub writes a timestamp."""
        with self._lock:
            return self._state.clock.stamp()
