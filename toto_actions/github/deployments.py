"""GitHub's deployments, through PyGithub: the commit an environment runs now.

GitHub Actions records a deployment for each job that names an environment, with statuses as the
job goes (queued, in_progress, then success, failure or error); a newer successful deployment
turns the older ones' `success` into `inactive`. So what an environment runs is the newest
deployment whose latest status is `success`: deployments are listed newest first
(GET /repos/{owner}/{repo}/deployments?environment=...), and each one's statuses newest first
(GET .../deployments/{deployment_id}/statuses), of which only the first counts. Both need the
token's Deployments: read.

A redeploy names its environment, so GitHub records the job as a deployment of the run's commit
(the default branch's), not of the commit it applied. The redeploy then records what it applied:
a deployment of that SHA (POST /repos/{owner}/{repo}/deployments) with a `success` status
(POST .../deployments/{deployment_id}/statuses), both made after the job started and so newer
than GitHub's record of it: the next lookup finds the applied commit. Both need Deployments: write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from toto_actions import actions_runtime
from toto_actions.github.pull_requests import guarded

if TYPE_CHECKING:
    from github import Github
    from github.Deployment import Deployment

SUCCESS = "success"
# The record's description; a status description is at most 140 characters.
RECORD_DESCRIPTION = "toto-actions redeploy: the commit the environment ran, applied again"


class DeployedCommit(NamedTuple):
    """The environment's latest successful deployment."""

    sha: str
    deployment_id: int
    ref: str
    created_at: str  # as GitHub wrote it (ISO 8601, UTC)


def deployed_commit(
    token: str, api_url: str, repository: str, environment: str
) -> DeployedCommit | None:
    """The commit of the newest deployment to environment whose latest status is success; None
    when the environment has none (never deployed, or every deployment failed)."""
    client = _client(token, api_url)
    deployments = client.get_repo(repository).get_deployments(environment=environment)

    def lookup() -> DeployedCommit | None:
        for deployment in deployments:
            if _latest_state(deployment) == SUCCESS:
                return DeployedCommit(
                    deployment.sha,
                    deployment.id,
                    deployment.ref,
                    deployment.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                )
        return None

    return guarded(f"the deployments of {repository} to {environment}", lookup)


def _latest_state(deployment: Deployment) -> str | None:
    """The state of the deployment's newest status (None: no status yet)."""
    for status in deployment.get_statuses():
        state: str = status.state
        return state
    return None


def record_deployment(
    token: str, api_url: str, repository: str, environment: str, *, sha: str, log_url: str | None
) -> int:
    """Record sha as deployed to environment: a deployment of it (made from the SHA itself, no
    merge of the default branch, no commit status checks, which a commit already deployed has
    passed or skipped) and a `success` status linking log_url; returns the deployment's id."""
    client = _client(token, api_url)
    repo = client.get_repo(repository)

    def create() -> int:
        deployment = repo.create_deployment(
            ref=sha,
            auto_merge=False,
            required_contexts=[],
            environment=environment,
            description=RECORD_DESCRIPTION,
        )
        # Through the requester: PyGithub's create_status knows target_url, not its successor
        # log_url (GitHub then sets target_url to the same).
        status: dict[str, Any] = {"state": SUCCESS, "description": RECORD_DESCRIPTION}
        if log_url:
            status["log_url"] = log_url
        client.requester.requestJsonAndCheck("POST", f"{deployment.url}/statuses", input=status)
        deployment_id: int = deployment.id
        return deployment_id

    return guarded(f"recording {sha} as deployed to {environment} in {repository}", create)


def _client(token: str, api_url: str) -> Github:
    from github import Auth, Github

    actions_runtime.mask(token)  # before any request could print it
    return Github(
        base_url=api_url.rstrip("/"),
        auth=Auth.Token(token),
        lazy=True,  # the repository is an address: only the lists and the writes reach GitHub
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        per_page=100,
        timeout=30,
    )
