"""The Docker engine, through the docker SDK's low-level APIClient: ping, context files, push.

This is the only module that talks to the engine's API (builds go through the docker CLI, in
buildkit.py: the SDK drives only the classic builder). The SDK streams push progress as JSON
items; a failure inside that stream comes with HTTP 200 (an `error`/`errorDetail` item), not as
an exception, so every stream is read to the end here and each such item becomes an
OperationError carrying the engine's message.
Credentials reach the engine only as a push's `auth_config`; nothing is written to a Docker
config file.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import docker  # type: ignore[import-untyped]
import requests
from docker.errors import DockerException  # type: ignore[import-untyped]
from docker.utils.build import exclude_paths  # type: ignore[import-untyped]

from toto_actions.errors import OperationError, UsageError
from toto_actions.http_retry import RetryPolicy, retry_delay
from toto_actions.images.build_context import ignore_patterns

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
# A push is retried for a registry that is briefly unreachable, busy or failing; dockerd itself
# already retries a failed layer upload a few times before it reports the failure.
PUSH_RETRY = RetryPolicy(attempts=4, base_delay=2.0, max_wait=60.0)
# Signs, in the engine's message, of a registry failure that may pass: a 5xx answer, a dropped or
# refused connection (a registry restarting), a timeout, a rate limit.
_TRANSIENT_PUSH_FAILURE = re.compile(
    r"\b5\d\d (?:Internal|Bad Gateway|Service Unavailable|Gateway Timeout)"
    r"|status(?: code)?:? 5\d\d\b"
    r"|connection reset|connection refused|broken pipe|unexpected EOF"
    r"|timeout|timed out|toomanyrequests|too many requests",
    re.IGNORECASE,
)
# Name standing in for a Dockerfile outside the context in the SDK's exception pattern; it
# matches no file, as the SDK's own random `.dockerfile.<hex>` name does not.
_OUTSIDE_DOCKERFILE = ".dockerfile.outside-the-context"

LineSink = Callable[[str], None]


class _PushFailed(OperationError):
    """A push the engine reported as failed; reason is the engine's own message."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what} failed: {reason}")
        self.reason = reason


