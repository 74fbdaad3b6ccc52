"""The sync plan: desired values from outputs, and the least set of writes that reaches them."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from toto_actions.errors import UsageError
from toto_actions.github.sync_config import RepositoryMapping, SyncConfig
from toto_actions.github.sync_plan import (
    CREATE,
    DELETE,
    EMPTY_MANIFEST,
    ENVIRONMENT,
    MANIFEST_VARIABLE,
    SECRET,
    UNCHANGED,
    UPDATE,
    VARIABLE,
    Change,
    DesiredTarget,
    ManagedSecret,
    Manifest,
    SecretIntent,
    Target,
    TargetContents,
    TargetState,
    desired_targets,
    fingerprint,
    key_problem,
    limit_problems,
    manifest_after,
    manifest_with_intents,
    plan_target,
    target_state,
)
from toto_actions.terraform.outputs import TerraformOutput, as_text, parse_outputs

KEY = "fingerprint-key-of-the-plan-tests-0123"
TARGET = Target("acme/toto-ms-a", "dev")
OUTPUTS = {
    "ecs_subnet_1": TerraformOutput("subnet-1", False),
    "db_password": TerraformOutput("hunter2", True),
    "aws_region": TerraformOutput("eu-west-1", False),
    "nothing": TerraformOutput(None, False),
}


def test_outputs_turn_into_text() -> None:
    outputs = parse_outputs(
        '{"a": {"value": "x", "type": "string", "sensitive": false},'
        ' "b": {"value": ["s1", "s2"], "type": ["list", "string"], "sensitive": true},'
        ' "c": {"value": 3, "type": "number"}, "d": {"value": {"k": true}}}',
        "outputs.json",
    )
    assert outputs == {
        "a": TerraformOutput("x", False),
        "b": TerraformOutput('["s1","s2"]', True),
        "c": TerraformOutput("3", False),
        "d": TerraformOutput('{"k":true}', False),
    }
    assert as_text(None) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "outputs.json: not JSON"),
        ("[]", "outputs.json: expected the object `terraform output -json` writes"),
        ('{"a": 1}', "outputs.json: output 'a' has no value"),
    ],
)
def test_bad_outputs_files(content: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_outputs(content, "outputs.json")


def config(secrets: dict[str, str], variables: dict[str, str] | None = None) -> SyncConfig:
    return SyncConfig(
        "environment", (RepositoryMapping("acme/toto-ms-a", secrets, variables or {}),)
    )


def test_desired_values_come_from_the_outputs() -> None:
    (desired,) = desired_targets(
        config(
            {"ECS_SUBNET_1": "ecs_subnet_1", "DB_PASSWORD": "db_password"},
            {"AWS_REGION": "aws_region"},
        ),
        OUTPUTS,
        "dev",
    )
    assert desired == DesiredTarget(
        TARGET, {"ECS_SUBNET_1": "subnet-1", "DB_PASSWORD": "hunter2"}, {"AWS_REGION": "eu-west-1"}
    )


def test_every_mapping_problem_is_reported_at_once() -> None:
    with pytest.raises(UsageError) as raised:
        desired_targets(
            config(
                {"A": "missing", "B": "nothing"},
                {"PASSWORD": "db_password", "TOTO_SYNC_STATE": "aws_region"},
            ),
            OUTPUTS,
            "dev",
        )
    assert str(raised.value).splitlines() == [
        "acme/toto-ms-a (dev): secret A: output 'missing' is not in the Terraform outputs",
        "acme/toto-ms-a (dev): secret B: output 'nothing' is null",
        "acme/toto-ms-a (dev): variable PASSWORD: output 'db_password' is sensitive and may not "
        "become a plain variable; map it under `secrets`",
        "acme/toto-ms-a (dev): variable TOTO_SYNC_STATE: TOTO_SYNC_STATE is the sync's own "
        "manifest",
    ]


def test_values_over_48_kb_are_refused() -> None:
    outputs = {"big": TerraformOutput("x" * (48 * 1024 + 1), False)}
    with pytest.raises(UsageError, match="larger than GitHub's 48 KB"):
        desired_targets(config({"BIG": "big"}), outputs, "dev")


def test_more_than_100_secrets_are_refused() -> None:
    outputs = {f"o{i}": TerraformOutput("v", False) for i in range(101)}
    with pytest.raises(UsageError, match="101 secrets, more than GitHub's 100"):
        desired_targets(config({f"S{i}": f"o{i}" for i in range(101)}), outputs, "dev")


def managed(value: str, updated_at: str, name: str = "ECS_SUBNET_1") -> ManagedSecret:
    return ManagedSecret(fingerprint(KEY, TARGET, name, value), updated_at)


DESIRED = DesiredTarget(TARGET, {"ECS_SUBNET_1": "subnet-1"}, {"AWS_REGION": "eu-west-1"})


def state(
    secrets: dict[str, str],
    manifest: Manifest = EMPTY_MANIFEST,
    exists: bool = True,
    variables: dict[str, str] | None = None,
) -> TargetState:
    return TargetState(exists, secrets, variables or {}, manifest, manifest.encode())


def actions(plan_changes: tuple[Change, ...]) -> list[tuple[str, str, str]]:
    return [(c.kind, c.name, c.action) for c in plan_changes]


def test_a_new_environment_gets_everything_created() -> None:
    plan = plan_target(DESIRED, state({}, exists=False), KEY, prune=False)
    assert actions(plan.changes) == [
        (ENVIRONMENT, "dev", CREATE),
        (SECRET, "ECS_SUBNET_1", CREATE),
        (VARIABLE, "AWS_REGION", CREATE),
    ]


def test_a_secret_whose_fingerprint_and_timestamp_match_is_left_alone() -> None:
    manifest = Manifest({"ECS_SUBNET_1": managed("subnet-1", "t1")}, frozenset({"AWS_REGION"}))
    current = state({"ECS_SUBNET_1": "t1"}, manifest, variables={"AWS_REGION": "eu-west-1"})
    plan = plan_target(DESIRED, current, KEY, prune=False)
    assert actions(plan.changes) == [
        (SECRET, "ECS_SUBNET_1", UNCHANGED),
        (VARIABLE, "AWS_REGION", UNCHANGED),
    ]
    assert plan.pending() == []


@pytest.mark.parametrize(
    ("manifest_entry", "current_updated_at", "key"),
    [
        (managed("subnet-old", "t1"), "t1", KEY),  # the output changed
        (managed("subnet-1", "t1"), "t2", KEY),  # someone rewrote it out of band
        (None, "t1", KEY),  # not ours yet
        (managed("subnet-1", "t1"), "t1", None),  # no key: nothing can be proved unchanged
        (managed("subnet-1", "t1"), "t1", "another-key"),  # the key was rotated
    ],
)
def test_a_secret_that_may_differ_is_rewritten(
    manifest_entry: ManagedSecret | None, current_updated_at: str, key: str | None
) -> None:
    entries = {"ECS_SUBNET_1": manifest_entry} if manifest_entry else {}
    current = state({"ECS_SUBNET_1": current_updated_at}, Manifest(entries, frozenset()))
    plan = plan_target(
        DesiredTarget(TARGET, {"ECS_SUBNET_1": "subnet-1"}, {}), current, key, prune=False
    )
    assert actions(plan.changes) == [(SECRET, "ECS_SUBNET_1", UPDATE)]


def test_prune_deletes_only_what_the_manifest_says_is_ours() -> None:
    manifest = Manifest(
        {"OLD": managed("x", "t0", "OLD"), "GONE": managed("y", "t0", "GONE")},
        frozenset({"OLD_VAR"}),
    )
    current = state(
        {"ECS_SUBNET_1": "t1", "OLD": "t0", "THEIRS": "t0"},
        manifest,
        variables={"OLD_VAR": "v", "THEIR_VAR": "w"},
    )
    desired = DesiredTarget(TARGET, {"ECS_SUBNET_1": "subnet-1"}, {})
    assert actions(plan_target(desired, current, KEY, prune=False).changes) == [
        (SECRET, "ECS_SUBNET_1", UPDATE)
    ]
    assert actions(plan_target(desired, current, KEY, prune=True).changes) == [
        (SECRET, "ECS_SUBNET_1", UPDATE),
        (SECRET, "OLD", DELETE),
        (VARIABLE, "OLD_VAR", DELETE),
    ]


def test_the_manifest_after_a_sync_records_what_landed() -> None:
    old = Manifest(
        {"KEEP": managed("k", "t0", "KEEP"), "ECS_SUBNET_1": managed("old", "t0")}, frozenset()
    )
    desired = DesiredTarget(
        TARGET, {"ECS_SUBNET_1": "subnet-1", "KEEP": "k", "NEW": "n"}, {"AWS_REGION": "eu-west-1"}
    )
    plan = plan_target(desired, state({"ECS_SUBNET_1": "t0", "KEEP": "t0"}, old), KEY, False)
    failed = Change(TARGET, SECRET, "NEW", CREATE)
    landed = [c for c in plan.changes if c != failed]
    after = manifest_after(plan, landed, {"ECS_SUBNET_1": "t5", "KEEP": "t0"}, KEY)
    assert after == Manifest(
        {"KEEP": managed("k", "t0", "KEEP"), "ECS_SUBNET_1": managed("subnet-1", "t5")},
        frozenset({"AWS_REGION"}),
        # The failed write keeps its intent: the next run sees whether it landed after all.
        {"NEW": SecretIntent(fingerprint(KEY, TARGET, "NEW", "n"), None)},
    )
    assert Manifest.decode(after.encode()) == after


def test_intents_are_recorded_for_every_secret_write_before_it() -> None:
    old = Manifest({"A": managed("a-old", "t0", "A"), "B": managed("b", "t0", "B")}, frozenset())
    desired = DesiredTarget(TARGET, {"A": "a-new", "B": "b", "C": "c"}, {})
    plan = plan_target(desired, state({"A": "t0", "B": "t0"}, old), KEY, False)
    assert manifest_with_intents(plan, KEY) == Manifest(
        old.secrets,
        old.variables,
        {
            "A": SecretIntent(fingerprint(KEY, TARGET, "A", "a-new"), "t0"),
            "C": SecretIntent(fingerprint(KEY, TARGET, "C", "c"), None),
        },
    )
    after = manifest_after(plan, plan.changes, {"A": "t1", "B": "t0", "C": "t1"}, KEY)
    assert after.intents == {}  # every write landed


@pytest.mark.parametrize(
    ("updated_at", "action", "recorded"),
    [
        ("t1", UNCHANGED, "t1"),  # moved since the intent: the interrupted write landed
        ("t0", UPDATE, "t9"),  # did not move: it did not land (or landed within the same second)
    ],
)
def test_an_interrupted_runs_intent_tells_whether_its_write_landed(
    updated_at: str, action: str, recorded: str
) -> None:
    intents = {"ECS_SUBNET_1": SecretIntent(fingerprint(KEY, TARGET, "ECS_SUBNET_1", "s-2"), "t0")}
    manifest = Manifest({"ECS_SUBNET_1": managed("s-1", "t0")}, frozenset(), intents)
    desired = DesiredTarget(TARGET, {"ECS_SUBNET_1": "s-2"}, {})
    plan = plan_target(desired, state({"ECS_SUBNET_1": updated_at}, manifest), KEY, False)
    assert actions(plan.changes) == [(SECRET, "ECS_SUBNET_1", action)]
    after = manifest_after(plan, plan.changes, {"ECS_SUBNET_1": "t9"}, KEY)  # read after writes
    assert after == Manifest({"ECS_SUBNET_1": managed("s-2", recorded)}, frozenset())


def test_an_intent_for_another_value_is_no_proof() -> None:
    intents = {"ECS_SUBNET_1": SecretIntent(fingerprint(KEY, TARGET, "ECS_SUBNET_1", "s-2"), "t0")}
    manifest = Manifest({"ECS_SUBNET_1": managed("s-1", "t0")}, frozenset(), intents)
    desired = DesiredTarget(TARGET, {"ECS_SUBNET_1": "s-3"}, {})
    plan = plan_target(desired, state({"ECS_SUBNET_1": "t1"}, manifest), KEY, False)
    assert actions(plan.changes) == [(SECRET, "ECS_SUBNET_1", UPDATE)]


def test_without_a_key_the_manifest_holds_names_only_and_stays_the_same() -> None:
    plan = plan_target(DesiredTarget(TARGET, {"A": "1"}, {}), state({"A": "t1"}), None, False)
    first = manifest_after(plan, plan.changes, {"A": "t2"}, None)
    second = manifest_after(plan, plan.changes, {"A": "t3"}, None)
    assert first == second == Manifest({"A": ManagedSecret(None, None)}, frozenset())


@pytest.mark.parametrize("text", [None, "", "not json", "[1]", '{"secrets": 3}'])
def test_an_unreadable_manifest_manages_nothing(text: str | None) -> None:
    assert Manifest.decode(text) == EMPTY_MANIFEST


def test_the_state_takes_the_manifest_out_of_the_variables_and_decodes_it() -> None:
    manifest = Manifest({"DB": ManagedSecret("f", "2024-01-01T00:00:00Z")}, frozenset({"R"}))
    variables = {"R": "eu-west-1", MANIFEST_VARIABLE: manifest.encode()}

    state = target_state(TargetContents(True, {"DB": "2024-01-01T00:00:00Z"}, variables))

    assert state == TargetState(
        True, {"DB": "2024-01-01T00:00:00Z"}, {"R": "eu-west-1"}, manifest, manifest.encode()
    )
    missing = target_state(TargetContents(False, {}, {}))
    assert (missing.exists, missing.manifest, missing.manifest_text) == (
        False,
        EMPTY_MANIFEST,
        None,
    )


def test_the_fingerprint_is_keyed_and_bound_to_the_target_and_the_name() -> None:
    other_key = "another-fingerprint-key-0123456789"
    assert fingerprint(KEY, TARGET, "A", "v") != fingerprint(other_key, TARGET, "A", "v")
    assert fingerprint(KEY, TARGET, "A", "v") != fingerprint(KEY, TARGET, "B", "v")
    assert "v" not in fingerprint(KEY, TARGET, "A", "v")
    # Equal values in two targets do not show as equal fingerprints.
    others = [Target("acme/toto-ms-b", "dev"), Target("acme/toto-ms-a", "prod")]
    others.append(Target("acme/toto-ms-a", None))
    prints = {fingerprint(KEY, target, "A", "v") for target in [TARGET, *others]}
    assert len(prints) == 4
    # GitHub matches repository and environment names without regard to case.
    assert fingerprint(KEY, Target("Acme/Toto-MS-A", "Dev"), "A", "v") == fingerprint(
        KEY, TARGET, "A", "v"
    )
    # No two splits of target, name and value give the same input.
    assert fingerprint(KEY, Target("a/b", "c\nd"), "E", "f") != fingerprint(
        KEY, Target("a/b", "c"), "D\nE", "f"
    )


def test_a_manifest_of_version_1_leads_to_rewrites_not_errors() -> None:
    """Version 1 fingerprinted name and value only. Its fingerprints never count as a match: each
    secret is rewritten once and fingerprinted anew; the names it manages are kept for prune."""
    old_print = hmac.new(KEY.encode(), b"ECS_SUBNET_1\nsubnet-1", hashlib.sha256).hexdigest()
    text = json.dumps(
        {
            "version": 1,
            "secrets": {"ECS_SUBNET_1": {"hmac": old_print, "updated_at": "t1"}},
            "variables": ["AWS_REGION"],
        }
    )
    current = target_state(
        TargetContents(
            True, {"ECS_SUBNET_1": "t1"}, {"AWS_REGION": "eu-west-1", MANIFEST_VARIABLE: text}
        )
    )
    assert current.manifest == Manifest(
        {"ECS_SUBNET_1": ManagedSecret(None, "t1")}, frozenset({"AWS_REGION"})
    )
    plan = plan_target(DESIRED, current, KEY, prune=False)
    assert actions(plan.changes) == [
        (SECRET, "ECS_SUBNET_1", UPDATE),
        (VARIABLE, "AWS_REGION", UNCHANGED),
    ]
    after = manifest_after(plan, plan.changes, {"ECS_SUBNET_1": "t2"}, KEY)
    assert json.loads(after.encode())["version"] == 2
    assert after.secrets == {"ECS_SUBNET_1": managed("subnet-1", "t2")}


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("k" * 32, None),
        ("é" * 16, None),  # bytes count, not characters
        (
            "k" * 31,
            "--fingerprint-key is 31 bytes long; it must be at least 32 (for example "
            "`openssl rand -hex 32`)",
        ),
    ],
)
def test_a_fingerprint_key_needs_32_bytes(key: str, problem: str | None) -> None:
    assert key_problem(key) == problem


def test_limits_count_what_the_target_will_hold() -> None:
    current = state({f"THEIRS_{i}": "t" for i in range(100)})
    plan = plan_target(DesiredTarget(TARGET, {"ECS_SUBNET_1": "x"}, {}), current, KEY, False)
    assert limit_problems(plan, "environment") == [
        "acme/toto-ms-a (dev): would hold 101 secrets, more than GitHub's 100"
    ]
