"""`toto-actions deployed-commit`: the commit an environment runs now, from GitHub's deployments.

A `repository_dispatch` run starts on the default branch, which a protected environment's branch
policy may refuse; so its handler job (no environment) runs this command with --dispatch-workflow:
it finds the commit the environment runs (the newest successful deployment whose commit a branch
matching the environment's --branches contains) and starts the workflow on that branch with the
input redeploy=true. That run's redeploy job, on a branch the environment admits, runs this
command again: it finds the commit the same way and checks that the job's own branch
(--job-branch, GITHUB_REF_NAME) contains it, then checks it out and applies it again. GitHub
records that job as a deployment of the run's commit, so after a successful apply the job runs
this command again with --record SHA, which records a deployment of the applied commit (newer
than GitHub's record of the job) for the next lookup to find.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from toto_actions import actions_runtime
from toto_actions.commands import deployed_image
from toto_actions.errors import OperationError, UsageError
from toto_actions.github import API_URL_OPTION, DEFAULT_API_URL
from toto_actions.options import URL, GivenOptions, Option

_REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
_MAX_ENVIRONMENT = 255  # GitHub's limit for an environment name
_SHA = re.compile(r"[0-9a-f]{40}")
_WORKFLOW_FILE = re.compile(r"[A-Za-z0-9_.-]+\.ya?ml")

OPTIONS = (
    Option(
        "--environment",
        "the GitHub environment whose latest successful deployment is looked up",
        required=True,
    ),
    Option(
        "--branches",
        "the environment's branch patterns, comma-separated as render writes them "
        "(main,feature/**): only a commit one of those branches contains counts",
    ),
    Option(
        "--dispatch-workflow",
        "instead of checking the job's branch, start this workflow file (toto-microservice.yml) "
        "with the input redeploy=true on the branch that contains the deployed commit (needs "
        "Actions: write)",
        metavar="FILE",
    ),
    Option(
        "--job-branch",
        "the branch the job runs on, which must contain the deployed commit (default: the "
        "workflow's)",
        fallback_variable="GITHUB_REF_NAME",
    ),
    Option(
        "--record",
        "instead of looking it up, record this commit as the environment's deployed one: a "
        "deployment of it with a success status (needs Deployments: write)",
        metavar="SHA",
    ),
    Option(
        "--log-url",
        "with --record: the run that applied the commit, linked from the record's status",
        kind=URL,
    ),
    Option(
        "--repository",
        "the repository, OWNER/NAME (default: the workflow's)",
        fallback_variable="GITHUB_REPOSITORY",
    ),
    Option(
        "--github-token",
        "a token that can read the repository's deployments (Deployments: read; write with "
        "--record)",
        fallback_variable="GITHUB_TOKEN",
        sensitive=True,
    ),
    API_URL_OPTION,
    *deployed_image.OPTIONS,
)


def run(given: GivenOptions) -> int:
    """Find the commit and set the outputs sha, deployment-id, ref and branch; exit 1 when there
    is none, or when the job's branch does not contain it. With --dispatch-workflow, start that
    workflow on the branch instead of checking the job's. With --record SHA: record that commit
    as deployed and set the same outputs for the record."""
    environment = _environment(given.text("environment") or "")
    record = given.text("record")
    sha = _sha(record) if record is not None else None
    repository = _repository(given.text("repository") or "")
    token = given.text("github-token")
    if not token:
        raise UsageError("--github-token is required (or set GITHUB_TOKEN)")
    api_url = given.text("github-api-url") or DEFAULT_API_URL
    image = deployed_image.settings(given)  # checked before anything is asked
    if sha is not None:
        return _record(
            token, api_url, repository, environment, sha=sha, log_url=given.text("log-url")
        )
    lookup = _lookup(given, environment)
    running = deployed_image.running(image)  # the image the outputs' ECS services run
    if running is None:
        return _find(token, api_url, repository, lookup, image)
    # The running image's label names the commit: the job's branch must contain it, as a
    # record's commit must.
    _check_job_branch(token, api_url, repository, lookup, sha=running.sha, where=running.image)
    deployed_image.report(running)
    return 0


class Lookup(NamedTuple):
    """What a lookup was asked: the environment, its patterns, and where the commit goes."""

    environment: str
    patterns: tuple[str, ...]
    dispatch_workflow: str | None  # start this workflow on the branch found
    job_branch: str | None  # else: the job's branch, which must contain the commit


def _lookup(given: GivenOptions, environment: str) -> Lookup:
    from toto_actions.workflows.environments import parse_patterns

    branches = given.text("branches")
    if not branches:
        raise UsageError(
            "--branches is required: the environment's branch patterns, comma-separated "
            "(main,feature/**)"
        )
    patterns = parse_patterns(branches, environment)
    workflow = given.text("dispatch-workflow")
    if workflow is not None and not _WORKFLOW_FILE.fullmatch(workflow):
        raise UsageError(
            f"--dispatch-workflow {workflow!r} is not a workflow file name (toto-microservice.yml)"
        )
    job_branch = given.text("job-branch")
    if workflow is None and not job_branch:
        raise UsageError("--job-branch is required (or set GITHUB_REF_NAME)")
    return Lookup(environment, patterns, workflow, None if workflow else job_branch)


def _check_job_branch(
    token: str, api_url: str, repository: str, lookup: Lookup, *, sha: str, where: str
) -> None:
    """Exit 1 unless the job's branch contains sha (what where names, for the message)."""
    from toto_actions.github.deployments import commit_on_branch

    job_branch = lookup.job_branch or ""
    if not commit_on_branch(token, api_url, repository, job_branch, sha):
        raise OperationError(
            f"{lookup.environment} runs {sha} ({where}), which the job's branch {job_branch} "
            "does not contain: nothing applied (redeploy it from a branch that contains it)"
        )


