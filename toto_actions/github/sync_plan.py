"""Planning a secret sync: what each target must hold, what it holds, and the changes between.

Plain values in and out; no GitHub client here. A target is a repository, one GitHub
environment of it, or (scope organization) an organization's secrets of one environment. The
manifest (an Actions variable of the target) records the secrets and variables this tool
manages; for a secret, an HMAC of its target, name and value, and its `updated_at` after our
write. A secret whose fingerprint and `updated_at` both still match needs
no write. Before writing secrets, the sync records what it is about to write (an intent: the new
fingerprint and the `updated_at` before), so a run killed halfway can tell, when run again, which
of its writes landed: a secret whose `updated_at` moved since holds the value of the intent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Collection, Mapping
from typing import Literal, NamedTuple

from toto_actions.errors import UsageError
from toto_actions.github.sync_config import SyncConfig
from toto_actions.terraform.outputs import TerraformOutput

MANIFEST_VARIABLE = "TOTO_SYNC_STATE"
# Version 1 fingerprinted name and value only: its fingerprints are ignored (rewritten once).
MANIFEST_VERSION = 2
MIN_KEY_BYTES = 32  # HMAC-SHA256's output size, the shortest key RFC 2104 recommends
MAX_VALUE_BYTES = 48 * 1024  # GitHub's limit for one secret or variable
MAX_SECRETS = 100  # per repository, and per environment
MAX_VARIABLES = {"repository": 500, "environment": 100}

Kind = Literal["secret", "variable", "environment"]
Action = Literal["create", "update", "select", "unchanged", "delete"]
SECRET: Kind = "secret"  # noqa: S105 - a kind of change, not a password
VARIABLE: Kind = "variable"
ENVIRONMENT: Kind = "environment"
CREATE: Action = "create"
UPDATE: Action = "update"
SELECT: Action = "select"  # an organization secret or variable: only its repositories change
UNCHANGED: Action = "unchanged"
DELETE: Action = "delete"


class Target(NamedTuple):
    repository: str  # owner/name; with organization, the organization's login
    environment: str | None  # None: the repository's own secrets and variables
    organization: bool = False  # the organization's secrets and variables of the environment
    state_name: str | None = None  # an organization's: tells apart two configs' states

    def __str__(self) -> str:
        if self.organization:
            return f"organization {self.repository} ({self.environment})"
        return (
            self.repository
            if self.environment is None
            else (f"{self.repository} ({self.environment})")
        )

    @property
    def manifest_variable(self) -> str:
        """The variable holding the manifest: an organization has one per environment (and
        state-name, when several configs sync into it)."""
        if not self.organization:
            return MANIFEST_VARIABLE
        environment = (self.environment or "").upper()
        if self.state_name:
            return f"{MANIFEST_VARIABLE}_{self.state_name.upper()}__{environment}"
        return f"{MANIFEST_VARIABLE}_{environment}"


# An organization secret or variable: (kind, NAME).
Entry = tuple[Kind, str]


class DesiredTarget(NamedTuple):
    """What one target must hold: NAME -> value for its secrets and for its variables; for an
    organization, the repositories each one selects (lower-case full names) and their ids."""

    target: Target
    secrets: Mapping[str, str]
    variables: Mapping[str, str]
    selections: Mapping[Entry, frozenset[str]] = {}
    repository_ids: Mapping[str, int] = {}  # lower-case full name -> id

    def selected_ids(self, kind: Kind, name: str) -> list[int] | None:
        """The ids a write of this entry selects; None outside an organization."""
        if not self.target.organization:
            return None
        return sorted(self.selected_id_set((kind, name)))

    def selected_id_set(self, entry: Entry) -> frozenset[int]:
        """The ids of the repositories the entry selects: GitHub's selections hold ids, which
        a repository keeps when it is renamed."""
        return frozenset(self.repository_ids[r] for r in self.selections.get(entry, ()))


class ManagedSecret(NamedTuple):
    fingerprint: str | None  # None when synced without a fingerprint key
    updated_at: str | None


class SecretIntent(NamedTuple):
    """A secret write about to be made: the value's fingerprint, the `updated_at` before it."""

    fingerprint: str
    before: str | None  # None: the secret did not exist