class DockerEngine:
    """One Docker engine. Nothing is contacted before the first call."""

    def __init__(self, base_url: str | None = None, push_retry: RetryPolicy = PUSH_RETRY) -> None:
        """base_url: `unix:///...` or `tcp://...`; None reads DOCKER_HOST (and TLS settings) from
        the environment as docker.from_env() does. push_retry: how transient push failures are
        retried."""
        self._base_url = base_url
        self._push_retry = push_retry
        self._api: Any = None
        self._jitter = random.Random()  # noqa: S311 - spreads retries; no secret

    @property
    def url(self) -> str:
        """The engine's address, as used in messages."""
        if self._base_url is not None:
            return self._base_url
        address: str | None = docker.utils.kwargs_from_env().get("base_url")
        return address or DEFAULT_SOCKET

    def ping(self) -> None:
        """Return when the engine answers; else UsageError naming its address."""
        try:
            self._client().ping()
        except (DockerException, requests.RequestException) as problem:
            raise self._unreachable(problem) from problem

    def context_files(
        self, context: Path, dockerfile: Path, excluded: Sequence[str] = ()
    ) -> list[str]:
        """The files and symlinks the build of context would send to the engine: relative,
        '/'-separated, sorted. The ignore file BuildKit applies (build_context.ignore_file) is
        applied with the SDK's own matcher, then the patterns in excluded (the toolkit's own
        checkout), so the list is what the engine receives. A Dockerfile outside the context is
        not in it (the SDK adds it under a random name, with a .dockerignore of its own in place
        of the context's).

        A relative dockerfile is taken from the working directory, as `docker build -f` does.
        """
        root, inside_name = _locate(context, dockerfile)
        patterns = [*ignore_patterns(root, dockerfile), *excluded]
        names = exclude_paths(str(root), patterns, dockerfile=inside_name or _OUTSIDE_DOCKERFILE)
        files = [
            str(name).replace("\\", "/")
            for name in names
            if (root / name).is_symlink() or (root / name).is_file()
        ]
        if inside_name is None:
            files = [name for name in files if name != ".dockerignore"]
        return sorted(files)

    def push(
        self,
        repository_ref: str,
        tag: str,
        auth_config: Mapping[str, str] | None,
        on_line: LineSink,
    ) -> str:
        """Push repository_ref:tag with these credentials (None: those the SDK finds in the Docker
        config file, if any); one line per layer state change goes to on_line. Returns the digest
        the push reports (sha256:...).

        Transient registry failures are retried as the push policy says; any other failure, or
        the last one, raises OperationError with the engine's message.
        """
        what = f"docker push {repository_ref}:{tag}"
        policy = self._push_retry
        for attempt in range(1, policy.attempts + 1):
            try:
                return self._push_once(f"{repository_ref}:{tag}", auth_config, on_line)
            except OperationError as failure:
                message = str(failure)
                reason = failure.reason if isinstance(failure, _PushFailed) else message
                wait = retry_delay(
                    attempt, None, {}, policy=policy, now=time.time(), jitter=self._jitter
                )
                transient = _TRANSIENT_PUSH_FAILURE.search(reason) is not None
                if not transient or attempt == policy.attempts or wait is None:
                    raise
                on_line(f"{message}; retrying in {wait:.1f}s ({attempt} of {policy.attempts})")
                time.sleep(wait)
        raise AssertionError(f"unreachable: the last attempt of {what} returns or raises")

    def _push_once(
        self, reference: str, auth_config: Mapping[str, str] | None, on_line: LineSink
    ) -> str:
        """One push of reference (REPOSITORY_REF:TAG)."""
        repository_ref, _, tag = reference.rpartition(":")
        what = f"docker push {reference}"
        api = self._client()
        items = self._call(
            what,
            lambda: api.push(
                repository_ref,
                tag=tag,
                stream=True,
                decode=True,
                auth_config=dict(auth_config) if auth_config is not None else None,
            ),
        )
        statuses = _StatusLines(on_line)
        digest: str | None = None
        for item in self._stream(what, items):
            failure = _stream_error(item)
            if failure is not None:
                raise _PushFailed(what, failure)
            aux = item.get("aux")
            if isinstance(aux, dict) and aux.get("Digest"):
                digest = str(aux["Digest"])
            elif "status" in item:
                statuses.feed(item)
        if digest is None:
            raise OperationError(f"{what}: the engine reported no digest")
        return digest

    def _client(self) -> Any:
        """The APIClient, created on first use with the API version the engine speaks."""
        if self._api is None:
            try:
                if self._base_url is None:
                    self._api = docker.APIClient(version="auto", **docker.utils.kwargs_from_env())
                else:
                    self._api = docker.APIClient(base_url=self._base_url, version="auto")
            except (DockerException, requests.RequestException) as problem:
                raise self._unreachable(problem) from problem
        return self._api

    def _unreachable(self, problem: BaseException) -> UsageError:
        return UsageError(f"no Docker engine at {self.url}: {_reason(problem)}")

    def _call(self, what: str, operation: Callable[[], Any]) -> Any:
        """operation's result; an SDK or connection error becomes one OperationError line."""
        try:
            return operation()
        except docker.errors.APIError as problem:
            explanation = problem.explanation or str(problem)
            raise OperationError(f"{what} failed: {_one_line(str(explanation))}") from problem
        except (DockerException, requests.RequestException) as problem:
            raise OperationError(f"{what} failed: {_reason(problem)}") from problem

    def _stream(self, what: str, items: Iterable[Any]) -> Iterable[dict[str, Any]]:
        """The decoded items of a streamed answer; a broken stream becomes an OperationError."""
        iterator = iter(items)
        while True:
            item = self._call(what, lambda: next(iterator, None))
            if item is None:
                return
            if isinstance(item, dict):
                yield item


class _StatusLines:
    """Passes on a `status` item only when a layer's state changes, not each progress tick."""

    def __init__(self, on_line: LineSink) -> None:
        self._on_line = on_line
        self._last: dict[str, str] = {}

    def feed(self, item: Mapping[str, Any]) -> None:
        status = str(item.get("status", ""))
        layer = item.get("id")
        if layer is None:
            self._on_line(status)
            return
        if self._last.get(str(layer)) != status:
            self._last[str(layer)] = status
            self._on_line(f"{layer}: {status}")


def _stream_error(item: Mapping[str, Any]) -> str | None:
    """The engine's message when a stream item reports a failure, else None."""
    detail = item.get("errorDetail")
    if isinstance(detail, dict) and detail.get("message"):
        return _one_line(str(detail["message"]))
    if item.get("error"):
        return _one_line(str(item["error"]))
    return None


def _locate(context: Path, dockerfile: Path) -> tuple[Path, str | None]:
    """The context's absolute path and the Dockerfile's path inside it ('/'-separated), or None
    when the Dockerfile lies outside the context."""
    if not context.is_dir():
        raise UsageError(f"the build context {context} is not a directory")
    root = context.resolve()
    file = dockerfile.resolve()
    if file.is_relative_to(root):
        return root, file.relative_to(root).as_posix()
    return root, None


def _reason(problem: BaseException) -> str:
    """The root cause of a connection failure in a few words (`No such file or directory`)."""
    cause: BaseException | None = problem
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    return _one_line(str(problem))


def _one_line(message: str) -> str:
    return " ".join(message.split())
