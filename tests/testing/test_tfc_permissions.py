"""The stand-in HCP Terraform's workspace permission sets and its redacted JSON plan.

developer.hashicorp.com/terraform/cloud-docs/api-docs/plans: `json-output` needs admin access
to the workspace (others: 404). .../api-docs/run: discarding and cancelling need permission to
apply runs (cancel: 404 "Run was not found or user not authorized"). The redacted plan's shape
is terraform's jsonformat.Plan (hashicorp/terraform internal/command/jsonformat/plan.go), its
sensitive values hashed as in internal/cloud/testdata/apply-json-with-outputs/plan-redacted.json.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from testing.tfc.server import API, TfcServer
from testing.tfc.team import serving_team
from tests.testing.test_tfc_server import ORGANIZATION, SERVICE_CONFIG, TOKEN, Client

PLAN_TOKEN = "plan-t0ken"


@pytest.fixture
def server() -> Iterator[TfcServer]:
    with serving_team(ORGANIZATION, TOKEN, step_seconds=0.02) as server:
        server.add_token(PLAN_TOKEN, "team", access="plan")
        yield server


def _planned_run(server: TfcServer) -> dict[str, Any]:
    """A run of SERVICE_CONFIG waiting for confirmation, made with the admin token."""
    admin = Client(server)
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    version = admin.upload(workspace_id, {"main.tf": SERVICE_CONFIG})
    created = admin.create_run(workspace_id, version, {"image_tag": '"v1"'})
    assert created.status_code == 201, created.text
    return admin.follow(created.json()["data"]["id"], {"planned"})


def test_only_an_admin_reads_the_json_plan_and_any_reader_the_redacted_one(
    server: TfcServer,
) -> None:
    run = _planned_run(server)
    reader = Client(server, PLAN_TOKEN)
    plan = reader.plan(run)
    assert plan["links"]["json-output-redacted"] == f"{API}/plans/{plan['id']}/json-output-redacted"
    assert reader.get(f"{API}/plans/{plan['id']}/json-output").status_code == 404
    assert reader.get(f"{API}/runs/{run['id']}/plan/json-output").status_code == 404
    redirect = reader.get(f"{API}/plans/{plan['id']}/json-output-redacted", allow_redirects=False)
    assert redirect.status_code == 307
    redacted = requests.get(redirect.headers["Location"], timeout=10).json()
    assert "format_version" not in redacted
    assert set(redacted) == {
        "plan_format_version",
        "resource_drift",
        "resource_changes",
        "relevant_attributes",
        "output_changes",
        "provider_schemas",
        "provider_format_version",
    }
    changes = {c["address"]: c["change"]["actions"] for c in redacted["resource_changes"]}
    assert changes == {"terraform_data.service": ["create"]}
    password = redacted["output_changes"]["db_password"]
    assert password["after_sensitive"] is True
    assert len(password["after"]) == 64 and "s3cr3t" not in str(redacted)


def test_a_token_that_may_not_apply_may_not_discard_cancel_or_apply(server: TfcServer) -> None:
    run = _planned_run(server)
    reader = Client(server, PLAN_TOKEN)
    for action in ("discard", "cancel", "apply"):
        refused = reader.post(f"{API}/runs/{run['id']}/actions/{action}", {"comment": "no"})
        assert refused.status_code == 404, action
    assert Client(server).post(f"{API}/runs/{run['id']}/actions/discard").status_code == 202


@pytest.mark.parametrize(
    ("access", "granted"),
    [
        ("read", {"can-read-state-versions", "can-read-state-outputs", "can-read-variable"}),
        (
            "plan",
            {
                "can-read-state-versions",
                "can-read-state-outputs",
                "can-read-variable",
                "can-queue-run",
            },
        ),
        (
            "admin",
            {
                "can-read-state-versions",
                "can-read-state-outputs",
                "can-read-variable",
                "can-queue-run",
                "can-queue-apply",
                "can-lock",
                "can-unlock",
                "can-update",
                "can-destroy",
            },
        ),
    ],
)
def test_a_workspace_shows_the_permissions_of_the_calling_token(
    server: TfcServer, access: str, granted: set[str]
) -> None:
    """ "Show workspace": `permissions` are what the caller may do, `can-queue-run` (queue a
    plan) from the plan set on."""
    server.add_workspace(ORGANIZATION, "svc-dev")
    server.add_token("caller", "team", access=access)  # type: ignore[arg-type]
    answer = Client(server, "caller").get(f"{API}/organizations/{ORGANIZATION}/workspaces/svc-dev")
    assert answer.status_code == 200
    permissions = answer.json()["data"]["attributes"]["permissions"]
    assert {name for name, allowed in permissions.items() if allowed} == granted