class Manifest(NamedTuple):
    """The secrets and variables this tool manages in a target, and its unfinished writes."""

    secrets: Mapping[str, ManagedSecret]
    variables: frozenset[str]
    intents: Mapping[str, SecretIntent] = {}

    def encode(self) -> str:
        document: dict[str, object] = {
            "version": MANIFEST_VERSION,
            "secrets": {
                name: {"hmac": s.fingerprint, "updated_at": s.updated_at}
                for name, s in sorted(self.secrets.items())
            },
            "variables": sorted(self.variables),
        }
        if self.intents:
            document["intents"] = {
                name: {"hmac": i.fingerprint, "before": i.before}
                for name, i in sorted(self.intents.items())
            }
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | None) -> Manifest:
        """The manifest in text; an absent or unreadable one manages nothing: all is rewritten.
        An older version's fingerprints are dropped (its secrets are rewritten, then fingerprinted
        anew); the names it manages are kept, so `prune` still knows them."""
        try:
            document = json.loads(text) if text else {}
            current = document.get("version") == MANIFEST_VERSION
            secrets = {
                str(name): ManagedSecret(
                    entry.get("hmac") if current else None, entry.get("updated_at")
                )
                for name, entry in document.get("secrets", {}).items()
            }
            intents = {
                str(name): SecretIntent(str(entry["hmac"]), entry.get("before"))
                for name, entry in (document.get("intents", {}) if current else {}).items()
            }
            return cls(secrets, frozenset(map(str, document.get("variables", []))), intents)
        except (ValueError, AttributeError, TypeError, KeyError):
            return EMPTY_MANIFEST


EMPTY_MANIFEST = Manifest({}, frozenset())


class TargetContents(NamedTuple):
    """What a target holds, as GitHub answers it: nothing decoded."""

    exists: bool  # False: the GitHub environment is missing
    secrets: Mapping[str, str]  # NAME -> updated_at (values cannot be read)
    variables: Mapping[str, str]  # NAME -> value, the manifest included
    # An organization's: each entry's visibility (all, private, selected), and the ids of the
    # repositories of those whose visibility is selected.
    visibilities: Mapping[Entry, str] = {}
    selections: Mapping[Entry, frozenset[int]] = {}


class TargetState(NamedTuple):
    """What a target holds now, as read from GitHub."""

    exists: bool  # False: the GitHub environment is missing
    secrets: Mapping[str, str]  # NAME -> updated_at (values cannot be read)
    variables: Mapping[str, str]  # NAME -> value, the manifest excluded
    manifest: Manifest
    manifest_text: str | None  # the manifest variable as stored, None when absent
    visibilities: Mapping[Entry, str] = {}  # as in TargetContents
    selections: Mapping[Entry, frozenset[int]] = {}


def target_state(
    contents: TargetContents, manifest_variable: str = MANIFEST_VARIABLE
) -> TargetState:
    """The target's state, its manifest taken out of the variables and decoded."""
    variables = dict(contents.variables)
    manifest_text = variables.pop(manifest_variable, None)
    return TargetState(
        contents.exists,
        contents.secrets,
        variables,
        Manifest.decode(manifest_text),
        manifest_text,
        contents.visibilities,
        contents.selections,
    )


class Change(NamedTuple):
    target: Target
    kind: Kind
    name: str
    action: Action


class TargetPlan(NamedTuple):
    desired: DesiredTarget
    state: TargetState
    changes: tuple[Change, ...]

    @property
    def target(self) -> Target:
        return self.desired.target

    def pending(self) -> list[Change]:
        return [change for change in self.changes if change.action != UNCHANGED]


def desired_targets(
    config: SyncConfig, outputs: Mapping[str, TerraformOutput], environment: str
) -> tuple[DesiredTarget, ...]:
    """Resolve every repository's mappings against the outputs, or raise with every problem."""
    problems: list[str] = []
    targets = []
    for repository in config.repositories:
        target = Target(
            repository.full_name, environment if config.scope == "environment" else None
        )
        secrets = resolve(problems, target, SECRET, repository.secrets, outputs)
        variables = resolve(problems, target, VARIABLE, repository.variables, outputs)
        if len(secrets) > MAX_SECRETS:
            problems.append(
                f"{target}: {len(secrets)} secrets, more than GitHub's "
                f"{MAX_SECRETS} per repository or environment"
            )
        targets.append(DesiredTarget(target, secrets, variables))
    if problems:
        raise UsageError("\n".join(dict.fromkeys(problems)))
    return tuple(targets)


