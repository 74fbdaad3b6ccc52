"""toto_actions.terraform.binary with the real terraform binary and its S3 backend on moto (server).

Every configuration uses built-in resources only (`terraform_data`, a `local-exec` provisioner),
since no provider can be downloaded. Each test gets a bucket of its own; a boto3 client reads
what terraform left there (state objects, lock files). The machine's terraform and AWS
configuration is kept out: an empty CLI configuration file (this machine points
TF_CLI_CONFIG_FILE at a file that does not exist, which makes terraform warn on every run) and
empty AWS configuration files.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testing.local_stack import MotoServer
from testing.terraform_configurations import BACKEND, CONFIG, SLOW_RESOURCE, TERRAFORM
from toto_actions.errors import OperationError, UsageError
from toto_actions.terraform.binary import TerraformCli
from toto_actions.terraform.exits import TerraformError
from toto_actions.terraform.json_ui import Message
from toto_actions.terraform.process import KILL_DELAY

STATE_KEY = "toto/terraform.tfstate"


@dataclass(frozen=True)
class Stack:
    """A configuration directory, its backend file, and the bucket its states go to."""

    directory: Path
    backend: Path
    bucket: str
    environment: dict[str, str]
    workspace: str

    def terraform(self, **settings: Any) -> TerraformCli:
        return TerraformCli(
            self.directory, binary=TERRAFORM, environment=self.environment, **settings
        )

    def state_key(self) -> str:
        return f"env:/{self.workspace}/{STATE_KEY}"


class Lines:
    """An on_line sink that keeps every line, and can wait for one that contains a text."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()

    def __call__(self, line: str) -> None:
        with self._changed:
            self.lines.append(line)
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        with self._changed:
            if not self._changed.wait_for(
                lambda: any(text in line for line in self.lines), timeout
            ):
                raise AssertionError(f"no line with {text!r} in {timeout}s: {self.lines}")

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture(scope="module")
def s3(moto_server: MotoServer) -> Any:
    """A boto3 S3 client of moto, to arrange buckets and look at what terraform wrote."""
    return moto_server.s3_client()


