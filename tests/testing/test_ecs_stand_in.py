"""The stand-in ECS API (testing/ecs.py) through boto3 over a real socket: each answer's
members are those of botocore's ECS service model (the SDK's own description of the API)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import botocore.session  # type: ignore[import-untyped, unused-ignore]
import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped, unused-ignore]

from testing.ecs import JSON_1_1, TARGET_PREFIX, EcsStandIn
from testing.local_stack import boto3_client

MODEL = botocore.session.get_session().get_service_model("ecs")


@pytest.fixture
def ecs() -> Iterator[EcsStandIn]:
    with EcsStandIn() as server:
        server.add_service("c", "api", "api:4", 2, ("repo/api:1", "repo/sidecar:2"))
        yield server
        assert server.errors == []


def client(server: EcsStandIn) -> Any:
    return boto3_client("ecs", server.url)


def undeclared(value: Any, shape: Any, where: str = "") -> list[str]:
    """The members of value (a JSON answer) that shape does not declare, by path."""
    if shape.type_name == "structure":
        found = []
        for key, member in value.items():
            if key not in shape.members:
                found.append(f"{where}.{key}")
            else:
                found += undeclared(member, shape.members[key], f"{where}.{key}")
        return found
    if shape.type_name == "list":
        return [p for item in value for p in undeclared(item, shape.member, f"{where}[]")]
    return []


def raw_answer(server: EcsStandIn, operation: str, body: dict[str, Any]) -> Any:
    """The JSON the stand-in answers, as it came (boto3 would drop undeclared members)."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        headers = {"X-Amz-Target": TARGET_PREFIX + operation, "Content-Type": JSON_1_1}
        connection.request("POST", "/", json.dumps(body), headers)
        answer = connection.getresponse()
        assert answer.status == 200
        return json.loads(answer.read())
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("DescribeServices", {"cluster": "c", "services": ["api", "gone"]}),
        ("ListTasks", {"cluster": "c", "serviceName": "api", "desiredStatus": "STOPPED"}),
        ("DescribeTasks", {"cluster": "c", "tasks": ["arn:x/api-stopped-0"]}),
        ("DescribeTaskDefinition", {"taskDefinition": "api:4"}),
    ],
)
def test_every_member_answered_is_in_the_service_model(
    ecs: EcsStandIn, operation: str, body: dict[str, Any]
) -> None:
    ecs.fail("c", "api", "circuit breaker", ["exited"])
    answer = raw_answer(ecs, operation, body)
    assert answer
    assert undeclared(answer, MODEL.operation_model(operation).output_shape) == []


def test_boto3_reads_a_rollout_and_its_stopped_tasks(ecs: EcsStandIn) -> None:
    ecs.fail("c", "api", "ECS deployment circuit breaker: tasks failed to start.", ["exited 1"])
    ecs_client = client(ecs)
    described = ecs_client.describe_services(cluster="c", services=["api", "gone"])
    [service] = described["services"]
    assert service["deployments"][0]["rolloutState"] == "FAILED"
    assert described["failures"][0]["reason"] == "MISSING"
    arns = ecs_client.list_tasks(cluster="c", serviceName="api", desiredStatus="STOPPED")
    tasks = ecs_client.describe_tasks(cluster="c", tasks=arns["taskArns"])["tasks"]
    assert [t["stoppedReason"] for t in tasks] == ["exited 1"]
    definition = ecs_client.describe_task_definition(taskDefinition="api:4")["taskDefinition"]
    assert [c["image"] for c in definition["containerDefinitions"]] == [
        "repo/api:1",
        "repo/sidecar:2",
    ]


def test_a_rollout_completes_on_cue(ecs: EcsStandIn) -> None:
    ecs.complete_after("c", "api", 0)
    [service] = client(ecs).describe_services(cluster="c", services=["api"])["services"]
    assert (service["deployments"][0]["rolloutState"], service["runningCount"]) == ("COMPLETED", 2)


def test_more_than_ten_services_is_the_api_s_error_and_kept(ecs: EcsStandIn) -> None:
    with pytest.raises(ClientError) as raised:
        client(ecs).describe_services(cluster="c", services=[f"s{n}" for n in range(11)])
    assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
    assert ecs.errors == ["DescribeServices with 11 services"]
    ecs._errors.clear()
