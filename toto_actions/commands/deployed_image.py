"""deployed-commit's image: the options that name the environment's outputs and image
repository, and the two calls the command makes with them (images/running_image.py).

With --outputs-file, the outputs' ECS services (rollout/targets.from_outputs) give the image the
environment runs now and its commit; where they name none, the records' commit gives the image
build-push tagged with it. Both read only: ECS, and the registry's v2 API.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, NamedTuple

from toto_actions import actions_runtime
from toto_actions.errors import OperationError, UsageError
from toto_actions.images.names import is_repository_name
from toto_actions.images.running_image import DeployedImage
from toto_actions.options import GivenOptions, Option

_SHA = re.compile(r"[0-9a-f]{40}")

OPTIONS = (
    Option(
        "--outputs-file",
        "the environment's Terraform outputs (tf-apply --outputs-only): when they name ECS "
        "services (ecs_service_arn, ecs_service_arns), the commit is that of the one image of "
        "--image-repository they run",
        metavar="PATH",
    ),
    Option(
        "--image-repository",
        "the environment's image repository, e.g. expenses/prod: the running image must be of "
        "it; on the records path, its image tagged with the short commit is reported",
        metavar="REPOSITORY",
    ),
    Option("--registry", "the registry host of the image repository (default: the account's ECR)"),
    Option("--registry-username", "user name for --registry"),
    Option("--registry-password", "password or token for --registry", sensitive=True),
    Option("--aws-region", "region of the ECR registry (default: the AWS environment's)"),
)


class ImageSettings(NamedTuple):
    outputs: dict[str, Any] | None  # `terraform output -json` form; None: no --outputs-file
    repository: str
    registry: str | None
    username: str | None
    password: str | None
    aws_region: str | None


def settings(given: GivenOptions) -> ImageSettings | None:
    """The image options read and checked (UsageError, exit 2, before anything is asked);
    None when no --image-repository was given (the records path reports no image)."""
    problems: list[str] = []
    path = given.text("outputs-file")
    repository = given.text("image-repository")
    outputs = _outputs(problems, Path(path)) if path else None
    if path and not repository:
        problems.append("--outputs-file needs --image-repository")
    if repository and not is_repository_name(repository):
        problems.append(f"--image-repository {repository!r} is not a repository name")
    if "registry-username" in given and "registry-password" not in given:
        problems.append("--registry-username needs --registry-password")
    if problems:
        raise UsageError("\n".join(problems))
    if not repository:
        return None
    password = given.text("registry-password")
    if password:
        actions_runtime.mask(password)
    return ImageSettings(
        outputs,
        repository,
        given.text("registry"),
        given.text("registry-username"),
        password,
        given.text("aws-region"),
    )


def running(image: ImageSettings | None) -> DeployedImage | None:
    """The image the outputs' ECS services run and its commit; None when there are no outputs
    or they name no ECS service (then the records give the commit)."""
    if image is None or image.outputs is None:
        return None
    from toto_actions.rollout.targets import from_outputs

    services, problems = from_outputs(image.outputs)
    if problems:
        raise OperationError("; ".join(problems))
    if not services:
        actions_runtime.info("the outputs name no ECS service: the deployment records decide")
        return None
    from toto_actions.images import image_revision, running_image
    from toto_actions.rollout.running import running_images

    client = image_revision.reader(image.registry, image.username, image.password, image.aws_region)
    found = running_image.running_image(running_images(services), client, image.repository)
    return _checked(found)


def of_commit(image: ImageSettings | None, sha: str) -> DeployedImage | None:
    """On the records path: the image build-push tagged with sha in the image repository;
    None when no --image-repository was given."""
    if image is None:
        return None
    from toto_actions.images import image_revision, running_image

    client = image_revision.reader(image.registry, image.username, image.password, image.aws_region)
    return _checked(running_image.commit_image(client, image.repository, sha))


def report(found: DeployedImage) -> None:
    """The outputs sha, image, image-tag and source, and a line of the log."""
    actions_runtime.set_output("sha", found.sha)
    actions_runtime.set_output("image", found.image)
    actions_runtime.set_output("image-tag", found.image_tag)
    actions_runtime.set_output("source", found.source)
    actions_runtime.info(f"the environment runs {found.image} ({found.image_tag}), of {found.sha}")


def _checked(found: DeployedImage) -> DeployedImage:
    if not _SHA.fullmatch(found.sha):
        raise OperationError(
            f"{found.image}: its revision label {found.sha!r} is not a commit SHA: nothing to "
            "redeploy"
        )
    return found


def _outputs(problems: list[str], path: Path) -> dict[str, Any] | None:
    """The outputs file's document, or None with a problem when it cannot be read as one."""
    if not path.is_file():
        problems.append(f"--outputs-file {str(path)!r} does not exist")
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as failure:
        problems.append(f"--outputs-file {str(path)!r}: not JSON ({failure})")
        return None
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        problems.append(
            f"--outputs-file {str(path)!r}: expected the object `terraform output -json` writes"
        )
        return None
    return document