@pytest.fixture
def environment(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    """What the command would pass: AWS_* for moto; and none of the machine's configuration."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_STS",
        "TF_WORKSPACE",
        "TF_DATA_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in ("terraformrc", "aws-config", "aws-credentials"):
        (tmp_path / name).write_text("")
    return {
        **moto_server.env,
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-credentials"),
        "TF_CLI_CONFIG_FILE": str(tmp_path / "terraformrc"),
        "CHECKPOINT_DISABLE": "1",
    }


@pytest.fixture
def stack(tmp_path: Path, s3: Any, environment: dict[str, str]) -> Stack:
    """CONFIG in a directory of its own, its backend in a new bucket of moto."""
    bucket = f"tfstate-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "main.tf").write_text(CONFIG)
    backend = tmp_path / "backend.hcl"
    backend.write_text(BACKEND.format(bucket=bucket, key=STATE_KEY))
    return Stack(directory, backend, bucket, environment, workspace="svc-dev")


def ready(stack: Stack, **settings: Any) -> TerraformCli:
    """A TerraformCli on stack, initialised, in the stack's workspace."""
    terraform = stack.terraform(**settings)
    terraform.init(stack.backend, Lines())
    terraform.select_workspace(stack.workspace, Lines())
    return terraform


def plan(
    terraform: TerraformCli,
    plan_file: Path,
    variables: dict[str, str] | None = None,
    *,
    lock_timeout: str | None = None,
    destroy: bool = False,
    on_line: Lines | None = None,
) -> bool:
    return terraform.plan(
        plan_file, variables or {}, None, lock_timeout, destroy, on_line or Lines()
    )


def actions_by_address(plan_document: dict[str, Any]) -> dict[str, list[str]]:
    return {
        change["address"]: change["change"]["actions"]
        for change in plan_document["resource_changes"]
    }


def object_keys(s3: Any, bucket: str) -> list[str]:
    listing = s3.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture
def applied(stack: Stack, tmp_path: Path) -> Iterator[TerraformCli]:
    """The stack's workspace after a first apply with the default variables."""
    terraform = ready(stack)
    plan_file = tmp_path / "first.tfplan"
    assert plan(terraform, plan_file) is True
    terraform.apply(plan_file, Lines())
    yield terraform


# ------------------------------------------------------------------------------------------------
# The flow of tf-apply


def test_first_apply_creates_the_resources_and_gives_the_outputs(
    stack: Stack, tmp_path: Path
) -> None:
    terraform = stack.terraform()
    init_lines, workspace_lines, plan_lines, apply_lines = Lines(), Lines(), Lines(), Lines()
    terraform.init(stack.backend, init_lines)
    terraform.select_workspace(stack.workspace, workspace_lines)
    plan_file = tmp_path / "tfplan"

    assert plan(terraform, plan_file, on_line=plan_lines) is True
    planned = terraform.show_plan(plan_file)
    terraform.apply(plan_file, apply_lines)
    outputs = terraform.outputs()

    assert 'Successfully configured the backend "s3"' in init_lines.text()
    assert f'Created and switched to workspace "{stack.workspace}"' in workspace_lines.text()
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in plan_lines.lines
    assert actions_by_address(planned) == {
        "terraform_data.generation": ["create"],
        "terraform_data.image": ["create"],
    }
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in apply_lines.lines
    assert not any("\x1b[" in line for line in apply_lines.lines)  # -no-color
    assert outputs == {
        "image_tag": {"value": "v1", "type": "string", "sensitive": False},
        "subnets": {
            "value": ["subnet-1", "subnet-2"],
            "type": ["tuple", ["string", "string"]],
            "sensitive": False,
        },
        "tags": {
            "value": {"team": "toto", "workspace": stack.workspace},
            "type": ["object", {"team": "string", "workspace": "string"}],
            "sensitive": False,
        },
        "db_password": {"value": "pw-1", "type": "string", "sensitive": True},
    }


def test_the_state_lives_in_s3_under_the_workspace_prefix(
    stack: Stack, applied: TerraformCli, s3: Any
) -> None:
    assert object_keys(s3, stack.bucket) == [stack.state_key()]  # and no lock left behind
    state = json.loads(s3.get_object(Bucket=stack.bucket, Key=stack.state_key())["Body"].read())
    assert sorted(resource["name"] for resource in state["resources"]) == ["generation", "image"]
    assert state["outputs"]["db_password"] == {"value": "pw-1", "type": "string", "sensitive": True}


def test_a_second_plan_without_changes_is_false(
    stack: Stack, applied: TerraformCli, tmp_path: Path
) -> None:
    lines = Lines()
    assert plan(applied, tmp_path / "again.tfplan", on_line=lines) is False
    assert "No changes. Your infrastructure matches the configuration." in lines.lines
    assert actions_by_address(applied.show_plan(tmp_path / "again.tfplan")) == {
        "terraform_data.generation": ["no-op"],
        "terraform_data.image": ["no-op"],
    }


def test_select_workspace_switches_to_an_existing_one(
    stack: Stack, applied: TerraformCli, tmp_path: Path, s3: Any
) -> None:
    applied.select_workspace("svc-prod", Lines())
    assert plan(applied, tmp_path / "prod.tfplan") is True  # a new, empty workspace
    back = Lines()
    applied.select_workspace(stack.workspace, back)

    assert f'Switched to workspace "{stack.workspace}".' in back.lines
    assert plan(applied, tmp_path / "dev.tfplan") is False
    assert object_keys(s3, stack.bucket) == sorted(
        [f"env:/svc-prod/{STATE_KEY}", stack.state_key()]
    )


@pytest.mark.parametrize(
    ("variables", "destroy", "expected"),
    [
        pytest.param(
            {"image_tag": "v2"},
            False,
            {"terraform_data.image": ["update"], "terraform_data.generation": ["no-op"]},
            id="input-updates",
        ),
        pytest.param(
            {"generation": "2"},
            False,
            {"terraform_data.image": ["no-op"], "terraform_data.generation": ["delete", "create"]},
            id="triggers_replace-replaces",
        ),
        pytest.param(
            {},
            True,
            {"terraform_data.image": ["delete"], "terraform_data.generation": ["delete"]},
            id="destroy",
        ),
    ],
)
def test_a_changed_plan_shows_each_resource_action(
    applied: TerraformCli,
    tmp_path: Path,
    variables: dict[str, str],
    destroy: bool,
    expected: dict[str, list[str]],
) -> None:
    plan_file = tmp_path / "change.tfplan"
    assert plan(applied, plan_file, variables, destroy=destroy) is True
    assert actions_by_address(applied.show_plan(plan_file)) == expected


def test_the_apply_applies_exactly_the_saved_plan(applied: TerraformCli, tmp_path: Path) -> None:
    plan_file = tmp_path / "v2.tfplan"
    plan(applied, plan_file, {"image_tag": "v2"})
    lines = Lines()
    applied.apply(plan_file, lines)  # no -var here: the values are those of the plan

    assert "Apply complete! Resources: 0 added, 1 changed, 0 destroyed." in lines.lines
    assert applied.outputs()["image_tag"]["value"] == "v2"


def test_variables_reach_terraform_as_given_without_a_shell(
    applied: TerraformCli, tmp_path: Path
) -> None:
    value = """v2 "$(touch pwned)" `id`; echo ${HOME} 'it''s' = \\n"""
    plan_file = tmp_path / "odd.tfplan"
    plan(applied, plan_file, {"image_tag": value})
    applied.apply(plan_file, Lines())

    assert applied.outputs()["image_tag"]["value"] == value
    assert not (tmp_path / "config" / "pwned").exists()


def test_a_variables_file_is_passed(applied: TerraformCli, tmp_path: Path) -> None:
    var_file = tmp_path / "prod.tfvars"
    var_file.write_text('image_tag = "from-file"\n')
    plan_file = tmp_path / "file.tfplan"
    applied.plan(plan_file, {}, var_file, None, False, Lines())

    planned = applied.show_plan(plan_file)
    assert planned["variables"]["image_tag"] == {"value": "from-file"}


def test_the_environment_reaches_terraform_as_tf_var(stack: Stack, tmp_path: Path) -> None:
    terraform = ready(
        dataclasses.replace(
            stack, environment={**stack.environment, "TF_VAR_image_tag": "from-env"}
        )
    )
    plan_file = tmp_path / "env.tfplan"
    plan(terraform, plan_file)

    assert terraform.show_plan(plan_file)["variables"]["image_tag"] == {"value": "from-env"}


# ------------------------------------------------------------------------------------------------
# The S3 backend's endpoint


@pytest.mark.parametrize("way", ["endpoints-in-backend-file", "AWS_ENDPOINT_URL_S3"])
def test_the_endpoint_may_be_given_for_s3_alone(
    stack: Stack, moto_server: MotoServer, tmp_path: Path, s3: Any, way: str
) -> None:
    """Besides AWS_ENDPOINT_URL (every other test): terraform 1.11's S3 backend also takes an
    endpoint for S3 alone, in the backend file or the environment; with skip_* nothing else
    (STS) is called."""
    environment = {k: v for k, v in stack.environment.items() if k != "AWS_ENDPOINT_URL"}
    backend = stack.backend
    if way == "AWS_ENDPOINT_URL_S3":
        environment["AWS_ENDPOINT_URL_S3"] = moto_server.endpoint_url
    else:
        backend = tmp_path / "endpoints.hcl"
        backend.write_text(
            stack.backend.read_text() + f'endpoints = {{ s3 = "{moto_server.endpoint_url}" }}\n'
        )
    terraform = TerraformCli(stack.directory, binary=TERRAFORM, environment=environment)
    terraform.init(backend, Lines())
    terraform.select_workspace(stack.workspace, Lines())

    assert object_keys(s3, stack.bucket) == [stack.state_key()]


# ------------------------------------------------------------------------------------------------
# Failures


@pytest.mark.parametrize(
    ("main_tf", "variables", "first_line", "in_tail"),
    [
        pytest.param(
            CONFIG + 'resource "terraform_data" "bad" {\n  bogus = 1\n}\n',
            {},
            "terraform plan failed: Unsupported argument",
            'An argument named "bogus" is not expected here.',
            id="unsupported-argument",
        ),
        pytest.param(
            CONFIG + 'output "broken" {\n  value = terraform_data.missing.id\n}\n',
            {},
            "terraform plan failed: Reference to undeclared resource",
            'A managed resource "terraform_data" "missing" has not been declared',
            id="undeclared-resource",
        ),
    ],
)
def test_a_configuration_error_fails_the_plan_with_terraforms_message(  # noqa: PLR0917
    stack: Stack,
    tmp_path: Path,
    main_tf: str,
    variables: dict[str, str],
    first_line: str,
    in_tail: str,
) -> None:
    terraform = ready(stack)
    (stack.directory / "main.tf").write_text(main_tf)

    with pytest.raises(TerraformError) as failure:
        plan(terraform, tmp_path / "bad.tfplan", variables)

    assert isinstance(failure.value, OperationError)
    assert failure.value.exit_code == 1
    assert str(failure.value).splitlines()[0] == first_line
    assert in_tail in " ".join(failure.value.output_tail)
    assert len(failure.value.output_tail) <= 20


def test_init_fails_naming_a_missing_bucket(stack: Stack, tmp_path: Path) -> None:
    backend = tmp_path / "elsewhere.hcl"
    backend.write_text(BACKEND.format(bucket="no-such-bucket", key=STATE_KEY))

    with pytest.raises(TerraformError) as failure:
        stack.terraform().init(backend, Lines())

    assert str(failure.value).splitlines()[0] == (
        'terraform init failed: Failed to get existing workspaces: S3 bucket "no-such-bucket" '
        "does not exist."
    )


def test_show_plan_fails_with_terraforms_message(stack: Stack, tmp_path: Path) -> None:
    terraform = ready(stack)
    with pytest.raises(TerraformError) as failure:
        terraform.show_plan(tmp_path / "never-planned.tfplan")
    assert str(failure.value).splitlines()[0] == (
        "terraform show failed: Failed to read the given file as a state or plan file"
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param(
            {"binary": "no-such-terraform"},
            "no terraform binary 'no-such-terraform' on PATH",
            id="binary-not-on-path",
        ),
        pytest.param(
            {"binary": "/nowhere/terraform"},
            "no terraform binary at /nowhere/terraform: install terraform",
            id="binary-path",
        ),
        pytest.param(
            {"working_directory": Path("/nowhere/config")},
            "no Terraform configuration directory at /nowhere/config",
            id="directory",
        ),
    ],
)
def test_a_missing_binary_or_directory_is_a_usage_error(
    tmp_path: Path, settings: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"working_directory": tmp_path, "binary": TERRAFORM, **settings}
    with pytest.raises(UsageError, match=message) as failure:
        TerraformCli(**arguments)
    assert failure.value.exit_code == 2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda terraform, tmp: terraform.init(tmp / "missing.hcl", Lines()),
            "no backend config file at",
            id="backend-file",
        ),
        pytest.param(
            lambda terraform, tmp: terraform.plan(
                tmp / "p", {}, tmp / "missing.tfvars", None, False, Lines()
            ),
            "no variables file file at",
            id="var-file",
        ),
        pytest.param(
            lambda terraform, tmp: terraform.plan(
                tmp / "p", {"a=b": "c"}, None, None, False, Lines()
            ),
            "'a=b' is not a Terraform variable name",
            id="variable-name",
        ),
        pytest.param(
            lambda terraform, tmp: terraform.plan(
                tmp / "p", {"nope": "1"}, None, None, False, Lines()
            ),
            "variable 'nope' is not declared by the configuration",
            id="undeclared-variable",
        ),
        pytest.param(
            lambda terraform, tmp: terraform.plan(tmp / "p", {}, None, "soon", False, Lines()),
            "lock timeout 'soon' is not a duration",
            id="lock-timeout",
        ),
    ],
)
def test_bad_arguments_are_usage_errors_before_terraform_runs(
    stack: Stack, tmp_path: Path, call: Any, message: str
) -> None:
    terraform = stack.terraform()
    with pytest.raises(UsageError, match=message):
        call(terraform, tmp_path)
    assert not (stack.directory / ".terraform").exists()