def resolve(
    problems: list[str],
    target: Target,
    kind: Kind,
    mapping: Mapping[str, str],
    outputs: Mapping[str, TerraformOutput],
) -> dict[str, str]:
    values = {}
    for name, output_name in mapping.items():
        where = f"{target}: {kind} {name}"
        output = outputs.get(output_name)
        if output is None:
            problems.append(f"{where}: output {output_name!r} is not in the Terraform outputs")
        elif output.text is None:
            problems.append(f"{where}: output {output_name!r} is null")
        elif kind == VARIABLE and output.sensitive:
            problems.append(
                f"{where}: output {output_name!r} is sensitive and may not become a "
                "plain variable; map it under `secrets`"
            )
        elif kind == VARIABLE and name == MANIFEST_VARIABLE:
            problems.append(f"{where}: {MANIFEST_VARIABLE} is the sync's own manifest")
        elif len(output.text.encode("utf-8")) > MAX_VALUE_BYTES:
            problems.append(f"{where}: output {output_name!r} is larger than GitHub's 48 KB")
        else:
            values[name] = output.text
    return values


def key_problem(key: str) -> str | None:
    """Why a fingerprint key cannot be used, or None."""
    size = len(key.encode("utf-8"))
    if size < MIN_KEY_BYTES:
        return (
            f"--fingerprint-key is {size} bytes long; it must be at least {MIN_KEY_BYTES} "
            "(for example `openssl rand -hex 32`)"
        )
    return None


def fingerprint(key: str, target: Target, name: str, value: str) -> str:
    """HMAC-SHA256 of the target, name and value, keyed: the manifest reveals nothing about
    low-entropy IDs, and equal values in two targets do not show as equal fingerprints.
    Repository and environment are lower-cased, as GitHub matches them."""
    message = json.dumps(
        [
            "toto-sync",
            MANIFEST_VERSION,
            target.repository.lower(),
            None if target.environment is None else target.environment.lower(),
            name,
            value,
        ],
        separators=(",", ":"),
    )
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def plan_target(
    desired: DesiredTarget, state: TargetState, fingerprint_key: str | None, prune: bool
) -> TargetPlan:
    """The changes that bring a target from state to desired; unmanaged names are never touched."""
    target = desired.target
    changes = []
    if not state.exists:
        changes.append(Change(target, ENVIRONMENT, target.environment or "", CREATE))
    for name, value in desired.secrets.items():
        action = _secret_action(target, name, value, state, fingerprint_key)
        changes.append(Change(target, SECRET, name, action))
    for name, value in desired.variables.items():
        current = state.variables.get(name)
        action = CREATE if current is None else UNCHANGED if current == value else UPDATE
        changes.append(Change(target, VARIABLE, name, action))
    if prune:
        changes += [
            Change(target, SECRET, name, DELETE)
            for name in sorted(state.manifest.secrets)
            if name not in desired.secrets and name in state.secrets
        ]
        changes += [
            Change(target, VARIABLE, name, DELETE)
            for name in sorted(state.manifest.variables)
            if name not in desired.variables and name in state.variables
        ]
    return TargetPlan(desired, state, tuple(changes))


def _secret_action(
    target: Target, name: str, value: str, state: TargetState, key: str | None
) -> Action:
    """Create a missing secret; leave one that is known to hold the value (its manifest entry
    matches, or an interrupted run's write of that value landed: `updated_at` moved since the
    intent); rewrite any other."""
    if name not in state.secrets:
        return CREATE
    if key is None:
        return UPDATE
    current = fingerprint(key, target, name, value)
    updated_at = state.secrets[name]
    managed = state.manifest.secrets.get(name)
    if managed is not None and (managed.fingerprint, managed.updated_at) == (current, updated_at):
        return UNCHANGED
    intent = state.manifest.intents.get(name)
    if intent is not None and intent.fingerprint == current and intent.before != updated_at:
        return UNCHANGED
    return UPDATE


