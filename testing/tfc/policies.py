"""Policy checks (Sentinel), task stages and policy evaluations (OPA) of a run: their JSON:API
documents and the handlers of their routes."""

from __future__ import annotations

from typing import Any

from testing.http_stand_in import (
    Reply,
)
from testing.tfc.documents import (
    error,
    not_found,
    reference,
)
from testing.tfc.handlers import Call, paginated
from testing.tfc.model import (
    API,
    PolicyCheck,
    PolicyEvaluation,
    Run,
)


def policy_check_resource(run: Run, check: PolicyCheck) -> dict[str, Any]:
    failed = {"soft_fail": "soft-failed", "hard_fail": "hard-failed"}.get(check.outcome)
    finished = check.status not in {"queued", "pending"}
    result = {
        "result": check.outcome == "pass" or check.status == "overridden",
        "passed": 1 if check.outcome == "pass" and finished else 0,
        "total-failed": 1 if failed and finished else 0,
        "hard-failed": 1 if check.outcome == "hard_fail" and finished else 0,
        "soft-failed": 1 if check.outcome == "soft_fail" and finished else 0,
        "advisory-failed": 0,
        "duration-ms": 0,
        "sentinel": None,
    }
    return {
        "id": check.id,
        "type": "policy-checks",
        "attributes": {
            "result": result,
            "scope": "organization",
            "status": check.status,
            "status-timestamps": dict(check.timestamps),
            "actions": {"is-overridable": check.status == "soft_failed"},
            "permissions": {"can-override": True},
        },
        "relationships": {"run": reference("runs", run.id)},
        "links": {"output": f"{API}/policy-checks/{check.id}/output"},
    }


def task_stage_resource(run: Run, evaluation: PolicyEvaluation) -> dict[str, Any]:
    """A task stage as tasks/task-stages-and-results shows it, with the policy-evaluations
    relationship go-tfe's TaskStage reads."""
    return {
        "id": evaluation.stage_id,
        "type": "task-stages",
        "attributes": {
            "status": evaluation.stage_status,
            "stage": "post_plan",
            "status-timestamps": dict(evaluation.timestamps),
            "created-at": run.created_at,
            "updated-at": run.created_at,
            "actions": {"is-overridable": False},
            "permissions": {"can-override-policy": True, "can-override-tasks": False},
        },
        "relationships": {
            "run": reference("runs", run.id),
            "task-results": {"data": []},
            "policy-evaluations": {
                "data": [{"id": evaluation.id, "type": "policy-evaluations"}],
            },
        },
        "links": {"self": f"{API}/task-stages/{evaluation.stage_id}"},
    }


def _result_count(evaluation: PolicyEvaluation) -> dict[str, int]:
    decided = evaluation.status in {"passed", "failed"}
    failed = evaluation.outcome == "mandatory_fail"
    return {
        "advisory-failed": 0,
        "errored": 0,
        "mandatory-failed": int(decided and failed),
        "passed": int(decided and not failed),
    }


def policy_evaluation_resource(evaluation: PolicyEvaluation) -> dict[str, Any]:
    path = f"{API}/policy-evaluations/{evaluation.id}"
    return {
        "id": evaluation.id,
        "type": "policy-evaluations",
        "attributes": {
            "status": evaluation.status,
            "policy-kind": "sentinel",
            "policy-tool-version": "0.40.0",
            "result-count": _result_count(evaluation),
            "status-timestamps": dict(evaluation.timestamps),
        },
        "relationships": {
            "policy-attachable": reference("task-stages", evaluation.stage_id),
            "policy-set-outcomes": {"links": {"related": f"{path}/policy-set-outcomes"}},
        },
        "links": {"self": path},
    }


def policy_set_outcome_resource(evaluation: PolicyEvaluation) -> dict[str, Any]:
    """The one policy set's outcome (only once the evaluation is decided)."""
    failed = evaluation.outcome == "mandatory_fail"
    return {
        "id": evaluation.outcome_id,
        "type": "policy-set-outcomes",
        "attributes": {
            "outcomes": [
                {
                    "enforcement_level": "mandatory",
                    "query": "main",
                    "status": "failed" if failed else "passed",
                    "policy_name": "restrict-destroy",
                    "description": "",
                }
            ],
            "error": "",
            "overridable": False,
            "policy-set-name": "toto-guardrails",
            "policy-set-description": None,
            "result-count": _result_count(evaluation),
            "policy-tool-version": "0.40.0",
        },
        "relationships": {"policy-evaluation": reference("policy-evaluations", evaluation.id)},
    }


def list_policy_checks(call: Call) -> Reply:
    run = call.run()
    checks = [policy_check_resource(run, run.policy_check)] if run.policy_check else []
    return paginated(call, checks)


def _policy_check_of(call: Call) -> tuple[Run, PolicyCheck]:
    run = call.state.policy_checks.get(call.params["policy_check_id"])
    if run is None or run.policy_check is None:
        raise not_found()
    return run, run.policy_check


def show_policy_check(call: Call) -> Reply:
    run, check = _policy_check_of(call)
    return Reply(200, {"data": policy_check_resource(run, check)})


def override_policy_check(call: Call) -> Reply:
    run, check = _policy_check_of(call)
    if check.status != "soft_failed" or run.status != "policy_override" or run.requested:
        raise error(409, "conflict", "The policy check is not overridable.")
    run.requested = "override"
    call.state.cond.notify_all()
    return Reply(200, {"data": policy_check_resource(run, check)})


def _evaluation_of(call: Call, key: str) -> tuple[Run, PolicyEvaluation]:
    found = call.state.task_stages if key == "task_stage_id" else call.state.policy_evaluations
    run = found.get(call.params[key])
    if run is None or run.policy_evaluation is None:
        raise not_found()
    return run, run.policy_evaluation


def list_task_stages(call: Call) -> Reply:
    run = call.run()
    evaluation = run.policy_evaluation
    return paginated(call, [task_stage_resource(run, evaluation)] if evaluation else [])


def show_task_stage(call: Call) -> Reply:
    """With include=policy_evaluations (go-tfe's PolicyEvaluationsTaskResults), the
    evaluations come along in `included`."""
    run, evaluation = _evaluation_of(call, "task_stage_id")
    document: dict[str, Any] = {"data": task_stage_resource(run, evaluation)}
    if "policy_evaluations" in call.query.get("include", "").split(","):
        document["included"] = [policy_evaluation_resource(evaluation)]
    return Reply(200, document)


def list_policy_evaluations(call: Call) -> Reply:
    _, evaluation = _evaluation_of(call, "task_stage_id")
    return paginated(call, [policy_evaluation_resource(evaluation)])


def list_policy_set_outcomes(call: Call) -> Reply:
    _, evaluation = _evaluation_of(call, "policy_evaluation_id")
    decided = evaluation.status in {"passed", "failed"}
    return paginated(call, [policy_set_outcome_resource(evaluation)] if decided else [])
