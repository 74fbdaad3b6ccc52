"""The GitHub REST API, through PyGithub: every call the sync makes, retried and paced.

Reads use PyGithub's objects. Writes go through its requester with a public key fetched once per
target (PyGithub's own `create_secret` fetches it again for every secret), and never send what
the sync did not mean to change: environments are created with an empty body, because PyGithub's
`create_environment` sends empty protection rules that would wipe a prod environment's reviewers.
Every write holds the one turn of a pacer shared by all threads, and is repeated after a failure
only when repeating it cannot do it twice (http_retry.may_repeat): the repository_dispatch POST
is sent at most once unless it never left. Each thread has its own PyGithub
client: one client shares one HTTP connection object between threads, and two threads' requests
can then cross (one is never sent, and receives the other's answer).
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException
from urllib3.exceptions import NewConnectionError

from toto_actions import actions_runtime
from toto_actions.github.sync_plan import Target, TargetContents
from toto_actions.http_retry import (
    RequestFailed,
    RequestPacer,
    RetryPolicy,
    is_transient,
    may_repeat,
    retry_delay,
    succeeded,
)

if TYPE_CHECKING:
    from github.PublicKey import PublicKey

T = TypeVar("T")
# Answers that say the token may not do this: retrying cannot help, and the sync must not start.
PERMISSION_STATUSES = frozenset({401, 403, 404})
# Sent with a 403 to a GitHub App or fine-grained token: the permissions the endpoint accepts.
ACCEPTED_PERMISSIONS = "x-accepted-github-permissions"
# Seconds of silence after which a request has no answer coming: GitHub ends a REST request that
# takes more than 10 seconds ("Troubleshooting the REST API", Timeouts); two more for the way.
REQUEST_TIMEOUT = 12


class GitHubSettings(NamedTuple):
    token: str
    api_url: str
    max_concurrency: int
    write_interval: float
    retry: RetryPolicy


class GitHubError(RequestFailed):
    """A GitHub API request that failed for good."""


class GitHubClient:
    """The sync's GitHub calls; safe to share between its worker threads."""

    def __init__(self, settings: GitHubSettings) -> None:
        self._settings = settings
        self._per_thread = threading.local()
        self._pacer = RequestPacer(settings.write_interval)
        self._jitter = random.Random()  # noqa: S311 - spreads retries; no secret
        self._public_keys: dict[Target, PublicKey] = {}
        self._public_keys_lock = threading.Lock()
        self._log_lock = threading.Lock()  # one thread's line at a time: print is not atomic

    def visibility_problem(self, repository: str) -> str | None:
        """None when the token can see the repository, else why not."""
        document = self.repository_document(repository)
        return document if isinstance(document, str) else None

    def repository_document(self, repository: str) -> dict[str, Any] | str:
        """The repository as GitHub answers it, or a line saying why the token cannot see it."""
        try:
            _, document = self._read(
                f"GET {repository}",
                lambda: self._requester().requestJsonAndCheck("GET", f"/repos/{repository}"),
            )
        except GitHubError as problem:
            if problem.status in PERMISSION_STATUSES:
                return f"{repository}: not found, or the token cannot see it ({problem})"
            raise
        return dict(document)

    def read_target(self, target: Target) -> TargetContents:
        """The target's secrets (names, updated_at) and variables, the manifest among them."""
        if target.environment is not None and not self._environment_exists(target):
            return TargetContents(False, {}, {})
        variables = {
            variable.name.upper(): variable.value
            for variable in self._read(
                f"list variables of {target}", lambda: list(self._scope(target).get_variables())
            )
        }
        return TargetContents(True, self.secret_timestamps(target), variables)

    def secret_timestamps(self, target: Target) -> dict[str, str]:
        """NAME -> updated_at of every secret of the target."""
        secrets = self._read(
            f"list secrets of {target}", lambda: list(self._scope(target).get_secrets())
        )
        return {secret.name.upper(): timestamp_text(secret.updated_at) for secret in secrets}

    def create_environment(self, target: Target) -> None:
        self._write(f"create environment {target}", "PUT", self._environment_url(target))

    def public_key(self, target: Target, *, fresh: bool = False) -> PublicKey:
        """The target's public key, read once (a pre-flight check's read serves the writes);
        read again when fresh: GitHub rotated it, and refused the key_id of a write."""
        with self._public_keys_lock:
            known = None if fresh else self._public_keys.get(target)
        if known is not None:
            return known
        key: PublicKey = self._read(
            f"get the public key of {target}", lambda: self._scope(target).get_public_key()
        )
        with self._public_keys_lock:
            self._public_keys[target] = key
        return key

    def put_secret(
        self,
        target: Target,
        key: PublicKey,
        name: str,
        value: str,
        selected: list[int] | None = None,
    ) -> None:
        """Encrypt value locally (PyNaCl sealed box) and write it; an organization's selecting
        exactly these repositories, in the same request."""
        body = {"encrypted_value": key.encrypt(value), "key_id": key.key_id, **_only(selected)}
        self._write(
            f"write secret {name} of {target}",
            "PUT",
            f"{self._base_url(target)}/secrets/{quote(name, safe='')}",
            body,
        )

    def delete_secret(self, target: Target, name: str) -> None:
        self._delete(target, "secret", name)

    def set_variable(
        self, target: Target, name: str, value: str, exists: bool, selected: list[int] | None = None
    ) -> None:
        """Create or update a variable (an organization's selecting exactly these repositories).
        A create that meets one (or an update that meets none) switches once, so a retried or
        raced write still lands."""
        body = {"name": name, "value": value, **_only(selected)}
        try:
            self._write_variable(target, body, exists)
        except GitHubError as problem:
            if problem.status != (404 if exists else 409):
                raise
            self._write_variable(target, body, not exists)

    def _write_variable(self, target: Target, body: dict[str, Any], exists: bool) -> None:
        url = f"{self._base_url(target)}/variables"
        name = body["name"]
        what = f"write variable {name} of {target}"
        # Both may be repeated: the PATCH sets the whole value; a repeated create meets a 409,
        # on which set_variable switches to the PATCH.
        if exists:
            self._write(what, "PATCH", f"{url}/{quote(name, safe='')}", body, replay_safe=True)
        else:
            self._write(what, "POST", url, body, replay_safe=True)

    def set_selection(self, target: Target, kind: str, name: str, selected: list[int]) -> None:
        """Make an organization secret or variable reach exactly the selected repositories."""
        self._write(
            f"select the repositories of {kind} {name} of {target}",
            "PUT",
            f"{self._base_url(target)}/{kind}s/{quote(name, safe='')}/repositories",
            {"selected_repository_ids": selected},
        )

    def delete_variable(self, target: Target, name: str) -> None:
        self._delete(target, "variable", name)

    def _delete(self, target: Target, kind: str, name: str) -> None:
        """Delete the target's secret or variable; one already gone is fine."""
        url = f"{self._base_url(target)}/{kind}s/{quote(name, safe='')}"
        succeeded(
            lambda: self._write(f"delete {kind} {name} of {target}", "DELETE", url), unless=404
        )

    def dispatch(self, repository: str, event_type: str, payload: dict[str, Any]) -> None:
        """Send the event once: a second one would trigger the workflows again, so a failure
        after the request left (a 5xx, a lost answer) is not repeated."""
        self._write(
            f"dispatch {event_type} to {repository}",
            "POST",
            f"/repos/{repository}/dispatches",
            {"event_type": event_type, "client_payload": payload},
        )

    def _github(self) -> Github:
        client: Github | None = getattr(self._per_thread, "github", None)
        if client is None:
            client = Github(
                base_url=self._settings.api_url.rstrip("/"),
                auth=Auth.Token(self._settings.token),
                lazy=True,  # objects are addresses; only the calls made here reach GitHub
                retry=None,  # retries and pacing are ours, so that they follow GitHub's guidance
                seconds_between_requests=None,
                seconds_between_writes=None,
                per_page=100,
                timeout=REQUEST_TIMEOUT,
            )
            self._per_thread.github = client
        return client

    def _requester(self) -> Any:
        return self._github().requester

    def _environment_exists(self, target: Target) -> bool:
        def get() -> object:
            return self._requester().requestJsonAndCheck("GET", self._environment_url(target))

        return succeeded(lambda: self._read(f"get environment {target}", get), unless=404)

    def _scope(self, target: Target) -> Any:
        """The PyGithub object whose secrets are the target's: an Organization, a Repository or
        an Environment."""
        if target.organization:
            return self._github().get_organization(target.repository)
        repository = self._github().get_repo(target.repository)
        if target.environment is None:
            return repository
        return repository.get_environment(target.environment)

    def _environment_url(self, target: Target) -> str:
        return f"/repos/{target.repository}/environments/{quote(target.environment or '', safe='')}"

    def _base_url(self, target: Target) -> str:
        if target.organization:
            return f"/orgs/{target.repository}/actions"
        if target.environment is None:
            return f"/repos/{target.repository}/actions"
        return self._environment_url(target)

    def _read(self, what: str, operation: Callable[[], T]) -> T:
        return self._with_retries(what, operation, method="GET")

    def _write(
        self,
        what: str,
        method: str,
        url: str,
        body: dict[str, Any] | None = None,
        *,
        replay_safe: bool = False,
    ) -> None:
        def request() -> None:
            self._requester().requestJsonAndCheck(method, url, input=body)

        self._with_retries(what, request, method=method, replay_safe=replay_safe)

    def _with_retries(
        self, what: str, operation: Callable[[], T], method: str, replay_safe: bool = False
    ) -> T:
        """The operation's result, transient failures retried (each retry logged); a request
        that gets no answer at all is given up within the policy's no_answer_budget."""
        policy = self._settings.retry
        started = time.monotonic()
        for attempt in range(1, policy.attempts + 1):
            sent = True
            try:
                if method != "GET":
                    with self._pacer.turn():
                        return operation()
                return operation()
            except GithubException as failure:
                status, message = failure.status, _message(failure)
                headers = dict(failure.headers or {})
                if not is_transient(status, headers, message):
                    raise GitHubError(what, status, _with_needed(message, headers)) from failure
            except requests.RequestException as failure:
                status, headers = None, {}
                message = f"from the GitHub API at {self._settings.api_url} ({_reason(failure)})"
                sent = not never_sent(failure)
            if not may_repeat(method, status, sent, replay_safe):
                raise GitHubError(
                    what, status, f"{message} (not sent again: GitHub may have acted on it)"
                )
            elapsed = time.monotonic() - started
            wait = retry_delay(
                attempt,
                status,
                headers,
                policy=policy,
                now=time.time(),
                jitter=self._jitter,
                elapsed=elapsed,
            )
            if attempt == policy.attempts or wait is None:
                raise GitHubError(what, status, _given_up(message, status, wait, attempt, elapsed))
            with self._log_lock:
                actions_runtime.info(
                    f"{what}: {status or 'no answer'} {message}: retrying in {wait:.1f} s "
                    f"(attempt {attempt + 1} of {policy.attempts})"
                )
            time.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _given_up(
    message: str, status: int | None, wait: float | None, attempts: int, elapsed: float
) -> str:
    """The last failure's message, with why no retry follows."""
    if status is None:
        return f"{message}, {attempts} attempts in {elapsed:.0f} s"
    return message if wait is not None else f"{message} (GitHub asks to wait longer than we may)"


