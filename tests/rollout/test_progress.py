"""How far a rollout is, and how the step reports it (plain logic)."""

from __future__ import annotations

import json

import pytest

from toto_actions.rollout.progress import (
    DeploymentView,
    Judgement,
    Phase,
    ServiceOutcome,
    ServiceView,
    judge,
    services_json,
    summary_markdown,
)

TD = "arn:aws:ecs:us-east-1:123456789012:task-definition/api"


def view(
    *deployments: DeploymentView, running: int = 2, status: str = "ACTIVE", controller: str = "ECS"
) -> ServiceView:
    return ServiceView(
        "arn", "c/api", status, f"{TD}:7", 2, running, 2 - running, deployments, controller
    )


def primary(state: str | None, revision: int = 7, reason: str | None = None) -> DeploymentView:
    return DeploymentView("PRIMARY", f"{TD}:{revision}", state, reason)


@pytest.mark.parametrize(
    ("service", "judgement"),
    [
        (view(primary("COMPLETED")), Judgement(Phase.STEADY)),
        (view(primary("IN_PROGRESS"), running=1), Judgement(Phase.ROLLING)),
        (
            view(primary("FAILED", reason="circuit breaker")),
            Judgement(Phase.FAILED, "circuit breaker"),
        ),
        # The circuit breaker rolled back: the failed deployment beside the rollback's.
        (
            view(primary("IN_PROGRESS", 6), DeploymentView("ACTIVE", f"{TD}:7", "FAILED", "cb")),
            Judgement(Phase.FAILED, "cb"),
        ),
        # ... or only the rollback is left, even COMPLETED: not this deploy's success.
        (view(primary("COMPLETED", 6)), Judgement(Phase.FAILED, "ECS rolled back to api:6")),
        # No rollout state: running as desired, one deployment.
        (view(primary(None)), Judgement(Phase.STEADY)),
        (view(primary(None), running=1), Judgement(Phase.ROLLING)),
        (
            view(primary(None), DeploymentView("ACTIVE", f"{TD}:6", None, None)),
            Judgement(Phase.ROLLING),
        ),
        (view(status="DRAINING"), Judgement(Phase.FAILED, "the service is DRAINING")),
        # Another deployment controller rolls it (botocore's ECS model: DeploymentControllerType
        # ECS, CODE_DEPLOY, EXTERNAL); moto gives such a service no deployments.
        *(
            (
                view(controller=controller),
                Judgement(
                    Phase.NOT_FOLLOWED,
                    f"its deployment controller is {controller}, and only the ECS controller's "
                    "rollouts are waited for",
                ),
            )
            for controller in ("CODE_DEPLOY", "EXTERNAL")
        ),
    ],
)
def test_a_service_is_judged_against_the_task_definition_deployed(
    service: ServiceView, judgement: Judgement
) -> None:
    assert judge(service, f"{TD}:7") == judgement


def crash_loop(desired: int, failed: int, running: int = 0, breaker: bool = False) -> ServiceView:
    deployment = DeploymentView("PRIMARY", f"{TD}:7", "IN_PROGRESS", "in progress", running, failed)
    return ServiceView(
        "arn", "c/api", "ACTIVE", f"{TD}:7", desired, running, 0, (deployment,), "ECS", breaker
    )


def test_a_crash_loop_fails_at_the_threshold_ecs_s_circuit_breaker_uses() -> None:
    """The API reference (ServiceDeploymentCircuitBreaker.threshold): 0.5 * desired, at least 3,
    at most 200; the developer guide (awsdocs/amazon-ecs-developer-guide,
    doc_source/deployment-circuit-breaker.md): rounded up (25 desired: 13). botocore's model:
    failedTasks counts consecutive failures and resets once a task runs. With the breaker on,
    ECS fails the deployment itself (its threshold may be configured otherwise): left to it."""
    cases = [
        (crash_loop(1, 2), Phase.ROLLING),
        (crash_loop(1, 3), Phase.FAILED),  # the minimum, 3
        (crash_loop(5, 3), Phase.FAILED),  # 2.5 rounded up
        (crash_loop(7, 3), Phase.ROLLING),  # 3.5 rounded up: 4
        (crash_loop(7, 4), Phase.FAILED),
        (crash_loop(25, 12), Phase.ROLLING),
        (crash_loop(25, 13), Phase.FAILED),
        (crash_loop(800, 199), Phase.ROLLING),
        (crash_loop(800, 200), Phase.FAILED),  # the maximum, 200
        (crash_loop(2, 9, running=1), Phase.ROLLING),  # a task runs: not a crash loop
        (crash_loop(2, 9, breaker=True), Phase.ROLLING),  # ECS's own breaker decides
    ]
    assert [judge(service, f"{TD}:7").phase for service, _ in cases] == [p for _, p in cases]
    assert judge(crash_loop(25, 13), f"{TD}:7").reason == (
        "13 tasks failed in a row and none is running (ECS's deployment circuit breaker, off for "
        "this service, fails a rollout at 13 for 25 desired tasks)"
    )


def test_the_report_has_a_row_and_an_entry_per_service() -> None:
    outcomes = [
        ServiceOutcome(view(primary("COMPLETED")), Phase.STEADY, 42.44, ("r/api:1", "r/log:2")),
        ServiceOutcome(view(primary("IN_PROGRESS"), running=1), Phase.ROLLING, None),
    ]
    assert summary_markdown(outcomes).splitlines()[-2:] == [
        "| `c/api` | `api:7` | `r/api:1`<br>`r/log:2` | 2 | 2 | 0 | COMPLETED | 42 s |",
        "| `c/api` | `api:7` | - | 2 | 1 | 1 | IN_PROGRESS | - |",
    ]
    assert json.loads(services_json(outcomes))[0] == {
        "service": "c/api",
        "task_definition": "api:7",
        "images": ["r/api:1", "r/log:2"],
        "desired": 2,
        "running": 2,
        "pending": 0,
        "rollout_state": "COMPLETED",
        "seconds_to_steady": 42.4,
        "reason": None,
    }
