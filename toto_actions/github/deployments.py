"""GitHub's deployments, through PyGithub: the commit an environment runs now.

GitHub Actions records a deployment for each job that names an environment, with statuses as the
job goes (queued, in_progress, then success, failure or error); a newer successful deployment
turns the older ones' `success` into `inactive`. So what an environment runs is the newest
deployment whose latest status is `success`: deployments are listed newest first
(GET /repos/{owner}/{repo}/deployments?environment=...), and each one's statuses newest first
(GET .../deployments/{deployment_id}/statuses), of which only the first counts. Both need the
token's Deployments: read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from toto_actions import actions_runtime
from toto_actions.github.pull_requests import guarded

if TYPE_CHECKING:
    from github.Deployment import Deployment

SUCCESS = "success"


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
    from github import Auth, Github

    actions_runtime.mask(token)  # before any request could print it
    client = Github(
        base_url=api_url.rstrip("/"),
        auth=Auth.Token(token),
        lazy=True,  # the repository is an address: only the two lists reach GitHub
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        per_page=100,
        timeout=30,
    )
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