# ------------------------------------------------------------------------------------------------
# The state lock


def hold_lock(s3: Any, stack: Stack) -> str:
    """Write the lock object another terraform run would hold; return its lock ID."""
    lock_id = str(uuid.uuid4())
    info = {
        "ID": lock_id,
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": "someone@elsewhere",
        "Version": "1.11.4",
        "Created": "2026-01-01T00:00:00Z",
        "Path": f"{stack.bucket}/{stack.state_key()}",
    }
    s3.put_object(Bucket=stack.bucket, Key=f"{stack.state_key()}.tflock", Body=json.dumps(info))
    return lock_id


def test_a_held_lock_fails_the_plan_after_the_lock_timeout(
    stack: Stack, tmp_path: Path, s3: Any
) -> None:
    terraform = ready(stack)
    lock_id = hold_lock(s3, stack)

    started = time.monotonic()
    with pytest.raises(TerraformError) as failure:
        plan(terraform, tmp_path / "locked.tfplan", lock_timeout="2s")

    assert time.monotonic() - started >= 2
    assert str(failure.value).splitlines()[0] == (
        "terraform plan failed: Error acquiring the state lock"
    )
    assert f"  ID:        {lock_id}" in failure.value.output_tail  # terraform's Lock Info


@contextmanager
def lock_held_for(s3: Any, stack: Stack, seconds: float) -> Iterator[None]:
    """While the block runs, a lock another run holds and releases after seconds; the block
    must have waited for it."""
    hold_lock(s3, stack)
    release = threading.Timer(
        seconds, lambda: s3.delete_object(Bucket=stack.bucket, Key=f"{stack.state_key()}.tflock")
    )
    release.start()
    try:
        started = time.monotonic()
        yield
        assert time.monotonic() - started >= seconds
    finally:
        release.cancel()


