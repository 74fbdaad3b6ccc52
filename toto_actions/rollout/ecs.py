"""Amazon ECS through boto3: every ECS call of the rollout wait, and nothing else talks to ECS.

DescribeServices (up to 10 services of one cluster a call), ListTasks (desiredStatus STOPPED)
then DescribeTasks for why a failed rollout's tasks stopped, DescribeTaskDefinition for the
images of the report. boto3 finds the endpoint (AWS_ENDPOINT_URL), the credentials and the
default region as it always does; a service ARN's region wins. Every failure becomes one line.
"""

from __future__ import annotations

from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
from botocore.config import Config  # type: ignore[import-untyped, unused-ignore]

from toto_actions.images.aws_errors import aws_errors
from toto_actions.rollout.progress import DeploymentView, ServiceView
from toto_actions.rollout.targets import Batch, ServiceRef

# Short timeouts: a poll that hangs would hide the rollout's end; botocore's standard retries
# (with their own backoff) ride out throttling and a dropped connection.
CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=5, read_timeout=15)
STOPPED_TASKS_SHOWN = 5


def default_region() -> str | None:
    """The region boto3 would use for a service named without an ARN (AWS_REGION, ...)."""
    region: str | None = boto3.session.Session().region_name
    return region


class Ecs:
    """ECS clients, one per region, made when first needed."""

    def __init__(self) -> None:
        self._clients: dict[str | None, Any] = {}

    def _client(self, region: str | None) -> Any:
        if region not in self._clients:
            with aws_errors("ECS"):
                self._clients[region] = boto3.client("ecs", region_name=region, config=CONFIG)
        return self._clients[region]

    def describe(self, batch: Batch) -> dict[ServiceRef, ServiceView]:
        """The batch's services as one DescribeServices call sees them; those it does not
        know (its `failures`) are left out."""
        names = [ref.name for ref in batch.services]
        with aws_errors(f"ECS DescribeServices in cluster {batch.cluster}"):
            answer = self._client(batch.region).describe_services(
                cluster=batch.cluster, services=names
            )
        by_name = {
            str(service.get("serviceName")): _service_view(batch.cluster, service)
            for service in answer.get("services", [])
        }
        return {ref: by_name[ref.name] for ref in batch.services if ref.name in by_name}

    def stopped_reasons(self, region: str | None, cluster: str, service: str) -> list[str]:
        """`task ID: stoppedReason` of up to STOPPED_TASKS_SHOWN stopped tasks of the service."""
        client = self._client(region)
        with aws_errors(f"ECS ListTasks of {cluster}/{service}"):
            listed = client.list_tasks(
                cluster=cluster,
                serviceName=service,
                desiredStatus="STOPPED",
                maxResults=STOPPED_TASKS_SHOWN,
            )
        arns = listed.get("taskArns", [])[:STOPPED_TASKS_SHOWN]
        if not arns:
            return []
        with aws_errors(f"ECS DescribeTasks in cluster {cluster}"):
            tasks = client.describe_tasks(cluster=cluster, tasks=arns).get("tasks", [])
        return [
            f"task {task['taskArn'].rpartition('/')[2]}: {task.get('stoppedReason') or '?'}"
            for task in tasks
        ]

    def images(self, region: str | None, task_definition: str) -> tuple[str, ...]:
        """The images of the task definition's containers."""
        with aws_errors(f"ECS DescribeTaskDefinition {task_definition}"):
            answer = self._client(region).describe_task_definition(taskDefinition=task_definition)
        containers = answer.get("taskDefinition", {}).get("containerDefinitions", [])
        return tuple(str(c["image"]) for c in containers if c.get("image"))


def _service_view(cluster: str, service: dict[str, Any]) -> ServiceView:
    cluster_name = str(service.get("clusterArn") or cluster).rpartition("/")[2]
    configuration = service.get("deploymentConfiguration") or {}
    breaker = configuration.get("deploymentCircuitBreaker") or {}
    return ServiceView(
        arn=str(service.get("serviceArn", "")),
        label=f"{cluster_name}/{service.get('serviceName', '')}",
        status=str(service.get("status", "")),
        task_definition=str(service.get("taskDefinition", "")),
        desired=int(service.get("desiredCount", 0)),
        running=int(service.get("runningCount", 0)),
        pending=int(service.get("pendingCount", 0)),
        deployments=tuple(
            DeploymentView(
                status=str(d.get("status", "")),
                task_definition=str(d.get("taskDefinition", "")),
                rollout_state=d.get("rolloutState"),
                rollout_reason=d.get("rolloutStateReason"),
                running=int(d.get("runningCount", 0)),
                failed_tasks=int(d.get("failedTasks", 0)),
            )
            for d in service.get("deployments", [])
        ),
        # Without a deploymentController, the ECS API's default: ECS.
        controller=str((service.get("deploymentController") or {}).get("type") or "ECS"),
        circuit_breaker=bool(breaker.get("enable")),
    )
