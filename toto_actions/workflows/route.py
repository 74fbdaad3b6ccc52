"""The first job of the reusable workflows: which job runs, for which environment.

The reusable workflows (.github/workflows/toto-*.yml) get the environments and their branch
patterns as one input, in the syntax of render-workflow's --environments, and have one job of
each kind for all of them: this module maps the caller's event (the `github` context of a called
workflow is the caller's) to the job that runs and its environment, with the same branch
semantics as the inline workflows' conditions (environments.branch_matches).

It runs as `python3 -m toto_actions.workflows.route` from the toolkit's checkout, before anything
is installed: standard library and the toolkit's plain modules only. Inputs come in environment
variables (never pasted into a script), outputs go to GITHUB_OUTPUT.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from toto_actions.errors import UsageError
from toto_actions.workflows.environments import (
    Environment,
    branch_matches,
    parse_environments,
    parse_spec,
)
from toto_actions.workflows.image_repositories import (
    IMAGE_REPOSITORY_CHOICES,
    with_image_repositories,
)

# What `run` says: the job of the reusable workflow that runs (none: nothing runs).
DEPLOY, REDEPLOY, REDEPLOY_DISPATCH, PLAN, DRIFT, APPLY = (
    "deploy",
    "redeploy",
    "redeploy-dispatch",
    "plan",
    "drift",
    "apply",
)


@dataclass(frozen=True)
class Event:
    """The caller's event, as the routing reads it."""

    name: str  # github.event_name
    ref: str  # github.ref
    base_ref: str = ""  # github.base_ref (pull_request)
    redeploy: bool = False  # workflow_dispatch input redeploy
    dispatch_environment: str = ""  # repository_dispatch client_payload.environment


@dataclass(frozen=True)
class Route:
    run: str  # one of the constants above, or "" when nothing runs
    environment: Environment | None = None
    notice: str = ""


def route(kind: str, environments: tuple[Environment, ...], event: Event) -> Route:
    """The job the event runs and its environment; Route("") with a notice when none."""
    if event.name == "schedule":
        return Route(DRIFT)
    if event.name == "repository_dispatch" and kind == "microservice":
        return _dispatch_route(environments, event.dispatch_environment)
    branch = _branch(kind, event)
    if isinstance(branch, Route):
        return branch
    environment = _environment_of(environments, branch)
    if environment is None:
        verb = "into" if event.name == "pull_request" else "on"
        return Route("", notice=f"no environment claims branch {branch!r}: nothing runs {verb} it")
    if event.name == "pull_request":
        job = PLAN
    elif kind == "core":
        job = APPLY
    else:
        job = REDEPLOY if event.redeploy else DEPLOY
    return Route(job, environment)


def _branch(kind: str, event: Event) -> str | Route:
    """The branch whose environment the event runs in (a pull request's base), or the empty
    Route of an event that runs nothing."""
    if event.name == "pull_request":
        return event.base_ref
    if event.name == "push" or (event.name == "workflow_dispatch" and kind == "microservice"):
        if not event.ref.startswith("refs/heads/"):
            return Route("", notice=f"{event.ref} is not a branch: nothing to deploy")
        return event.ref.removeprefix("refs/heads/")
    return Route("", notice=f"the {kind} workflow runs nothing on {event.name}")


def _environment_of(environments: tuple[Environment, ...], branch: str) -> Environment | None:
    # parse_environments refused overlapping patterns: at most one environment matches.
    for environment in environments:
        if any(branch_matches(pattern, branch) for pattern in environment.branches):
            return environment
    return None


def _dispatch_route(environments: tuple[Environment, ...], name: str) -> Route:
    for environment in environments:
        if environment.name == name:
            return Route(REDEPLOY_DISPATCH, environment)
    raise UsageError(
        f"the dispatch names environment {name!r}, which this workflow does not deploy"
    )


def outputs(
    environments: tuple[Environment, ...],
    found: Route,
    *,
    reviewed: tuple[str, ...] = (),
    workflow_ref: str = "",
) -> dict[str, str]:
    """The routing job's outputs: what the other jobs' conditions, environments and inputs read.
    reviewed: the environments whose apply takes only the reviewed plan; workflow_ref: the
    caller's GITHUB_WORKFLOW_REF (owner/name/path@ref), whose file a redeploy dispatches."""
    chosen = found.environment
    return {
        "run": found.run,
        "environment": chosen.name if chosen else "",
        "plan-environment": chosen.plan_name if chosen else "",
        "branches": ",".join(chosen.branches) if chosen else "",
        "image-repository": (chosen.image_repository or "") if chosen else "",
        "reviewed": "true" if chosen and chosen.name in reviewed else "false",
        "workflow-file": workflow_ref.partition("@")[0].rpartition("/")[2],
        # Every environment, for the drift check's matrix.
        "environments": json.dumps(
            [
                {
                    "name": e.name,
                    "plan": e.plan_name,
                    "image-repository": e.image_repository or "",
                }
                for e in environments
            ],
            separators=(",", ":"),
        ),
    }


def environments_of(
    kind: str, spec: str, service: str, image_repository: str
) -> tuple[Environment, ...]:
    """The environments input parsed and validated as render-workflow validates it."""
    environments = parse_environments(parse_spec(spec))
    if kind != "microservice":
        return environments
    if image_repository not in IMAGE_REPOSITORY_CHOICES:
        raise UsageError(
            f"image-repository {image_repository!r} is not one of "
            f"{', '.join(IMAGE_REPOSITORY_CHOICES)}"
        )
    return with_image_repositories(environments, service, image_repository)


def reviewed_environments(text: str, environments: tuple[Environment, ...]) -> tuple[str, ...]:
    """require-reviewed-plan's environments (comma-separated), each one of the environments."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    known = {environment.name for environment in environments}
    for name in names:
        if name not in known:
            raise UsageError(
                f"require-reviewed-plan: {name!r} is not one of the environments "
                f"({', '.join(sorted(known))})"
            )
    return names


def main(environ: Mapping[str, str]) -> int:
    kind = environ["TOTO_KIND"]
    try:
        environments = environments_of(
            kind,
            environ.get("TOTO_ENVIRONMENTS", ""),
            environ.get("TOTO_SERVICE", ""),
            environ.get("TOTO_IMAGE_REPOSITORY", "") or "environment",
        )
        event = Event(
            name=environ.get("GITHUB_EVENT_NAME", ""),
            ref=environ.get("GITHUB_REF", ""),
            base_ref=environ.get("GITHUB_BASE_REF", ""),
            redeploy=environ.get("TOTO_REDEPLOY", "") == "true",
            dispatch_environment=environ.get("TOTO_DISPATCH_ENVIRONMENT", ""),
        )
        found = route(kind, environments, event)
        reviewed = reviewed_environments(environ.get("TOTO_REVIEWED", ""), environments)
    except UsageError as error:
        print(f"::error title=Bad workflow input::{error}")
        return 2
    if found.notice:
        print(f"::notice title=Nothing to run::{found.notice}")
    else:
        print(
            f"{found.run}: {found.environment.name if found.environment else 'every environment'}"
        )
    output_file = environ.get("GITHUB_OUTPUT")
    if output_file:
        with Path(output_file).open("a", encoding="utf-8") as file:
            routed = outputs(
                environments,
                found,
                reviewed=reviewed,
                workflow_ref=environ.get("GITHUB_WORKFLOW_REF", ""),
            )
            for name, value in routed.items():
                file.write(f"{name}={value}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ))
