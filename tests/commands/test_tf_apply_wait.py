"""`toto-actions tf-apply --wait-for-services`: the real terraform applies a configuration that
outputs an ECS service's ARN, then the step waits for that service's rollout.

Two ECS servers answer boto3: moto in server mode (a server of this module's own, started with
MOTO_ECS_SERVICE_RUNNING=2: a service desiring 2 tasks is COMPLETED, one desiring 3 stays
IN_PROGRESS with 2 running and 1 pending), and, for what moto has no notion of (a FAILED rollout,
stopped tasks with their reasons, a rollout that completes while the step waits), the stand-in
ECS API of testing/ecs.py. Each test says which it uses.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.ecs import DESCRIBE_SERVICES, TARGET_PREFIX, EcsStandIn
from testing.ecs_rollout import (
    CLUSTER,
    CREDENTIALS,
    Deploy,
    assert_stopped_tasks_listed_once,
    seed_moto_service,
    services_output,
)
from testing.local_stack import MotoServer, run_moto_server
from testing.terraform_configurations import ECS_SERVICE_CONFIG
from testing.tf_apply_step import TfApplyStep, outputs_of
from testing.tfc.server import TfcServer
from tests.conftest import CLI, CliRunner, clean_environment

TOKEN = "team-token-0123456789.atlasv1.abcdef"
ORG = "acme"


@pytest.fixture(scope="module")
def ecs_moto() -> Iterator[MotoServer]:
    """A moto server whose ECS services run 2 tasks each (MOTO_ECS_SERVICE_RUNNING is read when
    a service is created, from the server's environment: the session's server cannot have it)."""
    with run_moto_server({"MOTO_ECS_SERVICE_RUNNING": "2"}) as server:
        yield server


@pytest.fixture
def ecs() -> Iterator[EcsStandIn]:
    with EcsStandIn() as server:
        yield server
        assert server.errors == []


@pytest.fixture
def on_moto(tmp_path: Path, cli: CliRunner, ecs_moto: MotoServer) -> Deploy:
    root = tmp_path / "service"
    root.mkdir()
    return Deploy(root, cli, {"AWS_ENDPOINT_URL": ecs_moto.endpoint_url})


@pytest.fixture
def on_stand_in(tmp_path: Path, cli: CliRunner, ecs: EcsStandIn) -> Deploy:
    root = tmp_path / "service"
    root.mkdir()
    return Deploy(root, cli, {"AWS_ENDPOINT_URL_ECS": ecs.url})


@pytest.mark.parametrize(("name", "request_line"), [("api", "auto"), ("www", f"{CLUSTER}/www")])
def test_a_completed_rollout_is_green_with_its_row_and_output(
    on_moto: Deploy, ecs_moto: MotoServer, name: str, request_line: str
) -> None:
    """moto: the service desires 2 tasks and runs 2, its PRIMARY deployment COMPLETED."""
    arn = seed_moto_service(ecs_moto, name, desired=2)
    result = on_moto("--var", f"service_arn={arn}", "--wait-for-services", request_line)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert outputs_of(result)["status"] == "applied"
    [service] = services_output(result.stdout)
    assert service["seconds_to_steady"] < 5
    assert service | {"seconds_to_steady": 0} == {
        "service": f"{CLUSTER}/{name}",
        "task_definition": f"{name}:1",
        "images": [f"repo/{name}:abc1234"],
        "desired": 2,
        "running": 2,
        "pending": 0,
        "rollout_state": "COMPLETED",
        "seconds_to_steady": 0,
        "reason": None,
    }
    summary = on_moto.summary.read_text(encoding="utf-8")
    row = f"| `{CLUSTER}/{name}` | `{name}:1` | `repo/{name}:abc1234` | 2 | 2 | 0 | COMPLETED |"
    assert row in summary


def test_an_apply_without_changes_still_waits(on_moto: Deploy, ecs_moto: MotoServer) -> None:
    """moto: the service may still be rolling from the previous apply."""
    arn = seed_moto_service(ecs_moto, "again", desired=2)
    assert on_moto("--var", f"service_arn={arn}").exit_code == 0
    result = on_moto("--var", f"service_arn={arn}", "--wait-for-services", "auto")
    assert result.exit_code == 0, result.stderr
    assert outputs_of(result)["status"] == "no-changes"
    assert [s["rollout_state"] for s in services_output(result.stdout)] == ["COMPLETED"]


def test_a_rollout_still_in_progress_times_out_naming_its_counts(
    on_moto: Deploy, ecs_moto: MotoServer
) -> None:
    """moto: the service desires 3 tasks and runs 2: IN_PROGRESS for ever."""
    arn = seed_moto_service(ecs_moto, "web", desired=3)
    started = time.monotonic()
    result = on_moto(
        "--var", f"service_arn={arn}", "--wait-for-services", "auto", "--wait-timeout", "4"
    )
    assert 4 <= time.monotonic() - started < 20
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: not steady after 4 s: {CLUSTER}/web (3 desired, 2 running, 1 pending)\n",
    )
    assert outputs_of(result)["status"] == "applied"
    [service] = services_output(result.stdout)
    assert (service["rollout_state"], service["seconds_to_steady"]) == ("IN_PROGRESS", None)
    assert "| 3 | 2 | 1 | IN_PROGRESS | - |" in on_moto.summary.read_text(encoding="utf-8")


def test_a_failed_rollout_names_its_reason_and_the_stopped_tasks(
    on_stand_in: Deploy, ecs: EcsStandIn
) -> None:
    """Stand-in ECS: moto has no FAILED rollout and no stopped task with a reason."""
    arn = ecs.add_service(CLUSTER, "api", "api:7", 2, ("repo/api:bad",))
    reasons = [f"Essential container in task exited ({n})" for n in range(7)]
    ecs.fail(CLUSTER, "api", "ECS deployment circuit breaker: tasks failed to start.", reasons)
    result = on_stand_in("--var", f"service_arn={arn}", "--wait-for-services", "auto")
    stopped = "; ".join(
        f"task api-stopped-{n}: Essential container in task exited ({n})" for n in range(5)
    )
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: {CLUSTER}/api: the rollout failed: ECS deployment circuit breaker: tasks "
        f"failed to start.; stopped tasks: {stopped}\n",
    )
    assert_stopped_tasks_listed_once(ecs, "api")
    [described] = ecs.requests_to(TARGET_PREFIX + "DescribeTasks")
    assert len(described.body["tasks"]) == 5
    assert len(ecs.describe_services_calls()) == 1  # failed at the first poll: no more
    [service] = services_output(result.stdout)
    assert (service["rollout_state"], service["task_definition"]) == ("FAILED", "api:7")


def test_each_poll_is_one_describe_services_call_per_ten_services_of_a_cluster(
    on_stand_in: Deploy, ecs: EcsStandIn
) -> None:
    """Stand-in ECS: 12 services in one cluster and 1 in another complete after 3 s."""
    lines = []
    for cluster, count in ((CLUSTER, 12), ("toto-batch", 1)):
        for number in range(count):
            lines.append(ecs.add_service(cluster, f"s{number}", f"s{number}:1", 1, ("i:1",)))
            ecs.complete_after(cluster, f"s{number}", 3.0)
    result = on_stand_in(
        "--var", f"service_arn={lines[0]}", "--wait-for-services", "\n".join(lines)
    )
    assert result.exit_code == 0, result.stderr
    calls = ecs.requests_to(DESCRIBE_SERVICES)
    polls = [calls[start : start + 3] for start in range(0, len(calls), 3)]
    assert 2 <= len(polls) <= 3  # at 0 s, 2 s, 4.5 s: the one at 4.5 s (or 3 s) sees them steady
    for poll in polls:
        asked = sorted((r.body["cluster"], len(r.body["services"])) for r in poll)
        assert asked == [("toto-batch", 1), (CLUSTER, 2), (CLUSTER, 10)]
        assert poll[-1].time - poll[0].time < 1  # one poll: its calls back to back
    assert len(services_output(result.stdout)) == 13


def test_a_cancelled_job_stops_waiting_at_once(on_stand_in: Deploy, ecs: EcsStandIn) -> None:
    """Stand-in ECS: a rollout that never ends; the runner's SIGINT ends the wait."""
    arn = ecs.add_service(CLUSTER, "api", "api:2", 2, ("repo/api:1",))
    process = subprocess.Popen(
        [str(CLI), "tf-apply", *on_stand_in.arguments("--var", f"service_arn={arn}")],
        env=clean_environment({**on_stand_in.env, "INPUT_WAIT-FOR-SERVICES": arn}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not ecs.describe_services_calls():
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    time.sleep(0.3)  # into the sleep between two polls
    signalled = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    # Well before the next poll was due (2 s after the first): the sleep was cut short.
    assert time.monotonic() - signalled < 1.5
    assert process.returncode == 130
    assert "warning: received SIGINT: stopping" in stderr
    assert all(moment < signalled for moment in ecs.describe_services_calls())


def test_auto_without_the_outputs_warns_and_waits_for_nothing(
    on_stand_in: Deploy, ecs: EcsStandIn
) -> None:
    (on_stand_in.root / "main.tf").write_text(
        'resource "terraform_data" "x" {\n  input = "v"\n}\n', encoding="utf-8"
    )
    result = on_stand_in("--wait-for-services", "auto")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "warning: wait-for-services auto: the configuration has no output ecs_service_arn or "
        "ecs_service_arns: no ECS rollout to wait for\n"
    )
    assert "services" not in outputs_of(result)
    assert ecs.requests == []


def test_an_output_that_is_not_a_service_arn_fails_after_the_apply(
    on_stand_in: Deploy, ecs: EcsStandIn
) -> None:
    result = on_stand_in("--var", "service_arn=toto-dev/api", "--wait-for-services", "auto")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: output ecs_service_arn: not an ECS service ARN "
        "(arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME)\n",
    )
    assert ecs.requests == []


