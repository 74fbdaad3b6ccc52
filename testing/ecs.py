"""A stand-in Amazon ECS API: what moto cannot serve of a rollout (a FAILED deployment, stopped
tasks of a service with their reasons, a rollout that completes at a chosen moment).

The JSON 1.1 protocol boto3 speaks to ECS: every operation is a POST to / named by its
X-Amz-Target header (`AmazonEC2ContainerServiceV20141113.<Operation>`), the request and the
answer JSON documents whose members are those of the ECS API reference (DescribeServices,
ListTasks, DescribeTasks, DescribeTaskDefinition), an error a 400 with `__type` and `message`.
Point boto3 at it with AWS_ENDPOINT_URL (any credentials: the signature is not checked).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from testing.http_stand_in import (
    COLON_PARAMETERS,
    NOT_JSON,
    Answer,
    Incoming,
    Reply,
    Router,
    StandInServer,
    route,
)

TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
JSON_1_1 = "application/x-amz-json-1.1"
REGION = "us-east-1"
ACCOUNT = "123456789012"
DESCRIBE_SERVICES = TARGET_PREFIX + "DescribeServices"

Handler = Callable[["EcsStandIn", dict[str, Any]], dict[str, Any]]


@dataclass
class StandInService:
    """One service of the stand-in, with the deployment its last apply started."""

    cluster: str
    name: str
    task_definition: str  # family:revision
    desired: int
    images: tuple[str, ...]
    running: int = 0
    rollout_state: str = "IN_PROGRESS"
    rollout_reason: str = "ECS deployment ecs-svc/1 in progress."
    completes_after: float | None = None  # seconds after it was first described: COMPLETED
    first_described: float | None = None  # time.monotonic()
    stopped_tasks: list[str] = field(default_factory=list)  # their stoppedReason
    circuit_breaker: bool = False  # deploymentConfiguration.deploymentCircuitBreaker.enable
    # The deployment being replaced, its tasks still running (status ACTIVE): family:revision
    # and its containers' images; None: none.
    replaced: tuple[str, tuple[str, ...]] | None = None

    @property
    def completes_at(self) -> float | None:
        """When the rollout is COMPLETED (time.monotonic()); None: not yet known, or never."""
        if self.completes_after is None or self.first_described is None:
            return None
        return self.first_described + self.completes_after

    def now_completed(self) -> bool:
        if self.first_described is None:
            self.first_described = time.monotonic()
        return self.completes_at is not None and time.monotonic() >= self.completes_at


def _error(kind: str, message: str) -> Answer:
    return Answer(Reply(400, {"__type": kind, "message": message}))


def _required(body: dict[str, Any], key: str, kind: type) -> Any:
    value = body.get(key)
    if not isinstance(value, kind):
        raise _error("InvalidParameterException", f"{key} is required")
    return value


class EcsStandIn(StandInServer[Handler]):
    """Services in clusters of one region and account; a test sets how their rollout stands."""

    thread_name = "ecs-stand-in"
    content_type = JSON_1_1
    operation_header = "X-Amz-Target"

    def __init__(self) -> None:
        self._state_lock = threading.RLock()
        super().__init__(ROUTER, self._state_lock)
        self.services: dict[tuple[str, str], StandInService] = {}

    # -- seeding and steering -------------------------------------------------------------------

    def arn(self, kind: str, path: str) -> str:
        return f"arn:aws:ecs:{REGION}:{ACCOUNT}:{kind}/{path}"

    def add_service(
        self, cluster: str, name: str, task_definition: str, desired: int, images: tuple[str, ...]
    ) -> str:
        """A service whose deployment of task_definition is IN_PROGRESS; its ARN."""
        with self._state_lock:
            self.services[cluster, name] = StandInService(
                cluster, name, task_definition, desired, images
            )
        return self.arn("service", f"{cluster}/{name}")

    def complete_after(self, cluster: str, name: str, seconds: float) -> None:
        """The rollout is COMPLETED, every task running, this many seconds after the service
        was first described (0: from the first DescribeServices on)."""
        with self._state_lock:
            self.services[cluster, name].completes_after = seconds

    def fail(self, cluster: str, name: str, reason: str, stopped: list[str]) -> None:
        """The circuit breaker (on, then) failed the rollout; stopped: the stoppedReason of its
        tasks."""
        with self._state_lock:
            service = self.services[cluster, name]
            service.rollout_state, service.rollout_reason = "FAILED", reason
            service.stopped_tasks, service.circuit_breaker = list(stopped), True

    def crash_loop(self, cluster: str, name: str, stopped: list[str]) -> None:
        """The deployment circuit breaker is off and every task fails: the rollout stays
        IN_PROGRESS, none running, `failedTasks` counting the stopped tasks (their stoppedReason).
        moto cannot serve this: its services launch no task and its ListTasks ignores
        serviceName (moto/ecs/models.py, list_tasks)."""
        with self._state_lock:
            service = self.services[cluster, name]
            service.running, service.stopped_tasks = 0, list(stopped)

    def replacing(
        self, cluster: str, name: str, task_definition: str, images: tuple[str, ...]
    ) -> None:
        """The service's deployment replaces one of task_definition (these images) whose tasks
        still run: DescribeServices lists it ACTIVE beside the PRIMARY one (ECS API reference,
        Deployment.status: "ACTIVE: a service deployment that still has running tasks, but
        are in the process of being replaced with a new PRIMARY deployment")."""
        with self._state_lock:
            self.services[cluster, name].replaced = (task_definition, images)

    def describe_services_calls(self) -> list[float]:
        """When each DescribeServices call was answered (time.monotonic())."""
        return [r.time for r in self.requests_to(DESCRIBE_SERVICES, "POST")]

    # -- answering ------------------------------------------------------------------------------

    def _respond(self, incoming: Incoming[Handler]) -> Reply:
        if incoming.route is None:
            return _error("UnknownOperationException", "unknown operation").reply
        if not isinstance(incoming.body, dict) or incoming.body is NOT_JSON:
            return _error("SerializationException", "the body is not a JSON object").reply
        body, handler = incoming.body, incoming.route.handler
        return self._checked(incoming.route.spec, lambda: Reply(200, handler(self, body)))

    def _server_error(self, detail: str) -> Reply:
        return Reply(500, {"__type": "ServerException", "message": detail})

    def _service(self, body: dict[str, Any], name: str) -> StandInService | None:
        cluster = str(_required(body, "cluster", str)).rpartition("/")[2]
        return self.services.get((cluster, name.rpartition("/")[2]))

    def _service_document(self, service: StandInService) -> dict[str, Any]:
        completed = service.now_completed()
        state = "COMPLETED" if completed else service.rollout_state
        reason = "ECS deployment ecs-svc/1 completed." if completed else service.rollout_reason
        running = service.desired if completed else service.running
        task_definition = self.arn("task-definition", service.task_definition)
        counts = {
            "desiredCount": service.desired,
            "runningCount": running,
            "pendingCount": service.desired - running,
        }
        return {
            "serviceArn": self.arn("service", f"{service.cluster}/{service.name}"),
            "serviceName": service.name,
            "clusterArn": self.arn("cluster", service.cluster),
            "status": "ACTIVE",
            "taskDefinition": task_definition,
            **counts,
            "deploymentController": {"type": "ECS"},
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": service.circuit_breaker, "rollback": False},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
            "deployments": [
                {
                    "id": "ecs-svc/1",
                    "status": "PRIMARY",
                    "taskDefinition": task_definition,
                    **counts,
                    "failedTasks": len(service.stopped_tasks),
                    "rolloutState": state,
                    "rolloutStateReason": reason,
                    "createdAt": 1_700_000_000.0,
                    "updatedAt": time.time(),
                },
                *self._replaced_deployment(service),
            ],
        }

    def _replaced_deployment(self, service: StandInService) -> list[dict[str, Any]]:
        if service.replaced is None:
            return []
        return [
            {
                "id": "ecs-svc/0",
                "status": "ACTIVE",
                "taskDefinition": self.arn("task-definition", service.replaced[0]),
                "desiredCount": service.desired,
                "runningCount": service.desired,
                "pendingCount": 0,
                "failedTasks": 0,
                "rolloutState": "COMPLETED",
                "createdAt": 1_600_000_000.0,
                "updatedAt": time.time(),
            }
        ]


def describe_services(server: EcsStandIn, body: dict[str, Any]) -> dict[str, Any]:
    names = _required(body, "services", list)
    if not 1 <= len(names) <= 10:  # the API reference: up to 10 services a call
        server._errors.append(f"DescribeServices with {len(names)} services")
        raise _error("InvalidParameterException", "services: from 1 to 10 names")
    services, failures = [], []
    for name in names:
        service = server._service(body, str(name))
        if service is None:
            failures.append({"arn": server.arn("service", str(name)), "reason": "MISSING"})
        else:
            services.append(server._service_document(service))
    return {"services": services, "failures": failures}


def list_tasks(server: EcsStandIn, body: dict[str, Any]) -> dict[str, Any]:
    service = server._service(body, str(_required(body, "serviceName", str)))
    if service is None:
        raise _error("ServiceNotFoundException", "Service not found.")
    if body.get("desiredStatus") != "STOPPED":  # the stand-in has no running task to list
        return {"taskArns": []}
    limit = int(body.get("maxResults") or 100)
    arns = [
        server.arn("task", f"{service.cluster}/{service.name}-stopped-{number}")
        for number in range(len(service.stopped_tasks))
    ]
    return {"taskArns": arns[:limit]}


def describe_tasks(server: EcsStandIn, body: dict[str, Any]) -> dict[str, Any]:
    tasks, failures = [], []
    for arn in _required(body, "tasks", list):
        task_id = str(arn).rpartition("/")[2]
        name, _, number = task_id.rpartition("-stopped-")
        service = server._service(body, name)
        if service is None or not number.isdigit() or int(number) >= len(service.stopped_tasks):
            failures.append({"arn": str(arn), "reason": "MISSING"})
            continue
        tasks.append(
            {
                "taskArn": str(arn),
                "clusterArn": server.arn("cluster", service.cluster),
                "taskDefinitionArn": server.arn("task-definition", service.task_definition),
                "lastStatus": "STOPPED",
                "desiredStatus": "STOPPED",
                "stopCode": "EssentialContainerExited",
                "stoppedReason": service.stopped_tasks[int(number)],
            }
        )
    return {"tasks": tasks, "failures": failures}


def describe_task_definition(server: EcsStandIn, body: dict[str, Any]) -> dict[str, Any]:
    wanted = str(_required(body, "taskDefinition", str)).rpartition("/")[2]
    registered = [(s.task_definition, s.images) for s in server.services.values()]
    registered += [s.replaced for s in server.services.values() if s.replaced is not None]
    for task_definition, images in registered:
        if task_definition == wanted:
            family, _, revision = wanted.partition(":")
            return {
                "taskDefinition": {
                    "taskDefinitionArn": server.arn("task-definition", wanted),
                    "family": family,
                    "revision": int(revision),
                    "containerDefinitions": [
                        {"name": f"c{n}", "image": image} for n, image in enumerate(images)
                    ],
                }
            }
    raise _error("ClientException", "Unable to describe task definition.")


ROUTER: Router[Handler] = Router(
    [
        route("POST", TARGET_PREFIX + name, handler, {200, 400}, COLON_PARAMETERS)
        for name, handler in (
            ("DescribeServices", describe_services),
            ("ListTasks", list_tasks),
            ("DescribeTasks", describe_tasks),
            ("DescribeTaskDefinition", describe_task_definition),
        )
    ]
)
