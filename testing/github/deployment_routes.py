"""The stand-in GitHub's deployments: the list of a repository's deployments (newest first,
filtered by sha, ref, task and environment) and the list of a deployment's statuses (newest
first), with their documents (deployment, deployment-status) and the test-side seeding. Handlers
run under the server's lock, as those of routes.py do."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from testing.github.documents import account_document, error, node_id
from testing.github.pull_documents import BOT_ID, BOT_LOGIN
from testing.github.pull_routes import array_page
from testing.github.routes import Call, Handler
from testing.github.state import Deployment, Repository, State
from testing.http_stand_in import BRACED_PARAMETERS, Reply, Route, route

# The states GitHub's description allows a deployment status.
STATUS_STATES = frozenset(
    {"error", "failure", "inactive", "pending", "success", "queued", "in_progress"}
)
TASK = "deploy"  # GitHub Actions makes its deployments with the default task
_FILTERS = ("sha", "ref", "task", "environment")


def deployment_document(api_url: str, repository: Repository, found: Deployment) -> dict[str, Any]:
    """deployment, as GitHub Actions makes it for a job that names an environment."""
    api = f"{api_url}/repos/{repository.full_name}"
    updated_at = found.statuses[-1][2] if found.statuses else found.created_at
    return {
        "url": f"{api}/deployments/{found.id}",
        "id": found.id,
        "node_id": node_id("Deployment", found.id),
        "sha": found.sha,
        "ref": found.ref,
        "task": TASK,
        "payload": {},
        "original_environment": found.environment,
        "environment": found.environment,
        "description": None,
        "creator": account_document(BOT_LOGIN, BOT_ID, "Bot"),
        "created_at": found.created_at,
        "updated_at": updated_at,
        "statuses_url": f"{api}/deployments/{found.id}/statuses",
        "repository_url": api,
        "transient_environment": False,
        "production_environment": False,
    }


def status_document(
    api_url: str, repository: Repository, found: Deployment, status: tuple[int, str, str]
) -> dict[str, Any]:
    """deployment-status."""
    status_id, state, created_at = status
    api = f"{api_url}/repos/{repository.full_name}"
    run = f"https://github.com/{repository.full_name}/actions/runs/{found.id}"
    return {
        "url": f"{api}/deployments/{found.id}/statuses/{status_id}",
        "id": status_id,
        "node_id": node_id("DeploymentStatus", status_id),
        "state": state,
        "creator": account_document(BOT_LOGIN, BOT_ID, "Bot"),
        "description": "",
        "environment": found.environment,
        "target_url": run,
        "log_url": run,
        "environment_url": "",
        "created_at": created_at,
        "updated_at": created_at,
        "deployment_url": f"{api}/deployments/{found.id}",
        "repository_url": api,
    }


def _list_deployments(call: Call) -> Reply:
    wanted = {key: call.query[key] for key in _FILTERS if key in call.query}
    listed = [
        deployment_document(call.api_url, call.repository, d)
        for d in reversed(call.repository.deployments)
    ]
    matching = [d for d in listed if all(d[key] == value for key, value in wanted.items())]
    return array_page(call, matching)


def _list_statuses(call: Call) -> Reply:
    text = call.params["deployment_id"]
    found = next((d for d in call.repository.deployments if str(d.id) == text), None)
    if found is None:
        raise error(404, "Not Found")
    documents = [
        status_document(call.api_url, call.repository, found, s) for s in reversed(found.statuses)
    ]
    return array_page(call, documents)


def _route(method: str, template: str, handler: Handler, statuses: set[int]) -> Route[Handler]:
    return route(method, template, handler, statuses, BRACED_PARAMETERS)


_DEPLOYMENTS = "/repos/{owner}/{repo}/deployments"
DEPLOYMENT_ROUTES: list[Route[Handler]] = [
    _route("GET", _DEPLOYMENTS, _list_deployments, {200}),
    _route("GET", f"{_DEPLOYMENTS}/{{deployment_id}}/statuses", _list_statuses, {200, 404}),
]


class DeploymentSeeding:
    """GitHubServer's deployment methods; they hold its lock, as every method of it does."""

    _lock: AbstractContextManager[Any]
    _state: State

    def add_deployment(
        self,
        repository: str,
        environment: str,
        sha: str,
        statuses: Sequence[str],
        ref: str = "main",
    ) -> int:
        """A deployment of sha to the environment with these status states, oldest first (a
        workflow job's: queued, in_progress, then success or failure); returns its id. Each
        deployment is newer than those added before it."""
        unknown = set(statuses) - STATUS_STATES
        if unknown:
            raise ValueError(f"not deployment status states: {sorted(unknown)}")
        with self._lock:
            found = self._state.repository(repository)
            now = self._state.clock.stamp()
            deployment = Deployment(
                id=self._state.next_id() + 900_000_000,
                sha=sha,
                ref=ref,
                environment=environment,
                created_at=now,
                statuses=[(self._state.next_id() + 950_000_000, s, now) for s in statuses],
            )
            found.deployments.append(deployment)
            return deployment.id