def _find(
    token: str,
    api_url: str,
    repository: str,
    lookup: Lookup,
    image: deployed_image.ImageSettings | None,
) -> int:
    from toto_actions.github.deployments import commit_on_branch, deployed_commit, start_redeploy

    environment = lookup.environment
    found = deployed_commit(token, api_url, repository, environment, lookup.patterns)
    if found is None:
        raise OperationError(
            f"{repository} has no successful deployment to {environment} of a commit on its "
            f"branches ({', '.join(lookup.patterns)}): nothing to redeploy (deploy it once with "
            "a push)"
        )
    if lookup.dispatch_workflow is not None:
        start_redeploy(token, api_url, repository, lookup.dispatch_workflow, found.branch)
        where = f"started {lookup.dispatch_workflow} on {found.branch} to redeploy it"
    else:
        job_branch = lookup.job_branch or ""
        if not commit_on_branch(token, api_url, repository, job_branch, found.sha):
            raise OperationError(
                f"{environment} runs {found.sha}, which the job's branch {job_branch} does not "
                f"contain: nothing applied (redeploy it from {found.branch})"
            )
        where = f"on {job_branch}: redeploying that commit"
    for name, value in (
        ("sha", found.sha),
        ("deployment-id", str(found.deployment_id)),
        ("ref", found.ref),
        ("branch", found.branch),
    ):
        actions_runtime.set_output(name, value)
    if lookup.dispatch_workflow is None:
        commit_image = deployed_image.of_commit(image, found.sha)  # tagged with the short commit
        if commit_image is not None:
            deployed_image.report(commit_image)
    actions_runtime.info(
        f"{environment} runs {found.sha} ({found.ref}, deployment {found.deployment_id} "
        f"of {found.created_at}, on {found.branch}); {where}"
    )
    actions_runtime.add_summary(
        f"`{environment}` runs `{found.sha}` ({found.ref}, on `{found.branch}`), deployed "
        f"{found.created_at}: {where}."
    )
    return 0


def _record(
    token: str, api_url: str, repository: str, environment: str, *, sha: str, log_url: str | None
) -> int:
    from toto_actions.github.deployments import record_deployment

    deployment_id = record_deployment(
        token, api_url, repository, environment, sha=sha, log_url=log_url
    )
    actions_runtime.set_output("sha", sha)
    actions_runtime.set_output("deployment-id", str(deployment_id))
    actions_runtime.set_output("ref", sha)
    actions_runtime.info(f"recorded {sha} as what {environment} runs (deployment {deployment_id})")
    actions_runtime.add_summary(
        f"Recorded `{sha}` as what `{environment}` runs (deployment {deployment_id}): the next "
        "redeploy applies it again."
    )
    return 0


def _sha(text: str) -> str:
    if not _SHA.fullmatch(text):
        raise UsageError(f"--record {text!r} is not a commit SHA (40 lowercase hexadecimal digits)")
    return text


def _environment(name: str) -> str:
    if len(name) > _MAX_ENVIRONMENT or not name.isprintable() or name != name.strip():
        raise UsageError(
            f"environment {name!r} is not a GitHub environment name: 1 to "
            f"{_MAX_ENVIRONMENT} printable characters, no surrounding spaces"
        )
    return name


def _repository(name: str) -> str:
    if not name:
        raise UsageError("--repository is required (or set GITHUB_REPOSITORY)")
    if not _REPOSITORY.fullmatch(name) or name.endswith(("/.", "/..")):
        raise UsageError(f"repository {name!r} is not OWNER/NAME")
    return name
