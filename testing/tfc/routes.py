"""The archivist (Terraform Enterprise's object storage: uploads, logs, JSON plans, states) and
the route table, with templates spelt as HashiCorp's documentation spells them (:run_id)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from testing.http_stand_in import (
    COLON_PARAMETERS,
    Answer,
    Reply,
    Route,
    Router,
    int_or,
    route,
)
from testing.tfc.handlers import (
    Call,
    apply_run,
    cancel_run,
    create_configuration_version,
    create_run,
    current_state_version,
    current_state_version_outputs,
    discard_run,
    list_runs,
    list_state_version_outputs,
    plan_json_output,
    plan_json_output_redacted,
    run_plan_json_output,
    show_apply,
    show_configuration_version,
    show_ingress_attributes,
    show_plan,
    show_run,
    show_state_version,
    show_state_version_output,
    show_workspace,
    show_workspace_by_name,
)
from testing.tfc.model import (
    API,
    ARCHIVIST,
    ConfigurationVersion,
    Object,
    WorkspaceAccess,
    iso,
)
from testing.tfc.policies import (
    list_policy_checks,
    list_policy_evaluations,
    list_policy_set_outcomes,
    list_task_stages,
    override_policy_check,
    show_policy_check,
    show_task_stage,
)
from testing.tfc.redacted_plan import redacted_plan
from testing.tfc.run_worker import (
    check_archive,
)
from testing.tfc.state import (
    State,
)


def _archivist_object(call: Call) -> Object:
    found = call.state.objects.get(call.params["key"])
    if found is None or (found.expires_at is not None and time.monotonic() > found.expires_at):
        raise Answer(Reply(404, b"not found", content_type="text/plain"))
    return found


def _archivist_put(call: Call) -> Reply:
    """The upload of a configuration version's tar.gz: no token. The version becomes uploaded
    (or errored) after one step, as HashiCorp processes uploads asynchronously."""
    found = _archivist_object(call)
    version = call.state.configuration_versions.get(found.owner)
    if found.kind != "upload" or version is None:
        raise Answer(Reply(405, b"method not allowed", content_type="text/plain"))
    if version.archive is not None:
        raise Answer(Reply(409, b"already uploaded", content_type="text/plain"))
    version.archive = bytes(call.body)
    call.state.start_thread(f"tfc-{version.id}", lambda: _process_upload(call.state, version))
    return Reply(200, b"", content_type="text/plain")


def _process_upload(state: State, version: ConfigurationVersion) -> None:
    time.sleep(state.step_seconds)
    problem = check_archive(version.archive or b"")
    with state.cond:
        if state.stopping:
            return
        version.status = "errored" if problem else "uploaded"
        version.error_message = problem
        version.timestamps[f"{version.status}-at"] = iso()
        workspace = state.workspaces[version.workspace_id]
        if problem is None and version.auto_queue_runs:
            state.create_run(
                workspace,
                version,
                message="Triggered via API",
                plan_only=version.speculative,
                auto_apply=workspace.auto_apply,
                variables=[],
                source="tfe-configuration-version",
            )
        state.cond.notify_all()


def _archivist_get(call: Call) -> Reply:
    """A log (with the `offset` and `limit` go-tfe's log reader sends), a JSON plan or a state."""
    found = _archivist_object(call)
    state = call.state
    if found.kind == "log":
        run = state.plans.get(found.owner) or state.applies.get(found.owner)
        if run is None:
            raise Answer(Reply(404, b"not found", content_type="text/plain"))
        phase = run.plan if run.plan.id == found.owner else run.apply
        content = phase.log.render()
        offset = max(int_or(call.query.get("offset"), 0), 0)
        limit = int_or(call.query.get("limit"), len(content))
        return Reply(200, content[offset : offset + max(limit, 0)], content_type="text/plain")
    if found.kind == "json-plan":
        plan_run = state.plans[found.owner]
        return Reply(200, plan_run.plan.json_plan or b"", content_type="application/json")
    if found.kind == "json-plan-redacted":
        json_plan = state.plans[found.owner].plan.json_plan or b"{}"
        return Reply(200, redacted_plan(json_plan), content_type="application/json")
    if found.kind == "state":
        return Reply(200, state.state_versions[found.owner].raw, content_type="application/json")
    raise Answer(Reply(405, b"method not allowed", content_type="text/plain"))


@dataclass(frozen=True)
class Endpoint:
    """A route's handler, and who may call it."""

    handle: Callable[[Call], Reply]
    authenticated: bool = True  # False: the archivist, whose URLs are the credentials
    organization_token: bool = True  # False: an organization token is answered 403
    needs: WorkspaceAccess = "read"  # the workspace permission set it needs (permissions.py)


def _route(
    method: str,
    template: str,
    handler: Callable[[Call], Reply],
    statuses: Collection[int],
    *,
    authenticated: bool = True,
    organization_token: bool = True,
    needs: WorkspaceAccess = "read",
) -> Route[Endpoint]:
    endpoint = Endpoint(handler, authenticated, organization_token, needs)
    return route(method, template, endpoint, statuses, COLON_PARAMETERS)


def _read(path: str, handler: Callable[[Call], Reply]) -> Route[Endpoint]:
    """A GET below the API that any token may call and that answers the resource or 404."""
    return _route("GET", f"{API}{path}", handler, {200, 404})


def _team_only(
    method: str,
    path: str,
    handler: Callable[[Call], Reply],
    statuses: Collection[int],
    needs: WorkspaceAccess = "read",
) -> Route[Endpoint]:
    """A route below the API that an organization token may not call (403): runs and what
    starts or decides them, and the JSON plans."""
    return _route(method, f"{API}{path}", handler, statuses, organization_token=False, needs=needs)


def _run_actions(actions: dict[str, Callable[[Call], Reply]]) -> list[Route[Endpoint]]:
    """POST /runs/:run_id/actions/<action>: accepted (202), or 409 when the run is not in a
    status that allows it; each needs permission to apply runs (run API), else 404."""
    return [
        _team_only("POST", f"/runs/:run_id/actions/{action}", handler, {202, 404, 409}, "write")
        for action, handler in actions.items()
    ]


ROUTER: Router[Endpoint] = Router(
    [
        _read("/organizations/:organization/workspaces/:name", show_workspace_by_name),
        _read("/workspaces/:workspace_id", show_workspace),
        _team_only(
            "POST",
            "/workspaces/:workspace_id/configuration-versions",
            create_configuration_version,
            {201, 404, 422},
        ),
        _read("/configuration-versions/:cv_id", show_configuration_version),
        _read("/configuration-versions/:cv_id/ingress-attributes", show_ingress_attributes),
        _team_only("POST", "/runs", create_run, {201, 404, 422}),
        _read("/runs/:run_id", show_run),
        _read("/workspaces/:workspace_id/runs", list_runs),
        *_run_actions({"apply": apply_run, "discard": discard_run, "cancel": cancel_run}),
        _read("/runs/:run_id/policy-checks", list_policy_checks),
        _read("/policy-checks/:policy_check_id", show_policy_check),
        _team_only(
            "POST",
            "/policy-checks/:policy_check_id/actions/override",
            override_policy_check,
            {200, 404, 409},
        ),
        _read("/runs/:run_id/task-stages", list_task_stages),
        _read("/task-stages/:task_stage_id", show_task_stage),
        _read("/task-stages/:task_stage_id/policy-evaluations", list_policy_evaluations),
        _read(
            "/policy-evaluations/:policy_evaluation_id/policy-set-outcomes",
            list_policy_set_outcomes,
        ),
        _read("/plans/:plan_id", show_plan),
        # The JSON plan: 204 until it is ready, then a redirect to the archivist; admin access
        # only. The redacted plan, for any token that reads the run (permissions.py).
        *(
            _team_only("GET", path, handler, {204, 307, 404}, "admin")
            for path, handler in (
                ("/plans/:plan_id/json-output", plan_json_output),
                ("/runs/:run_id/plan/json-output", run_plan_json_output),
            )
        ),
        _team_only(
            "GET",
            "/plans/:plan_id/json-output-redacted",
            plan_json_output_redacted,
            {204, 307, 404},
        ),
        _read("/applies/:apply_id", show_apply),
        _read("/workspaces/:workspace_id/current-state-version", current_state_version),
        # 503 while the state version's outputs are still being processed.
        _route(
            "GET",
            f"{API}/workspaces/:workspace_id/current-state-version-outputs",
            current_state_version_outputs,
            {200, 404, 503},
        ),
        _read("/state-versions/:state_version_id", show_state_version),
        _read("/state-versions/:state_version_id/outputs", list_state_version_outputs),
        _read("/state-version-outputs/:output_id", show_state_version_output),
        _route(
            "PUT", f"{ARCHIVIST}/:key", _archivist_put, {200, 404, 405, 409}, authenticated=False
        ),
        _route("GET", f"{ARCHIVIST}/:key", _archivist_get, {200, 404, 405}, authenticated=False),
    ]
)