def test_the_plan_waits_up_to_the_lock_timeout_for_the_lock(
    stack: Stack, tmp_path: Path, s3: Any
) -> None:
    terraform = ready(stack)
    with lock_held_for(s3, stack, 2):
        assert plan(terraform, tmp_path / "waited.tfplan", lock_timeout="30s") is True


# ------------------------------------------------------------------------------------------------
# Cancellation


def planned_slow_apply(stack: Stack, tmp_path: Path) -> tuple[TerraformCli, Path]:
    """A terraform on stack and its saved plan, whose apply sleeps 30 s holding the lock."""
    (stack.directory / "main.tf").write_text(CONFIG + SLOW_RESOURCE)
    terraform = ready(stack)
    plan_file = tmp_path / "slow.tfplan"
    plan(terraform, plan_file, {"delay": "30"})
    return terraform, plan_file


def apply_in_background(
    terraform: TerraformCli, plan_file: Path, lines: Lines
) -> tuple[threading.Thread, list[OperationError]]:
    """The apply, started in a thread (for a test to cancel it); the thread, and the list its
    failure will be in."""
    failures: list[OperationError] = []

    def apply() -> None:
        try:
            terraform.apply(plan_file, lines)
        except OperationError as failure:
            failures.append(failure)

    worker = threading.Thread(target=apply)
    worker.start()
    return worker, failures