def _reason(failure: requests.RequestException) -> str:
    """What went wrong with a request that got no answer, in a few words: `Connection
    refused`, `ReadTimeout`, the resolver's message."""
    cause = getattr(failure.args[0] if failure.args else None, "reason", None)
    if isinstance(cause, NewConnectionError):
        text = str(cause).rsplit(": ", 1)[-1]  # after urllib3's "<connection object>: ..."
        return re.sub(r"^\[Errno -?\d+\] ", "", text) or type(failure).__name__
    return type(failure).__name__


def never_sent(failure: requests.RequestException) -> bool:
    """Whether the request never reached the server: no connection could be opened (refused,
    unresolved, timed out while connecting). Any other failure may come after it was sent."""
    if isinstance(failure, requests.ConnectTimeout):
        return True
    reason = getattr(failure.args[0] if failure.args else None, "reason", None)
    return isinstance(reason, NewConnectionError)


def _only(selected: list[int] | None) -> dict[str, Any]:
    """The body fields that make an organization secret or variable reach exactly the selected
    repositories; none for a repository's or environment's."""
    if selected is None:
        return {}
    return {"visibility": "selected", "selected_repository_ids": selected}


def _message(failure: GithubException) -> str:
    data = failure.data
    message = data["message"] if isinstance(data, dict) and data.get("message") else data or ""
    return " ".join(str(message).split())  # GitHub's 422s hold blank lines: one line each


def _with_needed(message: str, headers: dict[str, str]) -> str:
    """The message, with the permissions GitHub says the call needs when it refused a token."""
    needed = next(
        (value for name, value in headers.items() if name.lower() == ACCEPTED_PERMISSIONS), None
    )
    return f"{message} (the token needs {needed})" if needed else message


def timestamp_text(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""
