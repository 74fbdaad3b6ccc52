"""The HCP Terraform (Terraform Cloud / Enterprise) API v2: the one module that talks to it.

JSON:API documents: the endpoints here, their transport (pacing, retries) in cloud_http.py.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import quote

import requests

from toto_actions.errors import OperationError, UsageError
from toto_actions.http_retry import succeeded
from toto_actions.terraform.cloud_http import (
    JSON_API,
    TfcError,
    TfcTransport,
    require_success,
)
from toto_actions.terraform.runs import RunView, run_view
from toto_actions.workflows.readiness import WorkspaceState

__all__ = [
    "DEFAULT_ADDRESS",
    "JSON_PLAN_WAIT",
    "PlanCounts",
    "TfcClient",
    "TfcError",
    "Workspace",
]

DEFAULT_ADDRESS = "https://app.terraform.io"
JSON_PLAN_WAIT = 10.0  # seconds a finished plan's JSON plan is waited for


class Workspace(NamedTuple):
    id: str
    name: str
    locked: bool
    auto_apply: bool
    html_url: str


class PlanCounts(NamedTuple):
    additions: int
    changes: int
    destructions: int
    has_changes: bool | None  # None: the plan does not say
    log_url: str | None


class TfcClient(TfcTransport):
    """The endpoints the engines use: workspaces, configurations, runs, plans, state outputs."""

    # -- workspaces and configurations ---------------------------------------------------------

    def workspace(self, name: str) -> Workspace:
        what = f"workspace {self.organization}/{name}"
        data = self._workspace_data(name)
        if data is None:
            raise UsageError(f"{what} not found, or the token cannot see it")
        attributes = data["attributes"]
        return Workspace(
            id=data["id"],
            name=attributes.get("name", name),
            locked=bool(attributes.get("locked")),
            auto_apply=bool(attributes.get("auto-apply")),
            html_url=f"{self.address}/app/{self.organization}/workspaces/{name}",
        )

    def workspace_readiness(self, name: str) -> WorkspaceState | None:
        """Whether the token may queue runs (plans) on the workspace, and whether a VCS
        repository drives it (`vcs-repo`); None when the workspace does not exist, or the token
        cannot see it."""
        data = self._workspace_data(name)
        if data is None:
            return None
        attributes = data["attributes"]
        permissions = attributes.get("permissions") or {}
        return WorkspaceState(
            bool(permissions.get("can-queue-run")), bool(attributes.get("vcs-repo"))
        )

    def _workspace_data(self, name: str) -> dict[str, Any] | None:
        """The workspace's JSON:API resource; None for a 404."""
        what = f"workspace {self.organization}/{name}"
        try:
            data: dict[str, Any] = self._get(
                f"/api/v2/organizations/{quote(self.organization)}/workspaces/{quote(name)}", what
            )["data"]
        except TfcError as problem:
            if problem.status == 404:
                return None
            if problem.status == 401:
                raise UsageError(f"{what}: the HCP Terraform token was refused (401)") from problem
            raise
        return data

    def upload_configuration(
        self, workspace: Workspace, archive: bytes, timeout: float, *, speculative: bool
    ) -> str:
        """Create a configuration version that queues no run, upload the tar.gz (the upload URL
        takes no token), and wait until it is uploaded; returns its id.

        A plain version becomes the workspace's current configuration at once, which UI runs
        and run triggers then plan. So a plan-only upload is speculative (it can only plan) and
        any other provisional (current once its run is applied), as tfci's upload offers."""
        attributes = {
            "auto-queue-runs": False,
            "speculative": speculative,
            "provisional": not speculative,
        }
        body = {"data": {"type": "configuration-versions", "attributes": attributes}}
        data = self._send(
            "POST",
            f"/api/v2/workspaces/{workspace.id}/configuration-versions",
            "create a configuration version",
            body,
        )["data"]
        upload_url = data["attributes"]["upload-url"]
        uploaded = self._with_retries(
            "upload the configuration",
            lambda: requests.put(
                upload_url,
                data=archive,
                headers={"Content-Type": "application/octet-stream"},
                timeout=120,
            ),
        )
        # A refused upload leaves the version pending for ever: waiting for it would only end
        # at the queue timeout.
        require_success("upload the configuration", uploaded)
        deadline = time.monotonic() + timeout
        while True:
            status = self._get(
                f"/api/v2/configuration-versions/{data['id']}", "configuration version"
            )["data"]["attributes"]["status"]
            if status == "uploaded":
                return str(data["id"])
            if status in {"errored", "archived"} or time.monotonic() > deadline:
                raise OperationError(f"configuration version {data['id']} is {status}")
            time.sleep(0.5)

    # -- runs ----------------------------------------------------------------------------------

    def create_run(
        self,
        workspace: Workspace,
        configuration_version: str | None,
        variables: Mapping[str, str],
        message: str,
        plan_only: bool,
        *,
        refresh_only: bool = False,
    ) -> RunView:
        """refresh_only: the run's refresh-only plan mode (a plan of what changed outside
        Terraform), as the Runs API's `refresh-only` attribute."""
        relationships: dict[str, Any] = {
            "workspace": {"data": {"type": "workspaces", "id": workspace.id}}
        }
        if configuration_version:
            relationships["configuration-version"] = {
                "data": {"type": "configuration-versions", "id": configuration_version}
            }
        body = {
            "data": {
                "type": "runs",
                "attributes": {
                    "message": message,
                    "plan-only": plan_only,
                    "refresh-only": refresh_only,
                    "auto-apply": False,
                    "variables": [{"key": k, "value": v} for k, v in variables.items()],
                },
                "relationships": relationships,
            }
        }
        return run_view(
            self._send("POST", "/api/v2/runs", "create a run", body, creates=True)["data"]
        )

    def run(self, run_id: str) -> RunView:
        return run_view(self._get(f"/api/v2/runs/{run_id}", f"run {run_id}")["data"])

    def run_for_commit(
        self, workspace: Workspace, commit: str, *, speculative: bool = False
    ) -> RunView | None:
        """The newest run the VCS connection started for that commit (source
        tfe-configuration-version), if any; speculative: the newest plan-only one (a pull
        request's), which the runs list leaves out unless its filter[operation] asks for them."""
        operation = "plan_only" if speculative else "plan_and_apply"
        runs = self._get(
            f"/api/v2/workspaces/{workspace.id}/runs?search[commit]={quote(commit)}"
            f"&filter[operation]={operation}&filter[source]=tfe-configuration-version"
            "&page[size]=1",
            f"runs of {workspace.name} for {commit}",
        )
        found = runs.get("data") or []
        return run_view(found[0]) if found else None

    def runs_of_configuration_version(self, workspace: Workspace, version: str) -> list[RunView]:
        """The workspace's runs of that configuration version, oldest first, among its newest
        runs (the list has no filter by version; plan-only runs are listed only when asked)."""
        runs = self._get(
            f"/api/v2/workspaces/{workspace.id}/runs"
            "?filter[operation]=plan_only,plan_and_apply&page[size]=20",
            f"runs of {workspace.name}",
        )
        listed = [run_view(run) for run in runs.get("data") or []]
        return [run for run in reversed(listed) if run.configuration_version_id == version]

    def lock_holder(self, workspace: Workspace) -> str | None:
        """Who holds the workspace locked, when a person or team does (a run holding it is the
        normal queue, not a lock): `users ...: reason`, else None."""
        data = self._get(
            f"/api/v2/organizations/{quote(self.organization)}/workspaces/{quote(workspace.name)}",
            f"workspace {workspace.name}",
        )["data"]
        holder = (data.get("relationships", {}).get("locked-by", {}) or {}).get("data") or {}
        if not data["attributes"].get("locked") or holder.get("type") in {None, "runs"}:
            return None
        reason = data["attributes"].get("locked-reason") or "no reason given"
        return f"{holder.get('type')} {holder.get('id')}: {reason}"

    def policy_check_failures(self, run_id: str) -> list[str]:
        """The run's policy checks that failed (Sentinel up to 0.40), as `<status> (<id>)`."""
        checks = self._get(f"/api/v2/runs/{run_id}/policy-checks", f"policy checks of {run_id}")
        return [
            f"{check['attributes']['status']} ({check['id']})"
            for check in checks.get("data", [])
            if check.get("attributes", {}).get("status")
            in {"hard_failed", "soft_failed", "errored"}
        ]

    def policy_evaluation_failures(self, run_id: str) -> list[str]:
        """The policies that failed in the policy evaluations of the run's task stages (what
        policy checks do not report: Sentinel after 0.40, OPA), as `<policy set>/<policy>
        (<enforcement level>)`; a failed evaluation that names none as `<status> (<id>)`."""
        stages = self._get(
            f"/api/v2/runs/{run_id}/task-stages?page[size]=100", f"task stages of {run_id}"
        )
        failed: list[str] = []
        for stage in stages.get("data", []):
            evaluations = self._get(
                f"/api/v2/task-stages/{stage['id']}/policy-evaluations?page[size]=100",
                f"policy evaluations of {stage['id']}",
            )
            for evaluation in evaluations.get("data", []):
                status = evaluation.get("attributes", {}).get("status")
                if status in {"failed", "errored"}:
                    named = self._failed_policies(str(evaluation["id"]))
                    failed += named or [f"{status} ({evaluation['id']})"]
        return failed

    def _failed_policies(self, evaluation_id: str) -> list[str]:
        outcomes = self._get(
            f"/api/v2/policy-evaluations/{evaluation_id}/policy-set-outcomes?page[size]=100",
            f"policy set outcomes of {evaluation_id}",
        )
        named = []
        for policy_set in outcomes.get("data", []):
            attributes = policy_set.get("attributes", {})
            for outcome in attributes.get("outcomes") or []:
                if outcome.get("status") in {"failed", "errored"}:
                    # An errored outcome has no enforcement level.
                    level = outcome.get("enforcement_level") or outcome["status"]
                    name = f"{attributes.get('policy-set-name')}/{outcome.get('policy_name')}"
                    named.append(f"{name} ({level})")
        return named

    def act(self, run: RunView, action: str, comment: str) -> bool:
        """apply, discard or cancel; False when the run moved on (409) and the action no longer
        applies to it."""
        path = f"/api/v2/runs/{run.id}/actions/{action}"
        body = {"comment": comment}
        return succeeded(lambda: self._send("POST", path, f"{action} {run.id}", body), unless=409)

    def plan(self, plan_id: str) -> PlanCounts:
        attributes = self._get(f"/api/v2/plans/{plan_id}", f"plan {plan_id}")["data"]["attributes"]
        return PlanCounts(
            additions=int(attributes.get("resource-additions") or 0),
            changes=int(attributes.get("resource-changes") or 0),
            destructions=int(attributes.get("resource-destructions") or 0),
            has_changes=_has_changes(attributes.get("has-changes")),
            log_url=attributes.get("log-read-url"),
        )

    def plan_json(self, plan_id: str, wait: float = JSON_PLAN_WAIT) -> dict[str, Any] | None:
        """The JSON plan (HashiCorp answers with a redirect to a temporary URL), asked again for
        up to `wait` seconds while it is not ready: 204 No Content, which the API answers until
        it exists (even once the run has moved on), or a body that is no JSON plan. None when it
        never came: an empty answer must not read as a plan that changes nothing. Only a token
        with admin access to the workspace may read it (plans API): others get 404."""
        return self._plan_document(
            plan_id, "json-output", "JSON plan", "format_version", wait=wait, accept=JSON_API
        )

    def redacted_plan_json(
        self, plan_id: str, wait: float = JSON_PLAN_WAIT
    ) -> dict[str, Any] | None:
        """The redacted JSON plan, which Terraform reads with the token that reads the run
        (hashicorp/terraform internal/cloud/backend_show.go): terraform's jsonformat.Plan, with
        `plan_format_version` in place of `format_version`, the same `resource_changes` and
        `resource_drift`, and sensitive values hashed. Waited for as plan_json."""
        # Accept as terraform's readRedactedPlan sends it: the document is no JSON:API.
        return self._plan_document(
            plan_id,
            "json-output-redacted",
            "redacted JSON plan",
            "plan_format_version",
            wait=wait,
            accept="application/json",
        )

    def _plan_document(
        self, plan_id: str, endpoint: str, what: str, version_key: str, *, wait: float, accept: str
    ) -> dict[str, Any] | None:
        deadline = time.monotonic() + wait
        delay = 0.5
        while True:
            document = self._send(
                "GET", f"/api/v2/plans/{plan_id}/{endpoint}", f"{what} {plan_id}", accept=accept
            )
            if version_key in document:
                return document
            if time.monotonic() + delay > deadline:
                return None
            time.sleep(delay)
            delay = min(delay * 1.5, 3.0)

    def apply_log_url(self, apply_id: str) -> str | None:
        attributes = self._get(f"/api/v2/applies/{apply_id}", f"apply {apply_id}")["data"][
            "attributes"
        ]
        url = attributes.get("log-read-url")
        return str(url) if url else None

    def log_tail(self, url: str | None, lines: int = 20) -> str:
        if not url:
            return ""
        answer = self._with_retries("read a log", lambda: requests.get(url, timeout=60))
        require_success("read a log", answer)  # an error page is no log
        return "\n".join(answer.text.rstrip().splitlines()[-lines:])

    # -- state ---------------------------------------------------------------------------------

    def outputs(self, workspace: Workspace, timeout: float) -> dict[str, dict[str, Any]]:
        """The current state's outputs as `terraform output -json` has them, sensitive values
        included (each read from its own state-version-output, the list carrying none). The list
        answers 503 while the new state is processed: wait for it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                listing = self._get(
                    f"/api/v2/workspaces/{workspace.id}/current-state-version-outputs",
                    "state outputs",
                )
                break
            except TfcError as problem:
                if problem.status != 503 or time.monotonic() > deadline:
                    raise
                time.sleep(1.0)
        outputs = {}
        for item in listing.get("data", []):
            attributes = item["attributes"]
            value = attributes.get("value")
            if attributes.get("sensitive"):
                value = self._get(
                    f"/api/v2/state-version-outputs/{item['id']}", f"output {attributes['name']}"
                )["data"]["attributes"]["value"]
            outputs[attributes["name"]] = {
                "sensitive": bool(attributes.get("sensitive")),
                "type": attributes.get("detailed-type", attributes.get("type")),
                "value": value,
            }
        return outputs


def _has_changes(value: Any) -> bool | None:
    """A plan's has-changes; None when absent (HCP does not document it for every plan)."""
    return None if value is None else bool(value)
