"""The HCP Terraform stand-in (testing/tfc/), driven with requests over real HTTP.

Each test plays a client of the API-driven run workflow: a configuration version uploaded as a
tar.gz, a run created with run variables, its statuses followed by polling, its plan, JSON plan
and log read, then applied, discarded or canceled, and the workspace's outputs read. The real
terraform binary plans and applies, so counts and outputs are terraform's own.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Collection, Iterator, Mapping
from typing import Any

import pytest
import requests

from testing.terraform_configurations import passed_through
from testing.tfc.model import RUN_STATUS_ORDER
from testing.tfc.server import API, COMMON_STATUSES, FINAL_STATUSES, TfcServer
from testing.tfc.team import serving_team

ORGANIZATION = "acme"
TOKEN = "team-t0ken"
ORGANIZATION_TOKEN = "org-t0ken"
STEP_SECONDS = 0.02
STATE_PROCESSING_SECONDS = 0.5

SERVICE_CONFIG = (
    """\
terraform {
  cloud {
    organization = "acme"
    workspaces { name = "svc-dev" }
  }
}

"""
    + passed_through("image_tag", "image_tag")
    + """
output "db_password" {
  value     = "s3cr3t-${var.image_tag}"
  sensitive = true
}
"""
)
# Sleeps in its apply, so that a test can cancel it while terraform works.
SLOW_APPLY_CONFIG = """\
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "sleep 30"
  }
}
"""

PLAN_STATUSES = [
    "pending",
    "fetching",
    "fetching_completed",
    "queuing",
    "plan_queued",
    "planning",
    "planned",
]
APPLY_STATUSES = ["confirmed", "apply_queued", "applying", "applied"]


def tar_gz(files: Mapping[str, str]) -> bytes:
    """A configuration version's archive."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def string_literal(text: str) -> str:
    """A run variable's value: an HCL literal, so a string goes quoted."""
    return f'"{text}"'


