"""Applying sync plans to GitHub: each target's intents recorded, its changes written, its
manifest brought up to date.

Plans in (sync_plan's plain values), results out; every GitHub call goes through the adapter
(api.py). A failed change is recorded and the others still go ahead; the manifest vouches only
for what GitHub acknowledged, so the next run writes again what did not land.
"""

from __future__ import annotations

from typing import NamedTuple

from toto_actions.github.api import GitHubClient, GitHubError
from toto_actions.github.sync_plan import (
    CREATE,
    DELETE,
    ENVIRONMENT,
    SECRET,
    SELECT,
    UNCHANGED,
    UPDATE,
    Change,
    Target,
    TargetPlan,
    manifest_after,
    manifest_with_intents,
    moves_timestamps,
)


class TargetResult(NamedTuple):
    plan: TargetPlan
    in_effect: tuple[Change, ...]  # the changes that took effect, and the unchanged ones
    failures: tuple[str, ...]

    def changed(self) -> list[Change]:
        """The secrets and variables this run wrote or deleted."""
        return [c for c in self.in_effect if c.action != UNCHANGED and c.kind != ENVIRONMENT]


def apply_plan(client: GitHubClient, plan: TargetPlan, fingerprint_key: str | None) -> TargetResult:
    """Apply one target's plan; whatever goes wrong fails this target only, as its result says."""
    try:
        return _apply(client, plan, fingerprint_key)
    except Exception as failure:  # an unexpected answer fails this target, not the run
        unchanged = tuple(c for c in plan.changes if c.action == UNCHANGED)
        return TargetResult(plan, unchanged, (f"{type(failure).__name__}: {failure}",))


def _apply(client: GitHubClient, plan: TargetPlan, fingerprint_key: str | None) -> TargetResult:
    """Apply one target's changes; a failed change is recorded and the others still go ahead.

    With a fingerprint key, the intents are recorded in the manifest before the first secret
    write, so a run killed halfway leaves enough for the next run to skip what landed. A write
    GitHub acknowledged (2xx) took effect; the secrets are read again afterwards for their new
    `updated_at`, which may equal the old one (GitHub counts whole seconds). An organization
    records no intents: the state write that saves at most a few rewrites after a crash would
    double the writes of every change.
    """
    target = plan.target
    in_effect = [c for c in plan.changes if c.action == UNCHANGED]
    failures: list[str] = []
    pending = plan.pending()
    stored = plan.state.manifest_text
    try:
        if any(c.kind == ENVIRONMENT for c in pending):
            client.create_environment(target)
        writes_secrets = any(c.kind == SECRET and c.action in {CREATE, UPDATE} for c in pending)
        if fingerprint_key is not None and writes_secrets and not target.organization:
            stored = _write_manifest(
                client, target, manifest_with_intents(plan, fingerprint_key).encode(), stored
            )
        for change in pending:
            try:
                _apply_change(client, plan, change)
                in_effect.append(change)
            except GitHubError as failure:
                failures.append(str(failure))
        timestamps = plan.state.secrets
        if moves_timestamps(in_effect):
            timestamps = _read_timestamps(client, target, failures)
        manifest = manifest_after(plan, in_effect, timestamps, fingerprint_key).encode()
        _write_manifest(client, target, manifest, stored)
    except GitHubError as failure:
        failures.append(str(failure))
    return TargetResult(plan, tuple(in_effect), tuple(failures))


def _write_manifest(client: GitHubClient, target: Target, manifest: str, stored: str | None) -> str:
    """Store the manifest unless it is stored already; returns what is stored now. An
    organization's selects no repository: no workflow needs to read it."""
    if manifest != stored:
        selected: list[int] | None = [] if target.organization else None
        client.set_variable(
            target, target.manifest_variable, manifest, exists=stored is not None, selected=selected
        )
    return manifest


def _read_timestamps(client: GitHubClient, target: Target, failures: list[str]) -> dict[str, str]:
    """The secrets' `updated_at` after the writes. When they cannot be read, the written
    secrets are recorded without one, so the next run writes them again."""
    try:
        return client.secret_timestamps(target)
    except GitHubError as failure:
        failures.append(f"{failure} (the next run writes these secrets again)")
        return {}


def _write_secret(
    client: GitHubClient, target: Target, name: str, value: str, selected: list[int] | None
) -> None:
    """Write a secret with the target's public key; once more with a fresh key if GitHub
    rotated it meanwhile (the old key_id then answers 422)."""
    try:
        client.put_secret(target, client.public_key(target), name, value, selected)
    except GitHubError as failure:
        if failure.status != 422:
            raise
        client.put_secret(target, client.public_key(target, fresh=True), name, value, selected)


def _apply_change(client: GitHubClient, plan: TargetPlan, change: Change) -> None:
    target, name = plan.target, change.name
    if change.kind == ENVIRONMENT:
        return  # created before any other change
    selected = plan.desired.selected_ids(change.kind, name)
    if change.action == SELECT:
        client.set_selection(target, change.kind, name, selected or [])
    elif change.kind == SECRET and change.action == DELETE:
        client.delete_secret(target, name)
    elif change.kind == SECRET:
        _write_secret(client, target, name, plan.desired.secrets[name], selected)
    elif change.action == DELETE:
        client.delete_variable(target, name)
    else:
        value = plan.desired.variables[name]
        client.set_variable(target, name, value, exists=change.action == UPDATE, selected=selected)