def test_a_service_ecs_does_not_know_is_named(on_stand_in: Deploy, ecs: EcsStandIn) -> None:
    result = on_stand_in("--var", "service_arn=x", "--wait-for-services", f"{CLUSTER}/gone")
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: ECS service {CLUSTER}/gone not found: check wait-for-services or the outputs "
        "ecs_service_arn/ecs_service_arns\n",
    )


SHORT_ARN = "arn:aws:ecs:us-east-1:123456789012:service/api"
LINE_PROBLEM = (
    "expected an ECS service ARN (arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME) or "
    "CLUSTER/SERVICE"
)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--wait-for-services", "api"], f"--wait-for-services line 1 'api': {LINE_PROBLEM}"),
        (
            ["--wait-for-services", f"{CLUSTER}/api\n{SHORT_ARN}"],
            f"--wait-for-services line 2 '{SHORT_ARN}': an old-format service ARN, without its "
            "cluster: write CLUSTER/api (in the runner's region), or use auto with the output "
            "ecs_cluster",
        ),
        (
            ["--wait-for-services", f"auto\n{CLUSTER}/api"],
            "--wait-for-services: auto and none stand alone, not among service lines",
        ),
        (
            ["--wait-timeout", "0"],
            "--wait-timeout '0': expected a number of seconds from 1 to 86400",
        ),
        (
            ["--wait-timeout", "-5"],
            "--wait-timeout '-5': expected a number of seconds from 1 to 86400",
        ),
        (
            ["--wait-timeout", "soon"],
            "--wait-timeout 'soon': expected a number of seconds from 1 to 86400",
        ),
        (
            ["--wait-for-services", "auto", "--plan-only", "true"],
            "--wait-for-services applies to an apply, not to --plan-only",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_before_terraform(
    on_stand_in: Deploy, ecs: EcsStandIn, arguments: list[str], message: str
) -> None:
    result = on_stand_in("--var", "service_arn=x", *arguments)
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")
    assert not (on_stand_in.root / ".terraform").exists()  # found before terraform init ran
    assert ecs.requests == []


def test_a_service_without_its_arn_needs_a_region(on_stand_in: Deploy) -> None:
    result = on_stand_in(
        "--var",
        "service_arn=x",
        "--wait-for-services",
        f"{CLUSTER}/api",
        env={"AWS_DEFAULT_REGION": "", "AWS_REGION": "", "AWS_CONFIG_FILE": "/nonexistent"},
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --wait-for-services names a service without its ARN: set AWS_REGION (or give "
        "the service's ARN)\n",
    )


def test_the_cloud_engine_waits_once_the_run_applied(
    tmp_path: Path, cli: CliRunner, ecs: EcsStandIn
) -> None:
    """Stand-in HCP Terraform runs the apply; stand-in ECS completes the rollout 2.5 s later."""
    arn = ecs.add_service(CLUSTER, "api", "api:3", 1, ("repo/api:cloud",))
    ecs.complete_after(CLUSTER, "api", 2.5)
    with TfcServer(step_seconds=0.02, state_processing_seconds=0.3) as tfc:
        tfc.add_organization(ORG)
        tfc.add_token(TOKEN, "team")
        tfc.add_workspace(ORG, "toto-ms-api-dev")
        root = tmp_path / "service"
        root.mkdir()
        (root / "main.tf").write_text(ECS_SERVICE_CONFIG, encoding="utf-8")
        env = {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL_ECS": ecs.url,
            "TF_API_TOKEN": TOKEN,
            "TF_CLOUD_ORGANIZATION": ORG,
            "TF_CLOUD_ADDRESS": tfc.url,
        }
        step = TfApplyStep(cli, root, "cloud", env)
        result = step(
            "--workspace", "toto-ms-api-dev", "--var", f"service_arn={arn}",
            "--wait-for-services", "auto",
        )  # fmt: skip
        assert tfc.errors == []
    assert result.exit_code == 0, result.stdout + result.stderr
    run_id = outputs_of(result)["run-id"]
    assert tfc.run_status(run_id) == "applied"
    [service] = services_output(result.stdout)
    assert (service["rollout_state"], service["images"]) == ("COMPLETED", ["repo/api:cloud"])
    assert 2.5 <= service["seconds_to_steady"] < 6
    assert len(ecs.describe_services_calls()) == 3  # at 0 s, 2 s, 4.5 s
