"""`toto-actions deployed-commit`: the commit an environment runs now, from GitHub's deployments.

A `repository_dispatch` run starts on the default branch; the service workflow's redeploy job asks
this command which commit the environment last deployed successfully, checks that commit out and
applies it again with the environment's new secrets. GitHub records that job as a deployment of
the run's commit, so after a successful apply the job runs this command again with --record SHA,
which records a deployment of the applied commit (newer than GitHub's record of the job) for the
next lookup to find.
"""

from __future__ import annotations

import re

from toto_actions import actions_runtime
from toto_actions.commands import deployed_image
from toto_actions.errors import OperationError, UsageError
from toto_actions.github import API_URL_OPTION, DEFAULT_API_URL
from toto_actions.options import URL, GivenOptions, Option

_REPOSITORY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
_MAX_ENVIRONMENT = 255  # GitHub's limit for an environment name
_SHA = re.compile(r"[0-9a-f]{40}")

OPTIONS = (
    Option(
        "--environment",
        "the GitHub environment whose latest successful deployment is looked up",
        required=True,
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
    """Find the commit and set the outputs sha, deployment-id and ref; exit 1 when there is none.
    With --record SHA: record that commit as deployed and set the same outputs for the record."""
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
    running = deployed_image.running(image)  # the image the outputs' ECS services run
    if running is not None:
        deployed_image.report(running)
        return 0
    from toto_actions.github.deployments import deployed_commit

    found = deployed_commit(token, api_url, repository, environment)
    if found is None:
        raise OperationError(
            f"{repository} has no successful deployment to {environment}: nothing to redeploy "
            "(deploy it once with a push)"
        )
    actions_runtime.set_output("sha", found.sha)
    actions_runtime.set_output("deployment-id", str(found.deployment_id))
    actions_runtime.set_output("ref", found.ref)
    commit_image = deployed_image.of_commit(image, found.sha)  # tagged with the short commit
    if commit_image is not None:
        deployed_image.report(commit_image)
    actions_runtime.info(
        f"{environment} runs {found.sha} ({found.ref}, deployment {found.deployment_id} "
        f"of {found.created_at})"
    )
    actions_runtime.add_summary(
        f"`{environment}` runs `{found.sha}` ({found.ref}), deployed {found.created_at}: "
        "redeploying that commit."
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