def test_cancel_stops_a_slow_apply_and_releases_the_lock(
    stack: Stack, tmp_path: Path, s3: Any
) -> None:
    terraform, plan_file = planned_slow_apply(stack, tmp_path)
    lines = Lines()
    worker, failures = apply_in_background(terraform, plan_file, lines)
    lines.wait_for("Executing: [")  # streamed while terraform runs: the sleep has begun
    assert f"{stack.state_key()}.tflock" in object_keys(s3, stack.bucket)
    cancelled_at = time.monotonic()
    terraform.cancel()
    worker.join(timeout=20)

    assert not worker.is_alive()
    assert time.monotonic() - cancelled_at < 10  # not the 30 s of the sleep
    assert "Interrupt received." in lines.lines
    [failure] = failures
    assert str(failure).startswith("terraform apply was cancelled: ")
    assert object_keys(s3, stack.bucket) == [stack.state_key()]  # lock released, state written
    with pytest.raises(OperationError, match=r"^cancelled: terraform output was not started$"):
        terraform.outputs()  # nothing starts after cancel()
    after = ready(stack)  # a later run takes the lock at once
    assert plan(after, tmp_path / "after.tfplan", {"delay": "0"}, lock_timeout="0s") is True


def stand_in_terraform(directory: Path, program: str) -> TerraformCli:
    """A TerraformCli in directory whose binary is program (Python, run by this interpreter), one
    second between its SIGINT and SIGTERM: a terraform that does not stop as it should."""
    binary = directory / "stand-in-terraform"
    binary.write_text(f"#!{sys.executable}\n{program}")
    binary.chmod(0o755)
    return TerraformCli(directory, binary=str(binary), cancel_grace=1.0)


