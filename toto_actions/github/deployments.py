"""GitHub's deployments, through PyGithub: the commit an environment runs now, hardened.

GitHub Actions records a deployment for each job that names an environment, with statuses as the
job goes (queued, in_progress, then success, failure or error); a newer successful deployment
adds `inactive` to the older ones whose state was `success` (`auto_inactive`, true by default:
GitHub's OpenAPI description of POST .../deployments/{deployment_id}/statuses). Deployments are
listed newest first (GET /repos/{owner}/{repo}/deployments?environment=...), each one's statuses
newest first (GET .../deployments/{deployment_id}/statuses); both need Deployments: read.

Anyone with Deployments: write can make a deployment of any commit with a `success` status, so a
record alone proves nothing. The lookup takes the newest deployment whose statuses show `success`,
possibly followed by `inactive` (a newer record, genuine or not, made it inactive), and whose
commit a branch matching the environment's patterns contains (toto_actions.github.branches: the
branches list and the comparison API); a deployment of a commit on no such branch is skipped
with a warning naming it. What remains: a writer can still point the lookup at an older commit of
the environment's own branches, by recording a deployment of it.

A redeploy names its environment, so GitHub records the job as a deployment of the run's commit,
not of the commit it applied. The redeploy then records what it applied: a deployment of that SHA
(POST /repos/{owner}/{repo}/deployments) with a `success` status (POST .../statuses), both made
after the job started and so newer than GitHub's record of it. Both need Deployments: write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from toto_actions import actions_runtime
from toto_actions.errors import OperationError
from toto_actions.github.branches import branch_names, contains, dispatch_workflow
from toto_actions.github.pull_requests import guarded
from toto_actions.workflows.environments import branch_matches

if TYPE_CHECKING:
    from github import Github
    from github.Deployment import Deployment
    from github.Repository import Repository

SUCCESS = "success"
INACTIVE = "inactive"
# The record's description; a status description is at most 140 characters.
RECORD_DESCRIPTION = "toto-actions redeploy: the commit the environment ran, applied again"


class DeployedCommit(NamedTuple):
    """The environment's newest successful deployment of a commit on one of its branches."""

    sha: str
    deployment_id: int
    ref: str
    created_at: str  # as GitHub wrote it (ISO 8601, UTC)
    branch: str  # a branch matching the environment's patterns that contains sha


def deployed_commit(
    token: str, api_url: str, repository: str, environment: str, patterns: Sequence[str]
) -> DeployedCommit | None:
    """The newest deployment to environment whose statuses show success (possibly followed by
    inactive) and whose commit a branch matching patterns contains; None when there is none.
    OperationError when no branch matches the patterns at all."""
    repo = repository_client(token, api_url, repository)
    branches = [b for b in branch_names(repo, repository) if _admitted(b, patterns)]
    if not branches:
        raise OperationError(
            f"{repository} has no branch matching {', '.join(patterns)} ({environment}'s "
            "branches): nothing to redeploy"
        )
    deployments = repo.get_deployments(environment=environment)

    def lookup() -> DeployedCommit | None:
        for deployment in deployments:
            if not _succeeded(deployment):
                continue
            branch = _containing_branch(repo, repository, deployment, branches)
            if branch is None:
                _warn_skipped(deployment, environment, patterns)
                continue
            return DeployedCommit(
                deployment.sha,
                deployment.id,
                deployment.ref,
                deployment.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                branch,
            )
        return None

    return guarded(f"the deployments of {repository} to {environment}", lookup)


def _admitted(branch: str, patterns: Sequence[str]) -> bool:
    return any(branch_matches(pattern, branch) for pattern in patterns)


def _succeeded(deployment: Deployment) -> bool:
    """Whether the deployment's newest status, past any `inactive` ones, is `success`."""
    for status in deployment.get_statuses():  # newest first
        state: str = status.state
        if state != INACTIVE:
            return state == SUCCESS
    return False


def _containing_branch(
    repo: Repository, repository: str, deployment: Deployment, branches: Sequence[str]
) -> str | None:
    """The first of branches (the deployment's own ref first) that contains its commit."""
    ordered = sorted(branches, key=lambda branch: branch != deployment.ref)
    sha: str = deployment.sha
    return next((b for b in ordered if contains(repo, repository, b, sha)), None)


def _warn_skipped(deployment: Deployment, environment: str, patterns: Sequence[str]) -> None:
    actions_runtime.warning(
        f"skipped deployment {deployment.id} to {environment} of {deployment.sha} "
        f"({deployment.ref}): no branch matching {', '.join(patterns)} contains that commit"
    )


def commit_on_branch(token: str, api_url: str, repository: str, branch: str, sha: str) -> bool:
    """Whether the branch contains the commit (GitHub's comparison: identical or behind)."""
    return contains(repository_client(token, api_url, repository), repository, branch, sha)


def start_redeploy(token: str, api_url: str, repository: str, workflow: str, branch: str) -> None:
    """Start the workflow file on the branch with the input redeploy=true (workflow_dispatch)."""
    repo = repository_client(token, api_url, repository)
    dispatch_workflow(repo, repository, workflow, branch, {"redeploy": "true"})


def repository_client(token: str, api_url: str, repository: str) -> Repository:
    """The repository, lazily: no request until a list, a comparison or a write."""
    return _client(token, api_url).get_repo(repository)


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
