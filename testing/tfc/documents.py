"""The JSON:API documents the stand-in HCP Terraform answers with, shaped as HashiCorp's API
documentation shows them, and its error documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from testing.http_stand_in import (
    Answer,
    Reply,
)
from testing.tfc.model import (
    API,
    ARCHIVIST,
    ConfigurationVersion,
    Phase,
    Run,
    StateOutput,
    StateVersion,
    Workspace,
)
from testing.tfc.state import (
    State,
)
from testing.tfc.vcs import vcs_attributes


def error(status: int, title: str, detail: str | None = None, pointer: str | None = None) -> Answer:
    """A JSON:API error document, as HashiCorp answers it."""
    error: dict[str, Any] = {"status": str(status), "title": title}
    if detail is not None:
        error["detail"] = detail
    if pointer is not None:
        error["source"] = {"pointer": pointer}
    return Answer(Reply(status, {"errors": [error]}))


def not_found() -> Answer:
    return error(404, "not found")


def reference(kind: str, identifier: str | None) -> dict[str, Any]:
    return {"data": None if identifier is None else {"id": identifier, "type": kind}}


def workspace_document(
    state: State, workspace: Workspace, permissions: Mapping[str, bool]
) -> dict[str, Any]:
    """The workspace resource, with the permissions the calling token holds on it."""
    active = workspace.active_run()
    current_run = active.id if active else workspace.finished_run_id
    latest_run = workspace.runs[-1].id if workspace.runs else None
    current_state = workspace.state_versions[-1] if workspace.state_versions else None
    locked_by: dict[str, Any] = {"data": None}
    if workspace.locked_reason is not None:
        locked_by = reference("users", "user-tfcStandInAdmin1")
    elif active is not None:
        locked_by = reference("runs", active.id)
    outputs = []
    if current_state is not None and current_state.processed():
        outputs = [{"id": o.id, "type": "state-version-outputs"} for o in current_state.outputs]
    resource_count = sum(r["count"] for r in current_state.resources) if current_state else 0
    path = f"{API}/workspaces/{workspace.id}"
    return {
        "data": {
            "id": workspace.id,
            "type": "workspaces",
            "attributes": {
                "allow-destroy-plan": True,
                "auto-apply": workspace.auto_apply,
                "auto-apply-run-trigger": False,
                "created-at": workspace.created_at,
                "description": None,
                "environment": "default",
                "execution-mode": "remote",
                "file-triggers-enabled": True,
                "global-remote-state": False,
                "latest-change-at": current_state.created_at
                if current_state
                else workspace.created_at,
                "locked": workspace.locked_reason is not None or active is not None,
                "locked-reason": workspace.locked_reason or "",
                "name": workspace.name,
                "operations": True,
                "queue-all-runs": False,
                "resource-count": resource_count,
                "source": "tfe-api",
                "speculative-enabled": True,
                "structured-run-output-enabled": False,
                "tag-names": [],
                "terraform-version": state.terraform_version(),
                "trigger-prefixes": [],
                "updated-at": workspace.created_at,
                "vcs-repo": None,
                "working-directory": None,
                "permissions": dict(permissions),
                "actions": {"is-destroyable": True},
                **vcs_attributes(workspace),
            },
            "relationships": {
                "organization": reference("organizations", workspace.organization),
                "current-run": {
                    **reference("runs", current_run),
                    "links": {"related": f"{path}/current-run"} if current_run else {},
                },
                "latest-run": reference("runs", latest_run),
                "current-state-version": {
                    **reference("state-versions", current_state.id if current_state else None),
                    "links": {"related": f"{path}/current-state-version"},
                },
                "current-configuration-version": reference(
                    "configuration-versions", workspace.configuration_version_id
                ),
                "locked-by": locked_by,
                "outputs": {"data": outputs},
            },
            "links": {
                "self": f"{API}/organizations/{workspace.organization}/workspaces/{workspace.name}",
                "self-html": f"/app/{workspace.organization}/workspaces/{workspace.name}",
            },
        }
    }


def configuration_version_document(
    version: ConfigurationVersion, upload_url: str | None
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "auto-queue-runs": version.auto_queue_runs,
        "error": "unprocessable" if version.status == "errored" else None,
        "error-message": version.error_message,
        "source": version.source,
        "speculative": version.speculative,
        "status": version.status,
        "status-timestamps": dict(version.timestamps),
        "provisional": version.provisional,
    }
    if upload_url is not None:  # "only provided in the response when creating"
        attributes["upload-url"] = upload_url
    path = f"{API}/configuration-versions/{version.id}"
    ingress_id = version.ingress["id"] if version.ingress else None
    return {
        "data": {
            "id": version.id,
            "type": "configuration-versions",
            "attributes": attributes,
            "relationships": {
                "ingress-attributes": {
                    **reference("ingress-attributes", ingress_id),
                    "links": {"related": f"{path}/ingress-attributes"},
                }
            },
            "links": {"self": path, "download": f"{path}/download"},
        }
    }


def run_resource(state: State, run: Run) -> dict[str, Any]:
    path = f"{API}/runs/{run.id}"
    checks = [run.policy_check.id] if run.policy_check else []
    stages = [run.policy_evaluation.stage_id] if run.policy_evaluation else []
    return {
        "id": run.id,
        "type": "runs",
        "attributes": {
            "actions": {
                "is-cancelable": run.is_cancelable(),
                "is-confirmable": run.is_confirmable(),
                "is-discardable": run.is_discardable(),
                "is-force-cancelable": False,
            },
            "allow-config-generation": False,
            "allow-empty-apply": False,
            "auto-apply": run.auto_apply,
            "canceled-at": run.timestamps.get("canceled-at"),
            "created-at": run.created_at,
            "has-changes": run.plan.has_changes,
            "is-destroy": False,
            "message": run.message,
            "plan-only": run.plan_only,
            "position-in-queue": run.position_in_queue(),
            "refresh": True,
            "refresh-only": run.refresh_only,
            "replace-addrs": None,
            "save-plan": False,
            "source": run.source,
            "status": run.status,
            "status-timestamps": dict(run.timestamps),
            "target-addrs": None,
            "terraform-version": state.terraform_version(),
            "trigger-reason": "manual",
            "variables": [dict(v) for v in run.variables],
            "permissions": {
                "can-apply": True,
                "can-cancel": True,
                "can-comment": True,
                "can-discard": True,
                "can-force-execute": True,
                "can-force-cancel": True,
                "can-override-policy-check": True,
            },
        },
        "relationships": {
            "workspace": reference("workspaces", run.workspace.id),
            "configuration-version": {
                **reference("configuration-versions", run.configuration_version.id),
                "links": {"related": f"{path}/configuration-version"},
            },
            "plan": {**reference("plans", run.plan.id), "links": {"related": f"{path}/plan"}},
            "apply": {**reference("applies", run.apply.id), "links": {"related": f"{path}/apply"}},
            "cost-estimate": reference("cost-estimates", run.cost_estimate_id),
            "policy-checks": {
                "data": [{"id": check, "type": "policy-checks"} for check in checks],
                "links": {"related": f"{path}/policy-checks"},
            },
            "task-stages": {
                "data": [{"id": stage, "type": "task-stages"} for stage in stages],
                "links": {"related": f"{path}/task-stages"},
            },
            "created-by": reference("users", "user-tfcStandInUser01"),
        },
        "links": {"self": path},
    }


def phase_document(
    base_url: str, kind: Literal["plans", "applies"], phase: Phase
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "execution-details": {"mode": "remote"},
        "status": phase.status,
        "status-timestamps": dict(phase.timestamps),
        "log-read-url": f"{base_url}{ARCHIVIST}/{phase.log_key}",
        "resource-additions": phase.additions,
        "resource-changes": phase.changes,
        "resource-destructions": phase.destructions,
        "resource-imports": 0,
    }
    links = {"self": f"{API}/{kind}/{phase.id}"}
    if kind == "plans":
        attributes["has-changes"] = phase.has_changes
        attributes["generated-configuration"] = False
        links["json-output"] = f"{API}/plans/{phase.id}/json-output"
        links["json-output-redacted"] = f"{API}/plans/{phase.id}/json-output-redacted"
    states = [{"id": sv, "type": "state-versions"} for sv in phase.state_version_ids]
    return {
        "data": {
            "id": phase.id,
            "type": kind,
            "attributes": attributes,
            "relationships": {"state-versions": {"data": states}},
            "links": links,
        }
    }


def state_version_document(base_url: str, version: StateVersion) -> dict[str, Any]:
    processed = version.processed()
    outputs = [{"id": o.id, "type": "state-version-outputs"} for o in version.outputs]
    providers: dict[str, dict[str, int]] = {}
    modules: dict[str, dict[str, int]] = {}
    for resource in version.resources if processed else []:
        kind = str(resource["type"]).replace("_", "-")
        modules.setdefault(str(resource["module"]), {})[kind] = resource["count"]
        providers.setdefault(str(resource["provider"]), {})[kind] = resource["count"]
    return {
        "data": {
            "id": version.id,
            "type": "state-versions",
            "attributes": {
                "billable-rum-count": 0,
                "created-at": version.created_at,
                "size": len(version.raw),
                "hosted-state-download-url": f"{base_url}{ARCHIVIST}/{version.download_key}",
                "hosted-state-upload-url": None,
                "hosted-json-state-download-url": None,
                "hosted-json-state-upload-url": None,
                "status": "finalized",
                "intermediate": False,
                "modules": modules,
                "providers": providers,
                "resources": version.resources if processed else [],
                "resources-processed": processed,
                "serial": version.serial,
                "state-version": 4,
                "terraform-version": None,
                "vcs-commit-url": None,
                "vcs-commit-sha": None,
            },
            "relationships": {
                "run": reference("runs", version.run_id),
                "workspace": reference("workspaces", version.workspace_id),
                "outputs": {"data": outputs if processed else []},
            },
            "links": {"self": f"{API}/state-versions/{version.id}"},
        }
    }


def _json_type(detailed_type: Any) -> str:
    """The `type` attribute of an output: the JSON kind of its value (a tuple is an array)."""
    if isinstance(detailed_type, list) and detailed_type:
        head = detailed_type[0]
        return "array" if head in {"list", "tuple", "set"} else "object"
    return {"bool": "boolean", "dynamic": "string"}.get(str(detailed_type), str(detailed_type))


def output_resource(output: StateOutput, *, reveal: bool) -> dict[str, Any]:
    """A state-version-outputs resource; a sensitive value only when reveal is set (the
    per-output route), null elsewhere, as the documentation's note says."""
    return {
        "id": output.id,
        "type": "state-version-outputs",
        "attributes": {
            "name": output.name,
            "sensitive": output.sensitive,
            "type": _json_type(output.detailed_type),
            "value": output.value if reveal or not output.sensitive else None,
            "detailed-type": output.detailed_type,
        },
        "links": {"self": f"{API}/state-version-outputs/{output.id}"},
    }
