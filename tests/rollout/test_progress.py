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


def view(*deployments: DeploymentView, running: int = 2, status: str = "ACTIVE") -> ServiceView:
    return ServiceView("arn", "c/api", status, f"{TD}:7", 2, running, 2 - running, deployments)


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
    ],
)
def test_a_service_is_judged_against_the_task_definition_deployed(
    service: ServiceView, judgement: Judgement
) -> None:
    assert judge(service, f"{TD}:7") == judgement


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
