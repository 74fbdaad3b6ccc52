"""The stand-in GitHub's deployments: the list of a repository's deployments (newest first,
filtered by sha, ref, task and environment), the list of a deployment's statuses (newest first),
creating a deployment of a commit SHA and a status of one, with their documents (deployment,
deployment-status) and the test-side seeding. Handlers run under the server's lock, as those of
routes.py do."""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from testing.github.documents import account_document, error, node_id
from testing.github.pull_documents import BOT_ID, BOT_LOGIN
from testing.github.pull_routes import array_page
from testing.github.routes import Call, Handler
from testing.github.state import Deployment, DeploymentStatus, Repository, State
from testing.http_stand_in import BRACED_PARAMETERS, Reply, Route, route

# The states GitHub's description allows a deployment status.
STATUS_STATES = frozenset(
    {"error", "failure", "inactive", "pending", "success", "queued", "in_progress"}
)
TASK = "deploy"  # GitHub Actions makes its deployments with the default task
_FILTERS = ("sha", "ref", "task", "environment")
_SHA = re.compile(r"[0-9a-f]{40}")
# GitHub's default environment for a created deployment (the description's `default`).
DEFAULT_ENVIRONMENT = "production"


def deployment_document(api_url: str, repository: Repository, found: Deployment) -> dict[str, Any]:
    """deployment, as GitHub Actions makes it for a job that names an environment."""
    api = f"{api_url}/repos/{repository.full_name}"
    updated_at = found.statuses[-1].created_at if found.statuses else found.created_at
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
        "description": found.description,
        "creator": account_document(BOT_LOGIN, BOT_ID, "Bot"),
        "created_at": found.created_at,
        "updated_at": updated_at,
        "statuses_url": f"{api}/deployments/{found.id}/statuses",
        "repository_url": api,
        "transient_environment": False,
        "production_environment": False,
    }


def status_document(
    api_url: str, repository: Repository, found: Deployment, status: DeploymentStatus
) -> dict[str, Any]:
    """deployment-status."""
    api = f"{api_url}/repos/{repository.full_name}"
    run = status.log_url or f"https://github.com/{repository.full_name}/actions/runs/{found.id}"
    return {
        "url": f"{api}/deployments/{found.id}/statuses/{status.id}",
        "id": status.id,
        "node_id": node_id("DeploymentStatus", status.id),
        "state": status.state,
        "creator": account_document(BOT_LOGIN, BOT_ID, "Bot"),
        "description": status.description,
        "environment": found.environment,
        "target_url": run,  # GitHub sets target_url to log_url
        "log_url": run,
        "environment_url": "",
        "created_at": status.created_at,
        "updated_at": status.created_at,
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


def _create_deployment(call: Call) -> Reply:
    """A deployment of a commit SHA (the stand-in knows no branches or tags: another ref is
    GitHub's 422 for a ref it cannot find). auto_merge and required_contexts change nothing
    here: the stand-in has no branches to merge and no commit statuses to check."""
    ref: str = call.body["ref"]  # the description requires it, a string (checked before)
    if not _SHA.fullmatch(ref):
        raise error(422, f"No ref found for: {ref}")
    state = call.state
    deployment = Deployment(
        id=state.next_id() + 900_000_000,
        sha=ref,
        ref=ref,
        environment=call.body.get("environment", DEFAULT_ENVIRONMENT),
        created_at=state.clock.stamp(),
        statuses=[],
        description=call.body.get("description", ""),
    )
    call.repository.deployments.append(deployment)
    document = deployment_document(call.api_url, call.repository, deployment)
    return Reply(201, document, (("Location", document["url"]),))


def _create_status(call: Call) -> Reply:
    """A status of the deployment; a `success` (with auto_inactive, true by default) adds
    `inactive` to the environment's prior deployments whose latest status is `success`, as the
    description says GitHub does for non-transient, non-production environments (the stand-in's
    deployments all are)."""
    found = _deployment(call)
    body = call.body
    status = DeploymentStatus(
        call.state.next_id() + 950_000_000,
        body["state"],
        call.state.clock.stamp(),
        body.get("log_url") or body.get("target_url", ""),
        body.get("description", ""),
    )
    if status.state == "success" and body.get("auto_inactive", True):
        for prior in call.repository.deployments:
            if prior is found:
                break
            if prior.environment == found.environment and _latest(prior) == "success":
                prior.statuses.append(
                    DeploymentStatus(
                        call.state.next_id() + 950_000_000, "inactive", status.created_at
                    )
                )
    found.statuses.append(status)
    document = status_document(call.api_url, call.repository, found, status)
    return Reply(201, document, (("Location", document["url"]),))


def _latest(deployment: Deployment) -> str | None:
    return deployment.statuses[-1].state if deployment.statuses else None


def _deployment(call: Call) -> Deployment:
    text = call.params["deployment_id"]
    found = next((d for d in call.repository.deployments if str(d.id) == text), None)
    if found is None:
        raise error(404, "Not Found")
    return found


def _list_statuses(call: Call) -> Reply:
    found = _deployment(call)
    documents = [
        status_document(call.api_url, call.repository, found, s) for s in reversed(found.statuses)
    ]
    return array_page(call, documents)


def _route(method: str, template: str, handler: Handler, statuses: set[int]) -> Route[Handler]:
    return route(method, template, handler, statuses, BRACED_PARAMETERS)


_DEPLOYMENTS = "/repos/{owner}/{repo}/deployments"
DEPLOYMENT_ROUTES: list[Route[Handler]] = [
    _route("GET", _DEPLOYMENTS, _list_deployments, {200}),
    _route("POST", _DEPLOYMENTS, _create_deployment, {201, 422}),
    _route("GET", f"{_DEPLOYMENTS}/{{deployment_id}}/statuses", _list_statuses, {200, 404}),
    _route("POST", f"{_DEPLOYMENTS}/{{deployment_id}}/statuses", _create_status, {201, 404}),
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
                statuses=[
                    DeploymentStatus(self._state.next_id() + 950_000_000, s, now) for s in statuses
                ],
            )
            found.deployments.append(deployment)
            return deployment.id

    def add_deployment_status(self, repository: str, deployment_id: int, state: str) -> None:
        """A newer status of a deployment added before (as GitHub Actions marks a job's
        deployment `success` when the job ends); prior deployments are left as they are."""
        if state not in STATUS_STATES:
            raise ValueError(f"not a deployment status state: {state}")
        with self._lock:
            found = self._state.repository(repository)
            deployment = next(d for d in found.deployments if d.id == deployment_id)
            now = self._state.clock.stamp()
            deployment.statuses.append(
                DeploymentStatus(self._state.next_id() + 950_000_000, state, now)
            )

    def deployments(self, repository: str) -> list[Deployment]:
        """The repository's deployments, oldest first (copies)."""
        with self._lock:
            return copy.deepcopy(self._state.repository(repository).deployments)
