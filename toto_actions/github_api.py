"""The GitHub REST API, through PyGithub: every call the sync makes, retried and paced.

Reads use PyGithub's objects. Writes go through its requester with a public key fetched once per
target (PyGithub's own `create_secret` fetches it again for every secret), and never send what
the sync did not mean to change: environments are created with an empty body, because PyGithub's
`create_environment` sends empty protection rules that would wipe a prod environment's reviewers.
Every write waits its turn at one pacer shared by all threads.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException

from toto_actions.errors import OperationError
from toto_actions.http_retry import RetryPolicy, WritePacer, is_transient, retry_delay
from toto_actions.sync_plan import EMPTY_MANIFEST, MANIFEST_VARIABLE, Manifest, Target, TargetState

if TYPE_CHECKING:
    from github.PublicKey import PublicKey
    from github.Repository import Repository

T = TypeVar("T")
DEFAULT_API_URL = "https://api.github.com"


class GitHubSettings(NamedTuple):
    token: str
    api_url: str
    max_concurrency: int
    write_interval: float
    retry: RetryPolicy


class GitHubError(OperationError):
    """A request that failed for good (after retries, or at once when retrying cannot help)."""

    def __init__(self, what: str, status: int | None, message: str) -> None:
        super().__init__(f"{what}: {status or 'no answer'} {message}".rstrip())
        self.status = status


class GitHubClient:
    """One authenticated client; safe to share between the sync's worker threads."""

    def __init__(self, settings: GitHubSettings) -> None:
        self._github = Github(
            base_url=settings.api_url.rstrip("/"),
            auth=Auth.Token(settings.token),
            retry=None,  # retries and pacing are ours, so that they follow GitHub's guidance
            seconds_between_requests=None,
            seconds_between_writes=None,
            pool_size=settings.max_concurrency,
            per_page=100,
            timeout=30,
        )
        self._pacer = WritePacer(settings.write_interval)
        self._retry = settings.retry
        self._jitter = random.Random()  # noqa: S311 - spreads retries; no secret

    def visibility_problem(self, repository: str) -> str | None:
        """None when the token can see the repository, else why not."""
        try:
            self._read(f"GET {repository}", lambda: self._github.get_repo(repository).id)
        except GitHubError as problem:
            if problem.status in {401, 403, 404}:
                return f"{repository}: not found, or the token cannot see it ({problem})"
            raise
        return None

    def read_target(self, target: Target) -> TargetState:
        """The target's secrets (names, updated_at), variables and manifest."""
        if target.environment is not None and not self._environment_exists(target):
            return TargetState(False, {}, {}, EMPTY_MANIFEST, None)
        variables = {
            variable.name.upper(): variable.value
            for variable in self._read(
                f"list variables of {target}", lambda: list(self._scope(target).get_variables())
            )
        }
        manifest_text = variables.pop(MANIFEST_VARIABLE, None)
        return TargetState(
            True,
            self.secret_timestamps(target),
            variables,
            Manifest.decode(manifest_text),
            manifest_text,
        )

    def secret_timestamps(self, target: Target) -> dict[str, str]:
        """NAME -> updated_at of every secret of the target."""
        secrets = self._read(
            f"list secrets of {target}", lambda: list(self._scope(target).get_secrets())
        )
        return {secret.name.upper(): _timestamp(secret.updated_at) for secret in secrets}

    def create_environment(self, target: Target) -> None:
        self._write(f"create environment {target}", "PUT", self._environment_url(target))

    def public_key(self, target: Target) -> PublicKey:
        key: PublicKey = self._read(
            f"get the public key of {target}", lambda: self._scope(target).get_public_key()
        )
        return key

    def put_secret(self, target: Target, key: PublicKey, name: str, value: str) -> None:
        """Encrypt value locally (PyNaCl sealed box) and write it."""
        body = {"encrypted_value": key.encrypt(value), "key_id": key.key_id}
        self._write(
            f"write secret {name} of {target}",
            "PUT",
            f"{self._base_url(target)}/secrets/{quote(name, safe='')}",
            body,
        )

    def delete_secret(self, target: Target, name: str) -> None:
        self._write(
            f"delete secret {name} of {target}",
            "DELETE",
            f"{self._base_url(target)}/secrets/{quote(name, safe='')}",
            missing_ok=True,
        )

    def set_variable(self, target: Target, name: str, value: str, exists: bool) -> None:
        """Create or update a variable; a create that meets one (or an update that meets none)
        switches, so a retried or raced write still lands."""
        url = f"{self._base_url(target)}/variables"
        named_url = f"{url}/{quote(name, safe='')}"
        what = f"write variable {name} of {target}"
        try:
            if exists:
                self._write(what, "PATCH", named_url, {"name": name, "value": value})
            else:
                self._write(what, "POST", url, {"name": name, "value": value})
        except GitHubError as problem:
            if problem.status not in {404, 409}:
                raise
            self.set_variable(target, name, value, exists=problem.status == 409)

    def delete_variable(self, target: Target, name: str) -> None:
        self._write(
            f"delete variable {name} of {target}",
            "DELETE",
            f"{self._base_url(target)}/variables/{quote(name, safe='')}",
            missing_ok=True,
        )

    def dispatch(self, repository: str, event_type: str, payload: dict[str, Any]) -> None:
        self._write(
            f"dispatch {event_type} to {repository}",
            "POST",
            f"{self._repository(repository).url}/dispatches",
            {"event_type": event_type, "client_payload": payload},
        )

    def _environment_exists(self, target: Target) -> bool:
        try:
            self._read(
                f"get environment {target}",
                lambda: self._github.requester.requestJsonAndCheck(
                    "GET", self._environment_url(target)
                ),
            )
        except GitHubError as problem:
            if problem.status == 404:
                return False
            raise
        return True

    def _repository(self, repository: str) -> Repository:
        return self._github.get_repo(repository, lazy=True)

    def _scope(self, target: Target) -> Any:
        """The PyGithub object whose secrets are the target's: a Repository or an Environment."""
        repository = self._repository(target.repository)
        if target.environment is None:
            return repository
        return repository.get_environment(target.environment)

    def _environment_url(self, target: Target) -> str:
        return (
            f"{self._repository(target.repository).url}/environments/"
            f"{quote(target.environment or '', safe='')}"
        )

    def _base_url(self, target: Target) -> str:
        if target.environment is None:
            return f"{self._repository(target.repository).url}/actions"
        return self._environment_url(target)

    def _read(self, what: str, operation: Callable[[], T]) -> T:
        return self._with_retries(what, operation, write=False)

    def _write(
        self,
        what: str,
        method: str,
        url: str,
        body: dict[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> None:
        def request() -> None:
            self._github.requester.requestJsonAndCheck(method, url, input=body)

        try:
            self._with_retries(what, request, write=True)
        except GitHubError as problem:
            if not (missing_ok and problem.status == 404):
                raise

    def _with_retries(self, what: str, operation: Callable[[], T], write: bool) -> T:
        for attempt in range(1, self._retry.attempts + 1):
            if write:
                self._pacer.wait_turn()
            try:
                return operation()
            except GithubException as failure:
                message = _message(failure)
                headers = dict(failure.headers or {})
                if attempt == self._retry.attempts or not is_transient(
                    failure.status, headers, message
                ):
                    raise GitHubError(what, failure.status, message) from failure
            except requests.RequestException as failure:
                if attempt == self._retry.attempts:
                    raise GitHubError(what, None, type(failure).__name__) from failure
                headers = {}
            time.sleep(retry_delay(attempt, headers, self._retry, time.time(), self._jitter))
        raise AssertionError("unreachable: the last attempt returns or raises")


def _message(failure: GithubException) -> str:
    data = failure.data
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return str(data or "")


def _timestamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""