class Client:
    """A JSON:API client of the stand-in, as the cloud engine talks to it."""

    def __init__(self, server: TfcServer, token: str = TOKEN) -> None:
        self.server = server
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {token}", "Content-Type": "application/vnd.api+json"}
        )

    def get(self, path: str, **options: Any) -> requests.Response:
        return self.session.get(f"{self.server.url}{path}", timeout=10, **options)

    def post(self, path: str, body: Any = None) -> requests.Response:
        return self.session.post(f"{self.server.url}{path}", json=body, timeout=10)

    def upload(self, workspace_id: str, files: Mapping[str, str], **attributes: Any) -> str:
        """A configuration version (no auto-queued run unless asked), uploaded; its id."""
        attributes.setdefault("auto-queue-runs", False)
        created = self.post(
            f"{API}/workspaces/{workspace_id}/configuration-versions",
            {"data": {"type": "configuration-versions", "attributes": attributes}},
        )
        assert created.status_code == 201, created.text
        version = created.json()["data"]
        # The upload URL takes no token.
        uploaded = requests.put(version["attributes"]["upload-url"], data=tar_gz(files), timeout=10)
        assert uploaded.status_code == 200
        self.wait(f"{API}/configuration-versions/{version['id']}", {"uploaded", "errored"})
        return str(version["id"])

    def create_run(
        self,
        workspace_id: str,
        version_id: str | None,
        variables: Mapping[str, str] | None = None,
        **attributes: Any,
    ) -> requests.Response:
        relationships: dict[str, Any] = {
            "workspace": {"data": {"type": "workspaces", "id": workspace_id}}
        }
        if version_id is not None:
            relationships["configuration-version"] = {
                "data": {"type": "configuration-versions", "id": version_id}
            }
        attributes["variables"] = [{"key": k, "value": v} for k, v in (variables or {}).items()]
        return self.post(
            f"{API}/runs",
            {"data": {"type": "runs", "attributes": attributes, "relationships": relationships}},
        )

    def start_run(
        self,
        workspace_id: str,
        files: Mapping[str, str],
        tag: str | None = "v1",
        attributes: Mapping[str, Any] | None = None,
    ) -> str:
        """Upload files and create a run on them with image_tag = tag (None: no variable)."""
        version_id = self.upload(workspace_id, files)
        variables = {"image_tag": string_literal(tag)} if tag is not None else {}
        created = self.create_run(workspace_id, version_id, variables, **(attributes or {}))
        assert created.status_code == 201, created.text
        return str(created.json()["data"]["id"])

    def run(self, run_id: str) -> dict[str, Any]:
        answer = self.get(f"{API}/runs/{run_id}")
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()["data"]
        return data

    def wait(self, path: str, statuses: Collection[str], timeout: float = 30.0) -> dict[str, Any]:
        """Poll a resource until its attributes.status is one of statuses; the resource."""
        deadline = time.monotonic() + timeout
        while True:
            data: dict[str, Any] = self.get(path).json()["data"]
            if data["attributes"]["status"] in statuses:
                return data
            assert time.monotonic() < deadline, f"{path} stayed {data['attributes']['status']}"
            time.sleep(0.005)

    def follow(
        self, run_id: str, statuses: Collection[str], timeout: float = 30.0
    ) -> dict[str, Any]:
        """Poll the run until it is in one of statuses; a final status it did not expect fails."""
        run = self.wait(f"{API}/runs/{run_id}", {*statuses, *FINAL_STATUSES}, timeout)
        assert run["attributes"]["status"] in statuses, self.explain(run)
        return run

    def explain(self, run: Mapping[str, Any]) -> str:
        plan = self.get(f"{API}/plans/{run['relationships']['plan']['data']['id']}").json()
        log = requests.get(plan["data"]["attributes"]["log-read-url"], timeout=10).text
        return f"run {run['id']} is {run['attributes']['status']}; plan log:\n{log}"

    def plan(self, run: Mapping[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = self.get(
            f"{API}/plans/{run['relationships']['plan']['data']['id']}"
        ).json()["data"]
        return data

    def apply_of(self, run: Mapping[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = self.get(
            f"{API}/applies/{run['relationships']['apply']['data']['id']}"
        ).json()["data"]
        return data


def statuses_of(server: TfcServer, run_id: str) -> list[str]:
    return [change.status for change in server.run_statuses(run_id)]


@pytest.fixture
def server() -> Iterator[TfcServer]:
    with serving_team(
        ORGANIZATION,
        TOKEN,
        step_seconds=STEP_SECONDS,
        state_processing_seconds=STATE_PROCESSING_SECONDS,
    ) as running:
        running.add_token(ORGANIZATION_TOKEN, "organization")
        yield running


@pytest.fixture
def client(server: TfcServer) -> Iterator[Client]:
    made = Client(server)
    yield made
    made.session.close()


# -- the whole workflow ---------------------------------------------------------------------------


def test_a_run_plans_applies_and_serves_its_outputs(server: TfcServer, client: Client) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    workspace = client.get(f"{API}/organizations/{ORGANIZATION}/workspaces/svc-dev").json()
    assert workspace["data"]["id"] == workspace_id
    assert workspace["data"]["attributes"]["locked"] is False
    assert workspace["data"]["attributes"]["auto-apply"] is False
    assert workspace["data"]["relationships"]["current-state-version"]["data"] is None

    # The configuration version: pending until its tar.gz arrives, uploaded after.
    created = client.post(
        f"{API}/workspaces/{workspace_id}/configuration-versions",
        {"data": {"type": "configuration-versions", "attributes": {"auto-queue-runs": False}}},
    )
    assert created.status_code == 201
    assert created.headers["Content-Type"] == "application/vnd.api+json"
    version = created.json()["data"]
    assert version["attributes"]["status"] == "pending"
    assert version["attributes"]["upload-url"].startswith(server.url)
    shown = client.get(f"{API}/configuration-versions/{version['id']}").json()["data"]
    assert "upload-url" not in shown["attributes"]  # only in the creation's answer
    put = requests.put(
        version["attributes"]["upload-url"], data=tar_gz({"main.tf": SERVICE_CONFIG}), timeout=10
    )
    assert put.status_code == 200
    client.wait(f"{API}/configuration-versions/{version['id']}", {"uploaded"})

    created = client.create_run(
        workspace_id, version["id"], {"image_tag": string_literal("v1")}, message="deploy v1"
    )
    assert created.status_code == 201
    run_id = created.json()["data"]["id"]
    assert created.json()["data"]["attributes"]["status"] == "pending"

    check_the_plan(server, client, client.follow(run_id, {"planned"}))
    check_the_apply(server, client, run_id)
    check_the_outputs(server, client, workspace_id, run_id)


def check_the_plan(server: TfcServer, client: Client, run: dict[str, Any]) -> None:
    """A run waiting for confirmation: its statuses, actions, plan, log and JSON plan."""
    run_id = run["id"]
    assert statuses_of(server, run_id) == PLAN_STATUSES
    assert run["attributes"]["actions"] == {
        "is-cancelable": False,
        "is-confirmable": True,
        "is-discardable": True,
        "is-force-cancelable": False,
    }
    assert run["attributes"]["has-changes"] is True
    assert {"plan-queueable-at", "planning-at", "planned-at"} <= set(
        run["attributes"]["status-timestamps"]
    )

    plan = client.plan(run)
    assert plan["attributes"]["status"] == "finished"
    counts = [
        plan["attributes"][f"resource-{kind}"] for kind in ("additions", "changes", "destructions")
    ]
    assert counts == [1, 0, 0]
    log = requests.get(plan["attributes"]["log-read-url"], timeout=10).content
    assert log.startswith(b"\x02") and log.endswith(b"\x03")
    assert b"Plan: 1 to add, 0 to change, 0 to destroy." in log

    # The JSON plan: a redirect to a temporary URL that takes no token.
    redirect = client.get(f"{API}/plans/{plan['id']}/json-output", allow_redirects=False)
    assert redirect.status_code == 307
    json_plan = requests.get(redirect.headers["Location"], timeout=10).json()
    changes = {c["address"]: c["change"]["actions"] for c in json_plan["resource_changes"]}
    assert changes == {"terraform_data.service": ["create"]}
    assert json_plan["variables"]["image_tag"]["value"] == "v1"  # the HCL literal, decoded
    assert client.get(f"{API}/runs/{run_id}/plan/json-output").json() == json_plan


def check_the_apply(server: TfcServer, client: Client, run_id: str) -> None:
    """Applied once (a second apply conflicts), with the apply's counts and log."""
    assert client.post(f"{API}/runs/{run_id}/actions/apply", {"comment": "ok"}).status_code == 202
    assert client.post(f"{API}/runs/{run_id}/actions/apply").status_code == 409
    run = client.follow(run_id, {"applied"})
    assert statuses_of(server, run_id) == PLAN_STATUSES + APPLY_STATUSES
    apply = client.apply_of(run)
    assert apply["attributes"]["status"] == "finished"
    assert apply["attributes"]["resource-additions"] == 1
    assert (
        b"Apply complete!" in requests.get(apply["attributes"]["log-read-url"], timeout=10).content
    )


def check_the_outputs(server: TfcServer, client: Client, workspace_id: str, run_id: str) -> None:
    """The new state version, unprocessed a while (outputs 503), then its outputs: sensitive
    values null in the list, revealed by their own route."""
    state_version = client.get(f"{API}/workspaces/{workspace_id}/current-state-version").json()
    assert state_version["data"]["attributes"]["resources-processed"] is False
    outputs_path = f"{API}/workspaces/{workspace_id}/current-state-version-outputs"
    assert client.get(outputs_path).status_code == 503
    time.sleep(STATE_PROCESSING_SECONDS)
    state_version = client.get(f"{API}/workspaces/{workspace_id}/current-state-version").json()
    assert state_version["data"]["attributes"]["resources-processed"] is True
    answer = client.get(outputs_path)
    assert answer.status_code == 200
    outputs = {o["attributes"]["name"]: o for o in answer.json()["data"]}
    assert outputs["image_tag"]["attributes"] == {
        "name": "image_tag",
        "sensitive": False,
        "type": "string",
        "value": "v1",
        "detailed-type": "string",
    }
    assert outputs["db_password"]["attributes"]["sensitive"] is True
    assert outputs["db_password"]["attributes"]["value"] is None
    secret = client.get(f"{API}/state-version-outputs/{outputs['db_password']['id']}").json()
    assert secret["data"]["attributes"]["value"] == "s3cr3t-v1"

    workspace = client.get(f"{API}/workspaces/{workspace_id}").json()["data"]
    assert (
        workspace["relationships"]["current-state-version"]["data"]["id"]
        == (state_version["data"]["id"])
    )
    assert workspace["relationships"]["current-run"]["data"]["id"] == run_id
    assert workspace["attributes"]["resource-count"] == 1
    assert server.workspace_state_outputs(ORGANIZATION, "svc-dev") == {
        "db_password": {"sensitive": True, "type": "string", "value": "s3cr3t-v1"},
        "image_tag": {"sensitive": False, "type": "string", "value": "v1"},
    }
    assert server.runs(ORGANIZATION, "svc-dev")[0].variables == (("image_tag", '"v1"'),)
    # Every status the client polled through was noticed, and after it happened.
    delays = dict(server.notice_delays(run_id))
    assert delays["planned"] is not None and delays["planned"] >= 0
    assert delays["applied"] is not None and delays["applied"] >= 0


def test_a_plan_only_run_finishes_after_its_plan(server: TfcServer, client: Client) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    run_id = client.start_run(
        workspace_id, {"main.tf": SERVICE_CONFIG}, attributes={"plan-only": True}
    )
    run = client.follow(run_id, {"planned_and_finished"})
    assert run["attributes"]["plan-only"] is True
    assert statuses_of(server, run_id) == [*PLAN_STATUSES, "planned_and_finished"]
    assert client.plan(run)["attributes"]["resource-additions"] == 1
    assert client.apply_of(run)["attributes"]["status"] == "unreachable"
    assert client.post(f"{API}/runs/{run_id}/actions/apply").status_code == 409
    assert client.get(f"{API}/workspaces/{workspace_id}/current-state-version").status_code == 404


def test_a_plan_without_changes_finishes_and_auto_apply_applies(
    server: TfcServer, client: Client
) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev", auto_apply=True)
    first = client.start_run(workspace_id, {"main.tf": SERVICE_CONFIG})
    client.follow(first, {"applied"})  # no apply call: the workspace auto-applies

    second = client.start_run(workspace_id, {"main.tf": SERVICE_CONFIG})
    run = client.follow(second, {"planned_and_finished"})
    assert run["attributes"]["has-changes"] is False
    assert client.plan(run)["attributes"]["has-changes"] is False
    assert statuses_of(server, second)[-2:] == ["planned", "planned_and_finished"]


def test_runs_queue_behind_the_workspace_s_active_run(server: TfcServer, client: Client) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    first = client.start_run(workspace_id, {"main.tf": SERVICE_CONFIG}, tag="v1")
    client.follow(first, {"planned"})
    second = client.start_run(workspace_id, {"main.tf": SERVICE_CONFIG}, tag="v2")

    time.sleep(STEP_SECONDS * 10)  # long enough to have left pending, were it free
    queued = client.run(second)["attributes"]
    assert queued["status"] == "pending"
    assert queued["position-in-queue"] == 1
    assert queued["actions"]["is-discardable"] is True
    workspace = client.get(f"{API}/workspaces/{workspace_id}").json()["data"]
    assert workspace["attributes"]["locked"] is True
    assert workspace["relationships"]["locked-by"]["data"] == {"id": first, "type": "runs"}

    assert client.post(f"{API}/runs/{first}/actions/discard").status_code == 202
    assert client.follow(first, {"discarded"})["attributes"]["status"] == "discarded"
    assert client.post(f"{API}/runs/{first}/actions/apply").status_code == 409
    run = client.follow(second, {"planned"})
    assert run["attributes"]["position-in-queue"] == 0
    assert client.post(f"{API}/runs/{second}/actions/discard").status_code == 202
    client.follow(second, {"discarded"})
    assert client.post(f"{API}/runs/{second}/actions/discard").status_code == 409
    assert server.workspace_state_outputs(ORGANIZATION, "svc-dev") == {}  # nothing applied


def test_a_locked_workspace_keeps_runs_pending(server: TfcServer, client: Client) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    server.lock_workspace(ORGANIZATION, "svc-dev", "maintenance")
    run_id = client.start_run(workspace_id, {"main.tf": SERVICE_CONFIG})
    time.sleep(STEP_SECONDS * 10)
    assert client.run(run_id)["attributes"]["status"] == "pending"
    workspace = client.get(f"{API}/workspaces/{workspace_id}").json()["data"]
    assert workspace["attributes"]["locked"] is True
    assert workspace["attributes"]["locked-reason"] == "maintenance"

    server.unlock_workspace(ORGANIZATION, "svc-dev")
    client.follow(run_id, {"planned"})


def test_cancel_stops_terraform_in_the_middle_of_its_apply(
    server: TfcServer, client: Client
) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    run_id = client.start_run(workspace_id, {"main.tf": SLOW_APPLY_CONFIG}, tag=None)
    client.follow(run_id, {"planned"})
    client.post(f"{API}/runs/{run_id}/actions/apply")
    run = client.follow(run_id, {"applying"})
    assert run["attributes"]["actions"]["is-cancelable"] is True
    assert run["attributes"]["actions"]["is-discardable"] is False
    assert client.post(f"{API}/runs/{run_id}/actions/discard").status_code == 409

    started = time.monotonic()
    assert client.post(f"{API}/runs/{run_id}/actions/cancel").status_code == 202
    run = client.follow(run_id, {"canceled"}, timeout=15)
    assert time.monotonic() - started < 15  # not the provisioner's 30 seconds
    assert client.apply_of(run)["attributes"]["status"] == "canceled"
    assert client.post(f"{API}/runs/{run_id}/actions/cancel").status_code == 409


def test_a_pending_run_can_be_canceled_and_a_waiting_one_force_canceled(
    server: TfcServer, client: Client
) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    first = client.start_run(workspace_id, {"main.tf": SERVICE_CONFIG})
    client.follow(first, {"planned"})
    second = client.start_run(workspace_id, {"main.tf": SERVICE_CONFIG})
    assert client.post(f"{API}/runs/{second}/actions/cancel").status_code == 202
    run = client.follow(second, {"canceled"})
    assert client.plan(run)["attributes"]["status"] == "canceled"

    server.force_cancel(first)
    assert client.follow(first, {"force_canceled"})["attributes"]["status"] == "force_canceled"


def test_an_errored_plan_serves_the_tail_of_its_log(server: TfcServer, client: Client) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    run_id = client.start_run(workspace_id, {"main.tf": SERVICE_CONFIG}, tag=None)  # no value
    run = client.follow(run_id, {"errored"})
    assert statuses_of(server, run_id)[-2:] == ["planning", "errored"]
    plan = client.plan(run)
    assert plan["attributes"]["status"] == "errored"
    log = requests.get(plan["attributes"]["log-read-url"], timeout=10).content
    assert log.endswith(b"\x03")
    assert b"No value for required variable" in log
    # go-tfe's log reader asks for chunks: offset and limit.
    chunk = requests.get(
        plan["attributes"]["log-read-url"], params={"offset": 1, "limit": 9}, timeout=10
    )
    assert chunk.content == log[1:10]
    assert client.apply_of(run)["attributes"]["status"] == "unreachable"
    redirect = client.get(f"{API}/plans/{plan['id']}/json-output", allow_redirects=False)
    assert redirect.status_code == 204


def test_a_soft_failed_policy_waits_for_an_override_through_every_stage(
    server: TfcServer, client: Client
) -> None:
    workspace_id = server.add_workspace(
        ORGANIZATION, "svc-dev", cost_estimation=True, policies="soft_fail", run_tasks=True
    )
    run_id = client.start_run(workspace_id, {"main.tf": SERVICE_CONFIG})
    run = client.follow(run_id, {"policy_override"})
    assert run["attributes"]["actions"]["is-confirmable"] is False
    assert run["attributes"]["actions"]["is-discardable"] is True
    assert client.post(f"{API}/runs/{run_id}/actions/apply").status_code == 409
    check_id = run["relationships"]["policy-checks"]["data"][0]["id"]
    check = client.get(f"{API}/policy-checks/{check_id}").json()["data"]["attributes"]
    assert check["status"] == "soft_failed"
    assert check["actions"]["is-overridable"] is True
    assert client.get(f"{API}/runs/{run_id}/policy-checks").json()["data"][0]["id"] == check_id

    assert client.post(f"{API}/policy-checks/{check_id}/actions/override").status_code == 200
    run = client.follow(run_id, {"post_plan_completed"})
    assert run["attributes"]["actions"]["is-confirmable"] is True
    apply_and_follow(client, run_id)
    assert statuses_of(server, run_id) == list(RUN_STATUS_ORDER)


@pytest.mark.parametrize(
    ("policies", "plan_only", "expected"),
    [
        ("pass", False, "policy_checked"),  # confirmable there
        ("hard_fail", False, "errored"),
        ("soft_fail", True, "policy_soft_failed"),
    ],
)
def test_policy_outcomes(
    server: TfcServer, client: Client, policies: Any, plan_only: bool, expected: str
) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev", policies=policies)
    run_id = client.start_run(
        workspace_id, {"main.tf": SERVICE_CONFIG}, attributes={"plan-only": plan_only}
    )
    run = client.follow(run_id, {expected})
    assert run["attributes"]["actions"]["is-confirmable"] is (expected == "policy_checked")


# -- configuration versions, run creation and listing --------------------------------------------


def test_an_upload_queues_a_run_unless_told_not_to(server: TfcServer, client: Client) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    client.upload(workspace_id, {"main.tf": SLOW_APPLY_CONFIG}, **{"auto-queue-runs": True})
    [queued] = server.runs(ORGANIZATION, "svc-dev")
    assert queued.source == "tfe-configuration-version"
    client.follow(queued.id, {"planned"})

    client.upload(workspace_id, {"main.tf": SLOW_APPLY_CONFIG})
    assert len(server.runs(ORGANIZATION, "svc-dev")) == 1


def test_a_broken_archive_errors_its_configuration_version(
    server: TfcServer, client: Client
) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    created = client.post(
        f"{API}/workspaces/{workspace_id}/configuration-versions",
        {"data": {"type": "configuration-versions", "attributes": {"auto-queue-runs": False}}},
    ).json()["data"]
    requests.put(created["attributes"]["upload-url"], data=b"not a tarball", timeout=10)
    version = client.wait(f"{API}/configuration-versions/{created['id']}", {"uploaded", "errored"})
    assert version["attributes"]["status"] == "errored"
    answer = client.create_run(workspace_id, created["id"])
    assert answer.status_code == 422


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"data": {"type": "workspaces"}}, "/data/type"),
        ({"data": {"type": "runs", "attributes": {}}}, "/data/relationships/workspace"),
    ],
)
def test_malformed_run_creations_answer_422(
    server: TfcServer, client: Client, body: Any, pointer: str
) -> None:
    answer = client.post(f"{API}/runs", body)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["source"]["pointer"] == pointer


