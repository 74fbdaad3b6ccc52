"""Applying sync plans to GitHub: each target's changes written, its secret writes confirmed,
its manifest brought up to date.

Plans in (sync_plan's plain values), results out; every GitHub call goes through the adapter
(api.py). A failed change is recorded and the others still go ahead; the manifest vouches only
for what landed, so the next run writes again what did not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from toto_actions.github.api import GitHubClient, GitHubError
from toto_actions.github.sync_plan import (
    CREATE,
    DELETE,
    ENVIRONMENT,
    MANIFEST_VARIABLE,
    SECRET,
    UNCHANGED,
    UPDATE,
    Change,
    Target,
    TargetPlan,
    manifest_after,
)

if TYPE_CHECKING:
    from github.PublicKey import PublicKey


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

    Every secret write is confirmed by its new `updated_at` before the manifest vouches for it,
    so a write that did not land is written again by the next run.
    """
    target = plan.target
    in_effect = [c for c in plan.changes if c.action == UNCHANGED]
    failures: list[str] = []
    pending = plan.pending()
    try:
        if any(c.kind == ENVIRONMENT for c in pending):
            client.create_environment(target)
        writer = _SecretWriter(client, target)
        for change in pending:
            try:
                _apply_change(client, writer, plan, change)
                in_effect.append(change)
            except GitHubError as failure:
                failures.append(str(failure))
        timestamps = plan.state.secrets
        if any(c.kind == SECRET and c.action != UNCHANGED for c in in_effect):
            timestamps, unconfirmed = _confirm_secret_writes(client, plan, in_effect)
            in_effect = [c for c in in_effect if c not in unconfirmed]
            failures += [f"write secret {c.name} of {target}: not confirmed" for c in unconfirmed]
        manifest = manifest_after(plan, in_effect, timestamps, fingerprint_key).encode()
        if manifest != plan.state.manifest_text:
            client.set_variable(
                target, MANIFEST_VARIABLE, manifest, exists=plan.state.manifest_text is not None
            )
    except GitHubError as failure:
        failures.append(str(failure))
    return TargetResult(plan, tuple(in_effect), tuple(failures))


class _SecretWriter:
    """Writes a target's secrets with one public key, fetched at the first write; fetched again
    once if GitHub rotated it meanwhile (its key_id then answers 422)."""

    def __init__(self, client: GitHubClient, target: Target) -> None:
        self._client, self._target = client, target
        self._key: PublicKey | None = None

    def write(self, name: str, value: str) -> None:
        if self._key is None:
            self._key = self._client.public_key(self._target)
        try:
            self._client.put_secret(self._target, self._key, name, value)
        except GitHubError as failure:
            if failure.status != 422:
                raise
            self._key = self._client.public_key(self._target)
            self._client.put_secret(self._target, self._key, name, value)


def _apply_change(
    client: GitHubClient, writer: _SecretWriter, plan: TargetPlan, change: Change
) -> None:
    target = plan.target
    if change.kind == ENVIRONMENT:
        return  # created before any other change
    if change.kind == SECRET and change.action == DELETE:
        client.delete_secret(target, change.name)
    elif change.kind == SECRET:
        writer.write(change.name, plan.desired.secrets[change.name])
    elif change.action == DELETE:
        client.delete_variable(target, change.name)
    else:
        client.set_variable(
            target, change.name, plan.desired.variables[change.name], exists=change.action == UPDATE
        )


def _confirm_secret_writes(
    client: GitHubClient, plan: TargetPlan, in_effect: Sequence[Change]
) -> tuple[dict[str, str], list[Change]]:
    """Read the target's secrets again: their new `updated_at`, and the writes that did not show
    (a created secret that is missing, an updated one whose `updated_at` did not move)."""
    written = [c for c in in_effect if c.kind == SECRET and c.action in {CREATE, UPDATE}]
    try:
        timestamps = client.secret_timestamps(plan.target)
    except GitHubError:
        return {}, written  # nothing can be vouched for: the next run writes them again
    unconfirmed = [
        c
        for c in written
        if c.name not in timestamps
        or (c.action == UPDATE and timestamps[c.name] == plan.state.secrets.get(c.name))
    ]
    return timestamps, unconfirmed
