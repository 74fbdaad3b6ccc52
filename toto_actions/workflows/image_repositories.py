"""Which image repository each environment of a service pushes to.

By default every environment has its own, `<service>/<environment>` (the environment's name in
lower case, as image repository names are; GitHub's environment names are unique regardless of
case, so no two environments share one): an image in dev's repository
(which any writer reaches through a `feature/**` push) is never what prod deploys, since prod's
deploy looks up its content-addressed tag and its layer cache only in prod's repository.
`image-repository: shared` opts back into one repository, `<service>`, for every environment.
"""

from __future__ import annotations

import dataclasses

from toto_actions.errors import UsageError
from toto_actions.images.names import is_repository_name
from toto_actions.workflows.environments import Environment

PER_ENVIRONMENT = "environment"
SHARED = "shared"
IMAGE_REPOSITORY_CHOICES = (PER_ENVIRONMENT, SHARED)


def with_image_repositories(
    environments: tuple[Environment, ...], service: str, choice: str
) -> tuple[Environment, ...]:
    """The environments, each naming the repository its images go to; a name ECR would refuse
    (an environment `qa--1`: ECR takes one separator at a time) is a UsageError naming the way
    out."""
    named = tuple(
        dataclasses.replace(environment, image_repository=_repository(service, environment, choice))
        for environment in environments
    )
    for environment in named:
        repository = environment.image_repository or ""
        if not is_repository_name(repository, ecr=True):
            raise UsageError(
                f"image repository {repository!r} of environment {environment.name!r} is not a "
                "valid ECR repository name (lowercase letters and digits, with '.', '_' or '-' "
                "between them, one at a time): rename the environment, or set "
                "image-repository: shared"
            )
    return named


def _repository(service: str, environment: Environment, choice: str) -> str:
    return service if choice == SHARED else f"{service}/{environment.name.lower()}"