def test_run_variables_must_be_key_value_strings(server: TfcServer, client: Client) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    version_id = client.upload(workspace_id, {"main.tf": SERVICE_CONFIG})
    answer = client.post(
        f"{API}/runs",
        {
            "data": {
                "type": "runs",
                "attributes": {"variables": [{"key": "image_tag", "value": 3}]},
                "relationships": {
                    "workspace": {"data": {"type": "workspaces", "id": workspace_id}}
                },
            }
        },
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["source"]["pointer"] == "/data/attributes/variables/0"
    assert client.create_run(workspace_id, version_id).status_code == 201  # the latest version


def test_a_vcs_run_is_found_by_its_commit(server: TfcServer, client: Client) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    run_id = server.queue_vcs_run(
        ORGANIZATION, "svc-dev", tar_gz({"main.tf": SLOW_APPLY_CONFIG}), commit_sha="abc123"
    )
    listed = client.get(
        f"{API}/workspaces/{workspace_id}/runs", params={"search[commit]": "abc123"}
    ).json()
    assert [run["id"] for run in listed["data"]] == [run_id]
    assert listed["meta"]["pagination"]["total-count"] == 1
    assert (
        client.get(
            f"{API}/workspaces/{workspace_id}/runs", params={"search[commit]": "def456"}
        ).json()["data"]
        == []
    )
    version_id = client.run(run_id)["relationships"]["configuration-version"]["data"]["id"]
    ingress = client.get(f"{API}/configuration-versions/{version_id}/ingress-attributes").json()
    assert ingress["data"]["attributes"]["commit-sha"] == "abc123"
    client.follow(run_id, {"planned"})


def test_a_pull_request_s_run_is_speculative_and_listed_only_when_asked(
    server: TfcServer, client: Client
) -> None:
    """HCP Terraform plans a pull request's head commit in a speculative run, from a
    configuration version whose ingress attributes name the pull request."""
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    run_id = server.queue_vcs_run(
        ORGANIZATION,
        "svc-dev",
        tar_gz({"main.tf": SLOW_APPLY_CONFIG}),
        commit_sha="abc123",
        branch="feature/x",
        message="Add x",
        pull_request=12,
    )
    runs = f"{API}/workspaces/{workspace_id}/runs"
    assert client.get(runs, params={"search[commit]": "abc123"}).json()["data"] == []
    listed = client.get(
        runs, params={"search[commit]": "abc123", "filter[operation]": "plan_only"}
    ).json()
    assert [run["id"] for run in listed["data"]] == [run_id]
    assert listed["data"][0]["attributes"]["plan-only"] is True
    version_id = client.run(run_id)["relationships"]["configuration-version"]["data"]["id"]
    version = client.get(f"{API}/configuration-versions/{version_id}").json()["data"]
    assert version["attributes"]["speculative"] is True
    ingress = client.get(f"{API}/configuration-versions/{version_id}/ingress-attributes").json()
    attributes = ingress["data"]["attributes"]
    assert {key: attributes[key] for key in ("is-pull-request", "pull-request-number")} == {
        "is-pull-request": True,
        "pull-request-number": 12,
    }
    assert (attributes["branch"], attributes["on-default-branch"]) == ("feature/x", False)
    assert attributes["pull-request-url"].endswith("/pull/12")
    client.follow(run_id, {"planned_and_finished"})
    assert server.current_configuration_version(ORGANIZATION, "svc-dev") is None


# -- credentials, errors, rate limits and faults --------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer nope", f"token {TOKEN}"])
def test_a_missing_or_unknown_token_is_unauthorized(
    server: TfcServer, authorization: str | None
) -> None:
    server.add_workspace(ORGANIZATION, "svc-dev")
    headers = {"Authorization": authorization} if authorization else {}
    answer = requests.get(
        f"{server.url}{API}/organizations/{ORGANIZATION}/workspaces/svc-dev",
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 401
    assert answer.json() == {"errors": [{"status": "401", "title": "unauthorized"}]}


def test_an_organization_token_reads_but_cannot_run(server: TfcServer) -> None:
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    organization = Client(server, ORGANIZATION_TOKEN)
    assert organization.get(f"{API}/workspaces/{workspace_id}").status_code == 200
    assert organization.create_run(workspace_id, None).status_code == 403
    created = organization.post(
        f"{API}/workspaces/{workspace_id}/configuration-versions",
        {"data": {"type": "configuration-versions"}},
    )
    assert created.status_code == 403
    assert created.json()["errors"][0]["status"] == "403"


def test_unknown_things_are_not_found(server: TfcServer, client: Client) -> None:
    server.add_workspace(ORGANIZATION, "svc-dev")
    not_found = {"errors": [{"status": "404", "title": "not found"}]}
    for path in (
        f"{API}/organizations/{ORGANIZATION}/workspaces/nope",
        f"{API}/organizations/nobody/workspaces/svc-dev",
        f"{API}/runs/run-nope",
        f"{API}/plans/plan-nope",
        f"{API}/state-version-outputs/wsout-nope",
        f"{API}/no/such/route",
    ):
        answer = client.get(path)
        assert (answer.status_code, answer.json()) == (404, not_found), path
    assert client.create_run("ws-nope", None).status_code == 404


def test_the_rate_limit_answers_429_with_its_reset(server: TfcServer, client: Client) -> None:
    server.add_workspace(ORGANIZATION, "svc-dev")
    server.rate_limit(5)
    path = f"{API}/organizations/{ORGANIZATION}/workspaces/svc-dev"
    answers = [client.get(path) for _ in range(7)]
    assert [a.status_code for a in answers[:5]] == [200] * 5
    assert [a.headers["X-RateLimit-Remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    limited = answers[5]
    assert limited.status_code == 429
    assert limited.json()["errors"][0]["title"] == "Too many requests"
    assert limited.headers["X-RateLimit-Limit"] == "5"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    reset = float(limited.headers["X-RateLimit-Reset"])
    assert 0 < reset <= 1
    time.sleep(reset + 0.01)
    assert client.get(path).status_code == 200

    server.rate_limit(None)
    assert "X-RateLimit-Limit" not in client.get(path).headers


def test_injected_faults_come_first_then_the_route(server: TfcServer, client: Client) -> None:
    server.add_workspace(ORGANIZATION, "svc-dev")
    path = f"{API}/organizations/{ORGANIZATION}/workspaces/svc-dev"
    server.fail_path("/workspaces/svc-dev$", 429, times=2, reset_seconds=0.25)
    server.fail_path("/workspaces/svc-dev$", 502, times=1, retry_after="1")
    first, second = client.get(path), client.get(path)
    assert (first.status_code, second.status_code) == (429, 429)
    assert first.headers["X-RateLimit-Reset"] == "0.250"
    third = client.get(path)
    assert (third.status_code, third.headers["Retry-After"]) == (502, "1")
    assert client.get(path).status_code == 200
    assert [
        r.status for r in server.requests_to(f"{API}/organizations/:organization/workspaces/:name")
    ] == [
        429,
        429,
        502,
        200,
    ]


def test_a_dropped_answer_is_served_then_lost(server: TfcServer, client: Client) -> None:
    """drop_answers: the request does its work (a configuration version is created) and is
    logged with its status, but the client sees the connection close with no answer."""
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    path = f"{API}/workspaces/{workspace_id}/configuration-versions"
    body = {"data": {"type": "configuration-versions", "attributes": {"auto-queue-runs": False}}}
    server.drop_answers("/configuration-versions$", method="POST")
    with pytest.raises(requests.ConnectionError):
        client.post(path, body)
    created = server.current_configuration_version(ORGANIZATION, "svc-dev")
    assert created is not None
    assert client.post(path, body).status_code == 201  # one answer dropped, the next one sent
    logged = server.requests_to(f"{API}/workspaces/:workspace_id/configuration-versions")
    assert [r.status for r in logged] == [201, 201]


def test_routes_declare_503_only_where_hashicorp_documents_it() -> None:
    """503 is documented on the current outputs alone (while the state is processed); the
    statuses every route shares are declared once, in COMMON_STATUSES."""
    documented_extra = {
        ("GET", f"{API}/workspaces/:workspace_id/current-state-version-outputs"): {503},
    }
    for route in TfcServer.routes():
        extra = documented_extra.get((route.method, route.template), set())
        assert 503 not in route.statuses - extra, route
        assert not route.statuses & COMMON_STATUSES, route


# -- what a run leaves as the workspace's configuration, its JSON plan, its policy evaluations ----
# Pages: developer.hashicorp.com/terraform/cloud-docs/api-docs/configuration-versions ("Create a
# Configuration Version": `speculative`, `provisional`), .../api-docs/run, .../api-docs/plans
# ("Retrieve the JSON execution plan"), .../api-docs/policy-evaluations and
# .../api-docs/tasks/task-stages-and-results.


def current_version(client: Client, workspace_id: str) -> str | None:
    """The workspace's current-configuration-version relationship, as the API shows it."""
    workspace = client.get(f"{API}/workspaces/{workspace_id}").json()["data"]
    data = workspace["relationships"]["current-configuration-version"]["data"]
    return None if data is None else str(data["id"])


def test_a_speculative_version_plans_only_and_never_becomes_current(
    server: TfcServer, client: Client
) -> None:
    """ "When true, this configuration version may only be used to create runs which are
    speculative, that is, can neither be confirmed nor applied." Whether it becomes the
    workspace's current version the page does not say; the stand-in keeps it non-current."""
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    current = client.upload(workspace_id, {"main.tf": SERVICE_CONFIG})
    speculative = client.upload(workspace_id, {"main.tf": SLOW_APPLY_CONFIG}, speculative=True)
    attributes = client.get(f"{API}/configuration-versions/{speculative}").json()["data"][
        "attributes"
    ]
    assert (attributes["speculative"], attributes["provisional"]) == (True, False)
    assert current_version(client, workspace_id) == current

    created = client.create_run(workspace_id, speculative, None, **{"plan-only": False})
    assert created.status_code == 201
    run = created.json()["data"]
    assert run["attributes"]["plan-only"] is True  # the version decides
    run = client.follow(run["id"], {"planned_and_finished"})
    assert run["attributes"]["actions"]["is-confirmable"] is False
    assert client.post(f"{API}/runs/{run['id']}/actions/apply").status_code == 409
    assert current_version(client, workspace_id) == current
    assert server.current_configuration_version(ORGANIZATION, "svc-dev") == current


def test_a_provisional_version_becomes_current_once_its_run_applies(
    server: TfcServer, client: Client
) -> None:
    """ "When true, this configuration version does not immediately become the workspace
    current configuration version. If the associated run is applied, it then becomes the
    current configuration version unless a newer one exists." """
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    plain = client.upload(workspace_id, {"main.tf": SERVICE_CONFIG})
    assert current_version(client, workspace_id) == plain

    discarded = client.upload(workspace_id, {"main.tf": SERVICE_CONFIG}, provisional=True)
    run_id = planned_run(client, workspace_id, discarded, "v1")
    assert client.post(f"{API}/runs/{run_id}/actions/discard").status_code == 202
    client.follow(run_id, {"discarded"})
    assert current_version(client, workspace_id) == plain

    applied = client.upload(workspace_id, {"main.tf": SERVICE_CONFIG}, provisional=True)
    run_id = planned_run(client, workspace_id, applied, "v1")
    assert current_version(client, workspace_id) == plain
    apply_and_follow(client, run_id)
    assert current_version(client, workspace_id) == applied

    overtaken = client.upload(workspace_id, {"main.tf": SERVICE_CONFIG}, provisional=True)
    run_id = planned_run(client, workspace_id, overtaken, "v2")
    newer = client.upload(workspace_id, {"main.tf": SERVICE_CONFIG})
    apply_and_follow(client, run_id)
    assert current_version(client, workspace_id) == newer


def planned_run(client: Client, workspace_id: str, version_id: str, tag: str) -> str:
    """A run of the version with image_tag = tag, waiting for confirmation; its id."""
    created = client.create_run(workspace_id, version_id, {"image_tag": string_literal(tag)})
    assert created.status_code == 201, created.text
    run_id = str(created.json()["data"]["id"])
    client.follow(run_id, {"planned"})
    return run_id


def apply_and_follow(client: Client, run_id: str) -> None:
    assert client.post(f"{API}/runs/{run_id}/actions/apply").status_code == 202
    client.follow(run_id, {"applied"})


def test_the_json_plan_answers_204_with_no_body_until_it_is_ready(
    server: TfcServer, client: Client
) -> None:
    """204 "Plan JSON supported, but plan has not yet completed"; HCP Terraform writes the JSON
    plan after the plan, so a client can meet a 204 after the run left planning too."""
    server.json_plan_delay_seconds = 1.0
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev")
    run = client.follow(client.start_run(workspace_id, {"main.tf": SERVICE_CONFIG}), {"planned"})
    plan_id = run["relationships"]["plan"]["data"]["id"]
    assert client.plan(run)["attributes"]["status"] == "finished"
    for path in (f"{API}/plans/{plan_id}/json-output", f"{API}/runs/{run['id']}/plan/json-output"):
        early = client.get(path, allow_redirects=False)
        assert (early.status_code, early.content) == (204, b"")
    time.sleep(1.0)
    ready = client.get(f"{API}/plans/{plan_id}/json-output", allow_redirects=False)
    assert ready.status_code == 307


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("pass", ("post_plan_completed", "passed", 1, 0)),
        ("mandatory_fail", ("errored", "failed", 0, 1)),
    ],
)
def test_policy_evaluations_come_from_the_run_s_task_stage(
    server: TfcServer, client: Client, outcome: Any, expected: tuple[str, str, int, int]
) -> None:
    """runs/:id/task-stages → task-stages/:id/policy-evaluations (or include=
    policy_evaluations) → policy-evaluations/:id/policy-set-outcomes."""
    run_status, stage_status, *counts = expected
    workspace_id = server.add_workspace(ORGANIZATION, "svc-dev", policy_evaluations=outcome)
    run = client.follow(client.start_run(workspace_id, {"main.tf": SERVICE_CONFIG}), {run_status})
    assert client.get(f"{API}/runs/{run['id']}/policy-checks").json()["data"] == []
    [stage] = client.get(f"{API}/runs/{run['id']}/task-stages").json()["data"]
    assert run["relationships"]["task-stages"]["data"] == [
        {"id": stage["id"], "type": "task-stages"}
    ]
    assert (stage["attributes"]["stage"], stage["attributes"]["status"]) == (
        "post_plan",
        stage_status,
    )
    [evaluation] = client.get(f"{API}/task-stages/{stage['id']}/policy-evaluations").json()["data"]
    assert stage["relationships"]["policy-evaluations"]["data"] == [
        {"id": evaluation["id"], "type": "policy-evaluations"}
    ]
    shown = client.get(f"{API}/task-stages/{stage['id']}", params={"include": "policy_evaluations"})
    assert shown.json()["included"] == [evaluation]
    assert evaluation["attributes"]["status"] == stage_status
    result = evaluation["attributes"]["result-count"]
    assert [result["passed"], result["mandatory-failed"]] == counts
    assert evaluation["relationships"]["policy-attachable"]["data"]["id"] == stage["id"]
    outcomes_path = evaluation["relationships"]["policy-set-outcomes"]["links"]["related"]
    [policy_set] = client.get(outcomes_path).json()["data"]
    [policy] = policy_set["attributes"]["outcomes"]
    assert policy["status"] == ("failed" if counts[1] else "passed")
    assert (policy["policy_name"], policy["enforcement_level"]) == ("restrict-destroy", "mandatory")
    assert policy_set["attributes"]["policy-set-name"] == "toto-guardrails"
