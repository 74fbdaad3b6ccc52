"""A plan-only run of the cli engine (a pull request's plan, a drift check) takes no state lock
(`-lock=false`), so a pull request can neither hold prod's lock nor wait on it; an apply still
takes it (issue 28, point 11).

Terraform locks the state "for all operations that could write state" and "-lock=false"
disables that for most commands (https://developer.hashicorp.com/terraform/language/state/locking;
the flag: hashicorp/terraform, internal/command/arguments/extended.go, `lock`). The other run's
lock is what terraform's S3 backend writes with use_lockfile: the `.tflock` object.
"""

from __future__ import annotations

import json
import uuid

import pytest

from testing.tf_apply_step import outputs_of
from tests.commands.test_tf_apply_cli import LOCK_KEY, STATE_KEY, Core, core, state_objects

__all__ = ["core"]  # the fixture, shared with the cli engine's other tests


def hold_the_lock(core: Core) -> bytes:
    """Another run's lock on the workspace's state, as terraform writes it; its content."""
    other = {"ID": str(uuid.uuid4()), "Operation": "OperationTypeApply", "Who": "other@ci"}
    body = json.dumps(other).encode()
    core.s3.put_object(Bucket=core.bucket, Key=LOCK_KEY, Body=body)
    return body


def the_lock(core: Core) -> bytes:
    return bytes(core.s3.get_object(Bucket=core.bucket, Key=LOCK_KEY)["Body"].read())


@pytest.mark.parametrize(
    "plan_only",
    [("--plan-only", "true"), ("--plan-only", "true", "--refresh-only", "true")],
    ids=["plan", "refresh-only"],
)
def test_a_plan_only_run_succeeds_while_another_run_holds_the_lock(
    core: Core, plan_only: tuple[str, ...]
) -> None:
    assert core().exit_code == 0  # the workspace exists: selecting it takes no lock
    lock = hold_the_lock(core)

    result = core(*plan_only, "--var", "image_tag=v2", "--lock-timeout", "0s")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert outputs_of(result)["status"] in {"planned", "no-changes"}
    assert "Error acquiring the state lock" not in result.stdout + result.stderr
    assert state_objects(core) == [STATE_KEY, LOCK_KEY]
    assert the_lock(core) == lock  # the other run's lock, untouched


def test_an_apply_still_fails_on_a_lock_another_run_holds(core: Core) -> None:
    assert core().exit_code == 0
    lock = hold_the_lock(core)

    result = core("--var", "image_tag=v2", "--lock-timeout", "1s")

    assert result.exit_code == 1, result.stdout + result.stderr
    assert "Error acquiring the state lock" in result.stdout + result.stderr
    assert "status=" not in result.stdout  # nothing applied
    assert the_lock(core) == lock
