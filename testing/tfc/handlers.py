"""The handlers of the API routes: each takes one call (under the lock) and returns a reply, or
raises Answer."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from testing.http_stand_in import (
    Reply,
    int_or,
)
from testing.tfc.documents import (
    configuration_version_document,
    error,
    not_found,
    output_resource,
    phase_document,
    run_resource,
    state_version_document,
    workspace_document,
)
from testing.tfc.model import (
    ARCHIVIST,
    JSON_PLAN_URL_SECONDS,
    ConfigurationVersion,
    ObjectKind,
    Run,
    Workspace,
    WorkspaceAccess,
)
from testing.tfc.permissions import workspace_permissions
from testing.tfc.state import (
    State,
)


def paginated(call: Call, items: list[dict[str, Any]], default_size: int = 20) -> Reply:
    """One page of a JSON:API list, with HashiCorp's links and meta.pagination."""
    size = max(1, min(int_or(call.query.get("page[size]"), default_size), 100))
    total_pages = max((len(items) + size - 1) // size, 1)
    number = min(max(int_or(call.query.get("page[number]"), 1), 1), total_pages)
    start = (number - 1) * size

    def link(page: int | None) -> str | None:
        if page is None:
            return None
        return f"{call.base_url}{call.path}?page%5Bnumber%5D={page}&page%5Bsize%5D={size}"

    previous = number - 1 if number > 1 else None
    following = number + 1 if number < total_pages else None
    return Reply(
        200,
        {
            "data": items[start : start + size],
            "links": {
                "self": link(number),
                "first": link(1),
                "prev": link(previous),
                "next": link(following),
                "last": link(total_pages),
            },
            "meta": {
                "pagination": {
                    "current-page": number,
                    "page-size": size,
                    "prev-page": previous,
                    "next-page": following,
                    "total-pages": total_pages,
                    "total-count": len(items),
                }
            },
        },
    )


# ---------------------------------------------------------------------------------------------
# Route handlers: each takes one call (under the lock) and returns a reply, or raises Answer.


@dataclass(frozen=True)
class Call:
    state: State
    params: dict[str, str]
    query: dict[str, str]
    body: Any  # JSON for API routes; bytes for the archivist
    path: str
    base_url: str
    access: WorkspaceAccess = "admin"  # the calling token's permission set

    def workspace(self) -> Workspace:
        found = self.state.workspaces.get(self.params["workspace_id"])
        if found is None:
            raise not_found()
        return found

    def run(self) -> Run:
        found = self.state.runs.get(self.params["run_id"])
        if found is None:
            raise not_found()
        return found


def show_workspace_by_name(call: Call) -> Reply:
    organization = call.state.organizations.get(call.params["organization"])
    workspace = organization.workspaces.get(call.params["name"]) if organization else None
    if workspace is None:
        raise not_found()
    return Reply(200, workspace_document(call.state, workspace, workspace_permissions(call.access)))


def show_workspace(call: Call) -> Reply:
    permissions = workspace_permissions(call.access)
    return Reply(200, workspace_document(call.state, call.workspace(), permissions))


def _resource_body(call: Call, kind: str) -> dict[str, Any]:
    """data of a JSON:API request body of that type; 422 otherwise."""
    data = call.body.get("data") if isinstance(call.body, dict) else None
    if not isinstance(data, dict) or data.get("type") != kind:
        raise error(422, "invalid attribute", f'data.type must be "{kind}"', "/data/type")
    attributes = data.setdefault("attributes", {})
    if not isinstance(attributes, dict):
        raise error(422, "invalid attribute", "attributes must be an object", "/data/attributes")
    return data


def _boolean(attributes: Mapping[str, Any], key: str, default: bool) -> bool:
    value = attributes.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise error(422, "invalid attribute", f"{key} must be a boolean", f"/data/attributes/{key}")
    return value


def create_configuration_version(call: Call) -> Reply:
    workspace = call.workspace()
    attributes = _resource_body(call, "configuration-versions")["attributes"]
    version = call.state.create_configuration_version(
        workspace,
        auto_queue_runs=_boolean(attributes, "auto-queue-runs", True),
        speculative=_boolean(attributes, "speculative", False),
        provisional=_boolean(attributes, "provisional", False),
    )
    upload_url = f"{call.base_url}{ARCHIVIST}/{version.upload_key}"
    return Reply(201, configuration_version_document(version, upload_url))


def show_configuration_version(call: Call) -> Reply:
    version = call.state.configuration_versions.get(call.params["cv_id"])
    if version is None:
        raise not_found()
    return Reply(200, configuration_version_document(version, None))


def show_ingress_attributes(call: Call) -> Reply:
    version = call.state.configuration_versions.get(call.params["cv_id"])
    if version is None or version.ingress is None:
        raise not_found()
    ingress = dict(version.ingress)
    return Reply(
        200,
        {
            "data": {
                "id": ingress.pop("id"),
                "type": "ingress-attributes",
                "attributes": ingress,
            }
        },
    )


def create_run(call: Call) -> Reply:
    data = _resource_body(call, "runs")
    attributes = data["attributes"]
    relationships = data.get("relationships")
    relationships = relationships if isinstance(relationships, dict) else {}
    workspace_id = _related_id(relationships, "workspace")
    if workspace_id is None:
        raise error(
            422, "invalid attribute", "Workspace is required", "/data/relationships/workspace"
        )
    workspace = call.state.workspaces.get(workspace_id)
    if workspace is None:
        raise not_found()
    version = _run_configuration_version(call.state, workspace, relationships)
    message = attributes.get("message") or "Queued manually via the Terraform Enterprise API"
    if not isinstance(message, str):
        raise error(
            422, "invalid attribute", "message must be a string", "/data/attributes/message"
        )
    run = call.state.create_run(
        workspace,
        version,
        message=message,
        plan_only=_boolean(attributes, "plan-only", version.speculative),
        auto_apply=_boolean(attributes, "auto-apply", workspace.auto_apply),
        refresh_only=_boolean(attributes, "refresh-only", False),
        variables=_run_variables(attributes.get("variables")),
        source="tfe-api",
    )
    return Reply(201, {"data": run_resource(call.state, run)})


def _related_id(relationships: Mapping[str, Any], name: str) -> str | None:
    related = relationships.get(name)
    data = related.get("data") if isinstance(related, dict) else None
    identifier = data.get("id") if isinstance(data, dict) else None
    return identifier if isinstance(identifier, str) else None


def _run_configuration_version(
    state: State, workspace: Workspace, relationships: Mapping[str, Any]
) -> ConfigurationVersion:
    """The run's configuration version: the one named (any workspace's), else the workspace's
    latest. It must be uploaded (the stand-in answers 422 otherwise)."""
    cv_id = (
        _related_id(relationships, "configuration-version") or workspace.configuration_version_id
    )
    if cv_id is None:
        raise error(
            422,
            "invalid attribute",
            "the workspace has no configuration version",
            "/data/relationships/configuration-version",
        )
    version = state.configuration_versions.get(cv_id)
    if version is None:
        raise not_found()
    if version.status != "uploaded":
        raise error(
            422,
            "invalid attribute",
            f"configuration version {cv_id} is {version.status}, not uploaded",
            "/data/relationships/configuration-version",
        )
    return version


def _run_variables(variables: Any) -> list[dict[str, str]]:
    """The run variables: [{key, value}] where value is an HCL literal string."""
    if variables is None:
        return []
    pointer = "/data/attributes/variables"
    if not isinstance(variables, list):
        raise error(422, "invalid attribute", "variables must be an array", pointer)
    parsed = []
    for index, variable in enumerate(variables):
        if not (
            isinstance(variable, dict)
            and isinstance(variable.get("key"), str)
            and isinstance(variable.get("value"), str)
            and variable["key"]
        ):
            raise error(
                422,
                "invalid attribute",
                "a run variable is {key, value}, both strings (value an HCL literal)",
                f"{pointer}/{index}",
            )
        parsed.append({"key": variable["key"], "value": variable["value"]})
    return parsed


def show_run(call: Call) -> Reply:
    return Reply(200, {"data": run_resource(call.state, call.run())})


def list_runs(call: Call) -> Reply:
    """Newest first. By default, as HashiCorp does, plan-only runs are left out unless
    filter[operation] asks for them; filter[status], filter[source] and search[commit] narrow
    the list."""
    workspace = call.workspace()
    runs = list(reversed(workspace.runs))
    operations = set(call.query.get("filter[operation]", "plan_and_apply").split(","))
    runs = [r for r in runs if ("plan_only" if r.plan_only else "plan_and_apply") in operations]
    if "filter[status]" in call.query:
        statuses = set(call.query["filter[status]"].split(","))
        runs = [r for r in runs if r.status in statuses]
    if "filter[source]" in call.query:
        sources = set(call.query["filter[source]"].split(","))
        runs = [r for r in runs if r.source in sources]
    if "search[commit]" in call.query:
        commit = call.query["search[commit]"]
        runs = [
            r for r in runs if (r.configuration_version.ingress or {}).get("commit-sha") == commit
        ]
    return paginated(call, [run_resource(call.state, run) for run in runs])


def _request(call: Call, action: str, allowed: Callable[[Run], bool], refusal: str) -> Run:
    """The run, with action requested of its worker; 409 saying refusal when its status does
    not allow it."""
    run = call.run()
    if not allowed(run):
        raise error(409, "conflict", refusal)
    run.requested = action
    call.state.cond.notify_all()
    return run


def apply_run(call: Call) -> Reply:
    refusal = "Run was not paused for confirmation; apply not allowed."
    _request(call, "apply", Run.is_confirmable, refusal)
    return Reply(202)


def discard_run(call: Call) -> Reply:
    refusal = "Run was not paused for confirmation or priority; discard not allowed."
    _request(call, "discard", Run.is_discardable, refusal)
    return Reply(202)


def cancel_run(call: Call) -> Reply:
    refusal = "Run was not planning or applying; cancel not allowed."
    run = _request(call, "cancel", Run.is_cancelable, refusal)
    if run.process is not None:
        run.process.send_signal(signal.SIGINT)  # terraform's graceful stop, as ctrl+c
    return Reply(202)


def show_plan(call: Call) -> Reply:
    run = call.state.plans.get(call.params["plan_id"])
    if run is None:
        raise not_found()
    return Reply(200, phase_document(call.base_url, "plans", run.plan))


def _json_output(call: Call, run: Run | None, kind: ObjectKind = "json-plan") -> Reply:
    """307 to a temporary unauthenticated URL; 204 No Content, with no body, while the plan has
    not finished (plans page: "Plan JSON supported, but plan has not yet completed") and, after
    it, for json_plan_delay_seconds, as HCP Terraform writes the JSON plan after the plan."""
    if run is None:
        raise not_found()
    plan = run.plan
    if plan.json_plan is None or plan.status != "finished":
        return Reply(204)
    if time.monotonic() < plan.json_plan_ready_at:
        return Reply(204)
    key = call.state.new_object(kind, run.plan.id, JSON_PLAN_URL_SECONDS)
    location = f"{call.base_url}{ARCHIVIST}/{key}"
    return Reply(307, None, (("Location", location),))


def plan_json_output_redacted(call: Call) -> Reply:
    """As json-output, to the redacted plan (testing/tfc/redacted_plan.py), for any token that
    reads the run (testing/tfc/permissions.py)."""
    return _json_output(call, call.state.plans.get(call.params["plan_id"]), "json-plan-redacted")


def plan_json_output(call: Call) -> Reply:
    return _json_output(call, call.state.plans.get(call.params["plan_id"]))


def run_plan_json_output(call: Call) -> Reply:
    return _json_output(call, call.run())


def show_apply(call: Call) -> Reply:
    run = call.state.applies.get(call.params["apply_id"])
    if run is None:
        raise not_found()
    return Reply(200, phase_document(call.base_url, "applies", run.apply))


def current_state_version(call: Call) -> Reply:
    workspace = call.workspace()
    if not workspace.state_versions:
        raise not_found()
    return Reply(200, state_version_document(call.base_url, workspace.state_versions[-1]))


def current_state_version_outputs(call: Call) -> Reply:
    """The current outputs, sensitive values null; 503 while the state is processed."""
    workspace = call.workspace()
    if not workspace.state_versions:
        raise not_found()
    version = workspace.state_versions[-1]
    if not version.processed():
        raise error(
            503,
            "service unavailable",
            "State version outputs are being processed and are not ready. Retry the request.",
        )
    return Reply(200, {"data": [output_resource(o, reveal=False) for o in version.outputs]})


def show_state_version(call: Call) -> Reply:
    version = call.state.state_versions.get(call.params["state_version_id"])
    if version is None:
        raise not_found()
    return Reply(200, state_version_document(call.base_url, version))


def list_state_version_outputs(call: Call) -> Reply:
    version = call.state.state_versions.get(call.params["state_version_id"])
    if version is None:
        raise not_found()
    outputs = version.outputs if version.processed() else []
    return paginated(call, [output_resource(o, reveal=False) for o in outputs])


def show_state_version_output(call: Call) -> Reply:
    output = call.state.outputs.get(call.params["output_id"])
    if output is None:
        raise not_found()
    return Reply(200, {"data": output_resource(output, reveal=True)})
