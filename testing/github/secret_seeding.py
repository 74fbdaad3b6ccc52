"""Seeding and reading the stand-in GitHub's repository and environment secrets and variables
(a part of GitHubServer, kept apart to keep server.py readable)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from testing.github.state import EntryKind, State


class SecretSeeding:
    """GitHubServer's secret and variable methods; they hold its lock, as every method of it
    does. A secret reads back as the plaintext that arrived (decrypted with the target's
    private key)."""

    _lock: AbstractContextManager[Any]
    _state: State

    def _values(self, kind: EntryKind, repository: str, environment: str | None) -> dict[str, str]:
        with self._lock:
            entries = self._state.target(repository, environment).entries(kind)
            return {name: entry.value for name, entry in sorted(entries.items())}

    def _put(
        self, kind: EntryKind, repository: str, name: str, value: str, environment: str | None
    ) -> None:
        with self._lock:
            target = self._state.target(repository, environment)
            self._state.put_entry(target.entries(kind), name.upper(), value)

    def secrets(self, repository: str, environment: str | None = None) -> dict[str, str]:
        """NAME -> the plaintext that arrived (decrypted with the target's private key)."""
        return self._values("secrets", repository, environment)

    def secret_updated_at(self, repository: str, name: str, environment: str | None = None) -> str:
        with self._lock:
            return self._state.target(repository, environment).secrets[name.upper()].updated_at

    def set_secret(
        self, repository: str, name: str, value: str, environment: str | None = None
    ) -> None:
        """Seed a secret, or change one behind the sync's back (a new updated_at)."""
        self._put("secrets", repository, name, value, environment)

    def delete_secret(self, repository: str, name: str, environment: str | None = None) -> None:
        with self._lock:
            del self._state.target(repository, environment).secrets[name.upper()]

    def variables(self, repository: str, environment: str | None = None) -> dict[str, str]:
        return self._values("variables", repository, environment)

    def set_variable(
        self, repository: str, name: str, value: str, environment: str | None = None
    ) -> None:
        self._put("variables", repository, name, value, environment)

    def delete_variable(self, repository: str, name: str, environment: str | None = None) -> None:
        with self._lock:
            del self._state.target(repository, environment).variables[name.upper()]

    def rotate_public_key(self, repository: str, environment: str | None = None) -> None:
        """A new key pair and key_id, as GitHub rotates them: the old key_id then answers 422."""
        with self._lock:
            target = self._state.target(repository, environment)
            replacement = self._state.new_target()
            target.key_id, target.private_key = replacement.key_id, replacement.private_key
