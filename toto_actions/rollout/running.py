"""The images ECS services run now: DescribeServices, then DescribeTaskDefinition of each task
definition that has tasks (the service's `taskDefinition`, and every deployment's: a rollout
under way runs two), through ecs.py. Read only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from toto_actions.errors import OperationError
from toto_actions.rollout.ecs import Ecs
from toto_actions.rollout.progress import ServiceView
from toto_actions.rollout.targets import ServiceRef, batches

# Deployments whose tasks run (the ECS API's Deployment.status): an INACTIVE one has none.
_RUNNING_DEPLOYMENTS = frozenset({"PRIMARY", "ACTIVE"})


class ServiceImages(NamedTuple):
    """One service and the images of the containers of each task definition it runs."""

    service: ServiceRef
    images: tuple[str, ...]


def running_images(services: Sequence[ServiceRef]) -> list[ServiceImages]:
    """Each service's images (grouped by region and cluster, as DescribeServices is asked);
    OperationError for a service ECS does not know or that is not ACTIVE (nothing runs it)."""
    ecs = Ecs()
    found: list[ServiceImages] = []
    for batch in batches(services):
        views = ecs.describe(batch)
        for ref in batch.services:
            view = views.get(ref)
            if view is None or view.status != "ACTIVE":
                state = "unknown to ECS" if view is None else view.status
                raise OperationError(f"ECS service {ref.label} is {state}: it runs no image")
            images: dict[str, None] = {}
            for task_definition in _task_definitions(view):
                images.update(dict.fromkeys(ecs.images(ref.region, task_definition)))
            found.append(ServiceImages(ref, tuple(images)))
    return found


def _task_definitions(view: ServiceView) -> list[str]:
    """The service's task definition and those of its deployments that run tasks."""
    named = [view.task_definition] + [
        d.task_definition for d in view.deployments if d.status in _RUNNING_DEPLOYMENTS
    ]
    return list(dict.fromkeys(t for t in named if t))