def limit_problems(plan: TargetPlan, scope: str) -> list[str]:
    """GitHub's count limits, as the target will be after the plan is applied."""
    deleted = {(c.kind, c.name) for c in plan.changes if c.action == DELETE}
    secrets = {*plan.state.secrets, *plan.desired.secrets} - {n for k, n in deleted if k == SECRET}
    variables = {*plan.state.variables, *plan.desired.variables, MANIFEST_VARIABLE} - {
        n for k, n in deleted if k == VARIABLE
    }
    problems = []
    if len(secrets) > MAX_SECRETS:
        problems.append(
            f"{plan.target}: would hold {len(secrets)} secrets, more than GitHub's {MAX_SECRETS}"
        )
    if len(variables) > MAX_VARIABLES[scope]:
        problems.append(
            f"{plan.target}: would hold {len(variables)} variables, more than "
            f"GitHub's {MAX_VARIABLES[scope]}"
        )
    return problems


def _secret_writes(plan: TargetPlan) -> list[Change]:
    return [c for c in plan.changes if c.kind == SECRET and c.action in {CREATE, UPDATE}]


def moves_timestamps(changes: Collection[Change]) -> bool:
    """Whether the changes may move some secret's `updated_at`: a write of its value, or of its
    selection (GitHub does not say whether that one does; the secrets are read again)."""
    return any(c.kind == SECRET and c.action in {CREATE, UPDATE, SELECT} for c in changes)


def manifest_with_intents(plan: TargetPlan, fingerprint_key: str) -> Manifest:
    """The stored manifest plus an intent for every secret the plan writes: recorded before the
    writes, it lets a rerun after a crash tell which of them landed."""
    stored = plan.state.manifest
    intents = {
        c.name: SecretIntent(
            fingerprint(fingerprint_key, plan.target, c.name, plan.desired.secrets[c.name]),
            plan.state.secrets.get(c.name),
        )
        for c in _secret_writes(plan)
    }
    return Manifest(stored.secrets, stored.variables, intents)


def manifest_after(
    plan: TargetPlan,
    landed: Collection[Change],
    updated_at: Mapping[str, str],
    fingerprint_key: str | None,
) -> Manifest:
    """The manifest once `landed` (the changes that succeeded, and the unchanged ones) applied.

    A secret write that failed keeps its old entry, so the next run rewrites what did not land,
    and its intent, so the next run sees it if it landed after all.
    """
    secrets = dict(plan.state.manifest.secrets)
    variables = set(plan.state.manifest.variables)
    for change in landed:
        if change.kind == SECRET and change.action == DELETE:
            secrets.pop(change.name, None)
        elif change.kind == SECRET:
            secrets[change.name] = _entry(plan, change, updated_at, fingerprint_key)
        elif change.kind == VARIABLE and change.action == DELETE:
            variables.discard(change.name)
        elif change.kind == VARIABLE:
            variables.add(change.name)
    intents = {}
    if fingerprint_key is not None:
        unfinished = {c.name for c in _secret_writes(plan)} - {c.name for c in landed}
        written = manifest_with_intents(plan, fingerprint_key).intents
        intents = {name: written[name] for name in sorted(unfinished)}
    return Manifest(secrets, frozenset(variables), intents)


def _entry(
    plan: TargetPlan, change: Change, updated_at: Mapping[str, str], key: str | None
) -> ManagedSecret:
    """The manifest entry of a secret that holds its desired value: its fingerprint, and its
    `updated_at` (as read after the writes; for one left unchanged, as read before)."""
    if key is None:
        return ManagedSecret(None, None)
    value = plan.desired.secrets[change.name]
    # An unchanged secret keeps the time it was read with: a later one is someone else's write.
    # One whose selection changed takes the time read after: GitHub may have moved it for that.
    stamps = plan.state.secrets if change.action == UNCHANGED else updated_at
    return ManagedSecret(fingerprint(key, plan.target, change.name, value), stamps.get(change.name))
