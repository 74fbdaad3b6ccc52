"""`tf-apply --wait-for-services` on what the ECS API answers beyond a rollout that completes or
that the circuit breaker fails: a crash loop with the breaker off, a service another deployment
controller rolls, a service whose ARN is of the old format.

Sources:
- ECS's own threshold: the API reference, ServiceDeploymentCircuitBreaker.threshold
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html:
  "a minimum threshold of 3 and a maximum threshold of 200 ... 0.5 * desired task count"); the
  developer guide, "How the Amazon ECS deployment circuit breaker detects failures"
  (awsdocs/amazon-ecs-developer-guide, doc_source/deployment-circuit-breaker.md: 25 desired
  tasks give 13, "the value is rounded up"; that older text still says a minimum of 10).
- botocore's ECS model (botocore/data/ecs/2014-11-13/service-2.json): Deployment.failedTasks is
  "the number of consecutively failed tasks", reset to zero once a task runs;
  Service.deploymentController.type is ECS, CODE_DEPLOY or EXTERNAL; ListTasks takes
  desiredStatus STOPPED, and Task.stoppedReason says why.
- moto (moto/ecs/models.py, Service): MOTO_ECS_SERVICE_RUNNING and MOTO_ECS_SERVICE_FAILED_TASKS
  of the server's environment set runningCount and the PRIMARY deployment's failedTasks (its
  rollout IN_PROGRESS while fewer run than desired); a CODE_DEPLOY or EXTERNAL service has its
  deploymentController and no deployments; with the account setting serviceLongArnFormat
  disabled a service gets the old ARN. What moto lacks, stopped tasks of a service (its services
  launch no task, its ListTasks ignores serviceName), comes from the stand-in of testing/ecs.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.ecs import EcsStandIn
from testing.ecs_rollout import (
    CLUSTER,
    ECS_SERVICE_AND_CLUSTER_CONFIG,
    Deploy,
    assert_stopped_tasks_listed_once,
    seed_moto_service,
    services_output,
)
from testing.local_stack import MotoServer, run_moto_server
from testing.tf_apply_step import outputs_of
from tests.conftest import CliRunner


@pytest.fixture(scope="module")
def crashing_moto() -> Iterator[MotoServer]:
    """A moto server whose ECS services run no task and whose PRIMARY deployments count 3 failed
    tasks: the breaker off (moto has none), every task crashing."""
    with run_moto_server(
        {"MOTO_ECS_SERVICE_RUNNING": "0", "MOTO_ECS_SERVICE_FAILED_TASKS": "3"}
    ) as server:
        yield server


@pytest.fixture(scope="module")
def healthy_moto() -> Iterator[MotoServer]:
    """A moto server whose ECS services run 2 tasks each."""
    with run_moto_server({"MOTO_ECS_SERVICE_RUNNING": "2"}) as server:
        yield server


def deploy(tmp_path: Path, cli: CliRunner, endpoint: dict[str, str]) -> Deploy:
    root = tmp_path / "service"
    root.mkdir()
    return Deploy(root, cli, endpoint)


def test_a_crash_loop_with_the_breaker_off_fails_at_ecs_s_own_threshold(
    tmp_path: Path, cli: CliRunner, crashing_moto: MotoServer
) -> None:
    """moto: 3 failed tasks, none running. For 2 desired tasks ECS's threshold is 3 (the minimum):
    the wait fails at once. For 7 it is 4 (half of 7, rounded up): that one is still rolling."""
    step = deploy(tmp_path, cli, {"AWS_ENDPOINT_URL": crashing_moto.endpoint_url})
    arn = seed_moto_service(crashing_moto, "api", desired=2)
    big = seed_moto_service(crashing_moto, "big", desired=7)
    started = time.monotonic()
    result = step(
        "--var", f"service_arn={arn}", "--wait-for-services", f"{big}\n{arn}",
        "--wait-timeout", "60",
    )  # fmt: skip
    assert time.monotonic() - started < 40  # today: the whole 60 s, then "not steady"
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: {CLUSTER}/api: the rollout failed: 3 tasks failed in a row and none is running "
        "(ECS's deployment circuit breaker, off for this service, fails a rollout at 3 for 2 "
        "desired tasks)\n",
    )
    assert [(s["service"], s["rollout_state"]) for s in services_output(result.stdout)] == [
        (f"{CLUSTER}/big", "IN_PROGRESS"),
        (f"{CLUSTER}/api", "FAILED"),
    ]


def test_a_crash_loop_names_why_its_tasks_stopped(tmp_path: Path, cli: CliRunner) -> None:
    """Stand-in ECS: the breaker off (rolloutState IN_PROGRESS), none running, 4 failed tasks
    (moto has no stopped task of a service)."""
    with EcsStandIn() as ecs:
        step = deploy(tmp_path, cli, {"AWS_ENDPOINT_URL_ECS": ecs.url})
        arn = ecs.add_service(CLUSTER, "api", "api:7", 2, ("repo/api:bad",))
        reasons = [f"Essential container in task exited ({n})" for n in range(4)]
        ecs.crash_loop(CLUSTER, "api", reasons)
        started = time.monotonic()
        result = step(
            "--var", f"service_arn={arn}", "--wait-for-services", "auto", "--wait-timeout", "60"
        )  # fmt: skip
        elapsed = time.monotonic() - started
        assert ecs.errors == []
    stopped = "; ".join(f"task api-stopped-{n}: {reason}" for n, reason in enumerate(reasons))
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: {CLUSTER}/api: the rollout failed: 4 tasks failed in a row and none is running "
        "(ECS's deployment circuit breaker, off for this service, fails a rollout at 3 for 2 "
        f"desired tasks); stopped tasks: {stopped}\n",
    )
    assert elapsed < 40
    assert len(ecs.describe_services_calls()) == 1  # failed at the first poll
    assert_stopped_tasks_listed_once(ecs, "api")
    [service] = services_output(result.stdout)
    assert (service["rollout_state"], service["running"]) == ("FAILED", 0)


def test_a_service_another_controller_rolls_is_not_followed_nor_steady(
    tmp_path: Path, cli: CliRunner, healthy_moto: MotoServer
) -> None:
    """moto: a CODE_DEPLOY and an EXTERNAL service run 2 of 2 tasks (no deployments), beside an
    ECS one whose rollout COMPLETED. Today the first two are reported steady."""
    step = deploy(tmp_path, cli, {"AWS_ENDPOINT_URL": healthy_moto.endpoint_url})
    arn = seed_moto_service(healthy_moto, "web", desired=2)
    seed_moto_service(healthy_moto, "bluegreen", desired=2, controller="CODE_DEPLOY")
    seed_moto_service(healthy_moto, "outside", desired=2, controller="EXTERNAL")
    lines = f"{CLUSTER}/bluegreen\n{arn}\n{CLUSTER}/outside"
    result = step("--var", f"service_arn={arn}", "--wait-for-services", lines)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "".join(
        f"warning: {CLUSTER}/{name}: not followed: its deployment controller is {controller}, "
        "and only the ECS controller's rollouts are waited for\n"
        for name, controller in (("bluegreen", "CODE_DEPLOY"), ("outside", "EXTERNAL"))
    )
    assert f"steady: {CLUSTER}/web\n" in result.stdout
    reported = [
        (s["service"], s["rollout_state"], s["seconds_to_steady"])
        for s in services_output(result.stdout)
    ]
    assert reported == [
        (f"{CLUSTER}/bluegreen", "NOT_FOLLOWED", None),
        (f"{CLUSTER}/web", "COMPLETED", reported[1][2]),
        (f"{CLUSTER}/outside", "NOT_FOLLOWED", None),
    ]
    summary = step.summary.read_text(encoding="utf-8")
    row = (
        f"| `{CLUSTER}/bluegreen` | `bluegreen:1` | `repo/bluegreen:abc1234` | 2 | 2 | 0 | "
        "NOT_FOLLOWED | - |"
    )
    assert row in summary


@pytest.mark.parametrize("cluster_value", ["name", "arn"])
def test_an_old_format_service_arn_is_found_in_the_cluster_output_beside_it(
    tmp_path: Path, cli: CliRunner, healthy_moto: MotoServer, cluster_value: str
) -> None:
    """moto: a service made with serviceLongArnFormat disabled has the ARN
    arn:aws:ecs:REGION:ACCOUNT:service/NAME; the configuration outputs its cluster as
    ecs_cluster (a name, or the ARN aws_ecs_service's `cluster` holds). Today: "not an ECS
    service ARN", after the apply."""
    step = deploy(tmp_path, cli, {"AWS_ENDPOINT_URL": healthy_moto.endpoint_url})
    (step.root / "main.tf").write_text(ECS_SERVICE_AND_CLUSTER_CONFIG, encoding="utf-8")
    name = f"legacy-{cluster_value}"
    arn = seed_moto_service(healthy_moto, name, desired=2, short_arn=True)
    assert arn == f"arn:aws:ecs:{healthy_moto.region}:{healthy_moto.account_id}:service/{name}"
    cluster = {
        "name": CLUSTER,
        "arn": f"arn:aws:ecs:{healthy_moto.region}:{healthy_moto.account_id}:cluster/{CLUSTER}",
    }[cluster_value]
    result = step(
        "--var", f"service_arn={arn}", "--var", f"cluster={cluster}",
        "--wait-for-services", "auto",
    )  # fmt: skip
    assert (result.exit_code, result.stderr) == (0, "")
    assert outputs_of(result)["status"] == "applied"
    [service] = services_output(result.stdout)
    assert (service["service"], service["rollout_state"]) == (f"{CLUSTER}/{name}", "COMPLETED")


def test_an_old_format_service_arn_without_the_cluster_output_names_it(
    tmp_path: Path, cli: CliRunner, healthy_moto: MotoServer
) -> None:
    step = deploy(tmp_path, cli, {"AWS_ENDPOINT_URL": healthy_moto.endpoint_url})
    arn = seed_moto_service(healthy_moto, "orphan", desired=2, short_arn=True)
    result = step("--var", f"service_arn={arn}", "--wait-for-services", "auto")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: output ecs_service_arn: an old-format service ARN, without its cluster: add the "
        "output ecs_cluster (the cluster's name or ARN)\n",
    )