class StopReading(Exception):
    """Raised by an on_line sink, as a Ctrl-C (KeyboardInterrupt) would be amid a run."""


def test_an_exception_in_the_caller_stops_terraform_cleanly(
    stack: Stack, tmp_path: Path, s3: Any
) -> None:
    terraform, plan_file = planned_slow_apply(stack, tmp_path)

    def interrupted(line: str) -> None:
        if line.startswith("terraform_data.slow (local-exec): Executing: ["):
            raise StopReading(line)

    started = time.monotonic()
    with pytest.raises(StopReading):
        terraform.apply(plan_file, interrupted)

    assert time.monotonic() - started < 10
    assert object_keys(s3, stack.bucket) == [stack.state_key()]  # lock released


def test_cancel_sends_sigterm_when_the_interrupt_is_not_enough(tmp_path: Path) -> None:
    """A stand-in for a terraform that does not stop on its interrupt (a provider stuck in a
    call): a program that ignores SIGINT. After the grace period it gets SIGTERM."""
    terraform = stand_in_terraform(
        tmp_path,
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, lambda *_: print('interrupt ignored', flush=True))\n"
        "print('running', flush=True)\n"
        "time.sleep(60)\n",
    )
    lines = Lines()
    worker, failures = apply_in_background(terraform, tmp_path / "plan", lines)
    lines.wait_for("running")
    cancelled_at = time.monotonic()
    terraform.cancel()
    terraform.cancel()  # a second call sends no second signal
    worker.join(timeout=20)

    assert not worker.is_alive()
    assert 1.0 <= time.monotonic() - cancelled_at < 10
    assert lines.lines == ["running", "interrupt ignored"]
    [failure] = failures
    assert str(failure).splitlines()[0] == "terraform apply was cancelled: exit code -15"


