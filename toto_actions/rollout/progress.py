"""How far a service's rollout is, from what DescribeServices answered, and how the step reports
it (job summary rows, the `services` output). Plain values: ecs.py reads ECS into them."""

from __future__ import annotations

import json
from enum import Enum
from typing import NamedTuple

FOLLOWED_CONTROLLER = "ECS"  # the rolling update's; CODE_DEPLOY and EXTERNAL roll otherwise


class DeploymentView(NamedTuple):
    status: str  # PRIMARY, ACTIVE, INACTIVE
    task_definition: str
    rollout_state: str | None  # COMPLETED, IN_PROGRESS, FAILED; None for some controllers
    rollout_reason: str | None
    running: int = 0
    failed_tasks: int = 0  # consecutive failures, back to 0 once a task runs (botocore's model)


class ServiceView(NamedTuple):
    """What the step reads of one service in a DescribeServices answer."""

    arn: str
    label: str  # cluster/service
    status: str  # ACTIVE, DRAINING, INACTIVE
    task_definition: str
    desired: int
    running: int
    pending: int
    deployments: tuple[DeploymentView, ...]
    controller: str = FOLLOWED_CONTROLLER  # deploymentController.type
    circuit_breaker: bool = False  # deploymentConfiguration.deploymentCircuitBreaker.enable

    @property
    def primary(self) -> DeploymentView | None:
        return next((d for d in self.deployments if d.status == "PRIMARY"), None)


class Phase(Enum):
    ROLLING = "IN_PROGRESS"
    STEADY = "COMPLETED"
    FAILED = "FAILED"
    NOT_FOLLOWED = "NOT_FOLLOWED"  # another deployment controller rolls it


class Judgement(NamedTuple):
    phase: Phase
    reason: str | None = None  # why it failed, or is not followed


def circuit_breaker_threshold(desired: int) -> int:
    """The failed tasks at which ECS's deployment circuit breaker fails a deployment by default:
    half the desired count rounded up, at least 3, at most 200 (the ECS developer guide)."""
    return min(200, max(3, -(-desired // 2)))


def judge(view: ServiceView, deployed: str) -> Judgement:
    """Where the rollout of the task definition `deployed` (the PRIMARY one when the wait
    began) stands. FAILED when its deployment failed (the circuit breaker), when ECS rolled the
    service back to another task definition (the rollback's own COMPLETED is not this deploy's),
    or when, the breaker off, its tasks crash as long as the breaker would have let them.
    NOT_FOLLOWED when another deployment controller than ECS's rolls the service."""
    if view.status != "ACTIVE":
        return Judgement(Phase.FAILED, f"the service is {view.status}")
    if view.controller != FOLLOWED_CONTROLLER:
        return Judgement(
            Phase.NOT_FOLLOWED,
            f"its deployment controller is {view.controller}, and only the "
            f"{FOLLOWED_CONTROLLER} controller's rollouts are waited for",
        )
    for deployment in view.deployments:
        if deployment.task_definition == deployed and deployment.rollout_state == "FAILED":
            return Judgement(Phase.FAILED, deployment.rollout_reason or "the rollout failed")
    primary = view.primary
    if primary is not None and primary.task_definition != deployed:
        return Judgement(Phase.FAILED, f"ECS rolled back to {revision(primary.task_definition)}")
    if primary is not None and primary.rollout_state is not None:
        steady = primary.rollout_state == "COMPLETED"
    else:  # no rollout state: running as desired, nothing else rolling
        steady = view.running == view.desired and len(view.deployments) <= 1
    if steady:
        return Judgement(Phase.STEADY)
    crashing = _crash_loop(view)
    return Judgement(Phase.FAILED, crashing) if crashing else Judgement(Phase.ROLLING)


def _crash_loop(view: ServiceView) -> str | None:
    """Why the PRIMARY deployment's rollout cannot succeed, when the circuit breaker is off: as
    many tasks failed in a row as the breaker tolerates, and none runs. With the breaker on,
    ECS fails the deployment itself, at a threshold that may be configured otherwise."""
    primary = view.primary
    if view.circuit_breaker or primary is None or primary.running > 0:
        return None
    threshold = circuit_breaker_threshold(view.desired)
    if primary.failed_tasks < threshold:
        return None
    return (
        f"{primary.failed_tasks} tasks failed in a row and none is running (ECS's deployment "
        f"circuit breaker, off for this service, fails a rollout at {threshold} for "
        f"{view.desired} desired tasks)"
    )


def deployed_task_definition(view: ServiceView) -> str:
    """The task definition the apply deployed: its PRIMARY deployment's, else the service's."""
    primary = view.primary
    return primary.task_definition if primary is not None else view.task_definition


def revision(task_definition: str) -> str:
    """`family:revision` of a task definition ARN (the text itself when it is not one)."""
    return task_definition.rpartition("/")[2] or task_definition


class ServiceOutcome(NamedTuple):
    """One row of the report: the service as last seen, and how its wait ended."""

    view: ServiceView
    phase: Phase
    seconds_to_steady: float | None  # None: not steady
    images: tuple[str, ...] = ()
    reason: str | None = None

    def as_json(self) -> dict[str, object]:
        """Its entry of the `services` output (no ARN: the outputs that hold it are masked, and
        a step output holding a masked value is dropped)."""
        view = self.view
        return {
            "service": view.label,
            "task_definition": revision(deployed_task_definition(view)),
            "images": list(self.images),
            "desired": view.desired,
            "running": view.running,
            "pending": view.pending,
            "rollout_state": self.phase.value,
            "seconds_to_steady": (
                None if self.seconds_to_steady is None else round(self.seconds_to_steady, 1)
            ),
            "reason": self.reason,
        }


def services_json(outcomes: list[ServiceOutcome]) -> str:
    """The step's `services` output."""
    return json.dumps([outcome.as_json() for outcome in outcomes], separators=(",", ":"))


def summary_markdown(outcomes: list[ServiceOutcome]) -> str:
    """The job summary's table: one row per service."""
    rows = [
        "### ECS rollout",
        "",
        "| service | task definition | images | desired | running | pending | rollout | "
        "time to steady |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for outcome in outcomes:
        view = outcome.view
        images = "<br>".join(f"`{image}`" for image in outcome.images) or "-"
        steady = "-" if outcome.seconds_to_steady is None else f"{outcome.seconds_to_steady:.0f} s"
        rows.append(
            f"| `{view.label}` | `{revision(deployed_task_definition(view))}` | {images} | "
            f"{view.desired} | {view.running} | {view.pending} | {outcome.phase.value} | "
            f"{steady} |"
        )
    return "\n".join(rows)