def test_the_apply_waits_up_to_the_lock_timeout_for_the_lock(
    stack: Stack, tmp_path: Path, s3: Any
) -> None:
    """The apply takes the lock again: a run that took it between the plan and the apply."""
    terraform = ready(stack)
    plan_file = tmp_path / "saved.tfplan"
    assert plan(terraform, plan_file) is True
    with lock_held_for(s3, stack, 2):
        terraform.apply(plan_file, Lines(), lock_timeout="30s")
    assert object_keys(s3, stack.bucket) == [stack.state_key()]  # applied, lock released


def test_the_apply_checks_its_lock_timeout_before_terraform_runs(
    stack: Stack, tmp_path: Path
) -> None:
    terraform = stack.terraform()
    with pytest.raises(UsageError, match="lock timeout '5 minutes' is not a duration"):
        terraform.apply(tmp_path / "p", Lines(), lock_timeout="5 minutes")


def test_a_run_that_outlasts_its_timeout_is_interrupted_then_its_process_group_killed(
    tmp_path: Path,
) -> None:
    """A stand-in for a terraform stuck beyond both interrupts (SIGINT and SIGTERM ignored),
    whose child (a provider, a provisioner's command) holds its output open: after the grace
    period and KILL_DELAY, the whole process group is killed, and the run ends."""
    terraform = stand_in_terraform(
        tmp_path,
        "import signal, subprocess, time\n"
        "def ignore(number, frame):\n"
        "    print('ignored', signal.Signals(number).name, flush=True)\n"
        "signal.signal(signal.SIGINT, ignore)\n"
        "signal.signal(signal.SIGTERM, ignore)\n"
        "subprocess.Popen(['sleep', '120'])\n"
        "print('running', flush=True)\n"
        "time.sleep(120)\n",
    )
    lines = Lines()

    started = time.monotonic()
    with pytest.raises(TerraformError) as failure:
        terraform.apply(tmp_path / "plan", lines, timeout=1.0)

    assert 1.0 + 1.0 + KILL_DELAY <= time.monotonic() - started < 1.0 + 1.0 + KILL_DELAY + 10
    assert lines.lines == ["running", "ignored SIGINT", "ignored SIGTERM"]
    assert str(failure.value) == (
        "terraform apply timed out after 1 s and did not stop within 1 s of its interrupt: "
        "it was killed and may have left the state locked (terraform force-unlock)"
    )


def test_the_machine_readable_ui_gives_the_changes_and_the_outputs_and_logs_no_ids(
    stack: Stack, tmp_path: Path
) -> None:
    terraform = ready(stack)
    plan_file = tmp_path / "streamed.tfplan"
    plan_messages: list[Message] = []
    plan_lines, apply_lines = Lines(), Lines()
    applied_messages: list[Message] = []

    assert terraform.plan(
        plan_file, {}, None, None, False, plan_lines, on_message=plan_messages.append
    )
    terraform.apply(plan_file, apply_lines, on_message=applied_messages.append)

    planned = {
        m["change"]["resource"]["addr"]: m["change"]["action"]
        for m in plan_messages
        if m["type"] == "planned_change"
    }
    assert planned == {"terraform_data.generation": "create", "terraform_data.image": "create"}
    assert "terraform_data.image: Plan to create" in plan_lines.lines
    [reported] = [m["outputs"] for m in applied_messages if m["type"] == "outputs"]
    assert reported["image_tag"] == {"sensitive": False, "type": "string", "value": "v1"}
    assert reported["db_password"] == {"sensitive": True, "type": "string"}  # no value
    ids = [m["hook"]["id_value"] for m in applied_messages if m["type"] == "apply_complete"]
    assert len(ids) == 2
    assert not [line for line in apply_lines.lines if any(i in line for i in ids)]
    assert "terraform_data.image: Creation complete after 0s" in apply_lines.lines
    assert not [line for line in apply_lines.lines if "Plan to create" in line]  # said once
    assert apply_lines.lines[-2:] == [
        "Apply complete! Resources: 2 added, 0 changed, 0 destroyed.",
        "Outputs: 4",
    ]
