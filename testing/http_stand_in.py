"""The HTTP harness the stand-in servers share: a threaded server on loopback, the routing of a
request to its handler, the request log, the faults of testing/faults.py and the checks on what a
handler answers.

A stand-in subclasses StandInServer with its router and answers in `_respond`, under the lock; a
handler returns a Reply or raises Answer. What differs between the APIs (the error documents, the
rate limit headers, authentication) stays in the stand-in.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from types import EllipsisType
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar
from urllib.parse import unquote

from testing.faults import AnswerDrop, PathFailure, take_failure
from testing.loopback_server import LoopbackServer

JSON = "application/json; charset=utf-8"
NOT_JSON = object()  # a request body that could not be parsed as JSON

# How a route template spells its parameters: GitHub's OpenAPI {owner}, HashiCorp's :run_id.
# Both match one path segment: a slash inside a name arrives as %2F.
BRACED_PARAMETERS = re.compile(r"\\\{(\w+)\\\}")
COLON_PARAMETERS = re.compile(r":(\w+)")

HandlerT = TypeVar("HandlerT")


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None  # a JSON document, bytes (sent as they are), or None for no body at all
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str | None = None  # None: the server's (StandInServer.content_type)


class Answer(Exception):  # not an error: a handler's early reply
    """Raised by a handler to answer at once (a 404, a 422...)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class LoggedRequest(NamedTuple):
    """One request as the server answered it."""

    method: str
    path: str  # as sent (percent-encoded), without the query string
    status: int
    body: Any = None  # the request's JSON body; None when it had none or it was not JSON
    query: str = ""
    route: str | None = None  # the template of the route that matched, if any
    time: float = 0.0  # time.monotonic() when it was answered
    run_status: str | None = None  # HCP Terraform's GET /runs/:run_id answered 200: the status


class RouteSpec(NamedTuple):
    """A route a server serves and the statuses its handler can answer (besides the statuses
    every route of the server shares, and injected faults)."""

    method: str
    template: str  # the path as the API's documentation spells it
    statuses: frozenset[int]


@dataclass(frozen=True)
class Route(Generic[HandlerT]):
    spec: RouteSpec
    pattern: re.Pattern[str]
    handler: HandlerT


def route(
    method: str,
    template: str,
    handler: HandlerT,
    statuses: Collection[int],
    parameters: re.Pattern[str],
) -> Route[HandlerT]:
    """A route whose template's parameters (spelt as `parameters` matches them) each match one
    path segment."""
    pattern = parameters.sub(r"(?P<\1>[^/]+)", re.escape(template))
    return Route(RouteSpec(method, template, frozenset(statuses)), re.compile(pattern), handler)


class Router(Generic[HandlerT]):
    """Routes tried in order: the first whose method and path match serves the request."""

    def __init__(self, routes: Collection[Route[HandlerT]]) -> None:
        self.routes = tuple(routes)

    def specs(self) -> tuple[RouteSpec, ...]:
        return tuple(route.spec for route in self.routes)

    def match(self, method: str, path: str) -> tuple[Route[HandlerT] | None, dict[str, str]]:
        """The route and its path parameters, percent-decoded; (None, {}) when none matches."""
        for candidate in self.routes:
            found = candidate.pattern.fullmatch(path)
            if found and candidate.spec.method == method:
                return candidate, {key: unquote(value) for key, value in found.groupdict().items()}
        return None, {}


class Incoming(NamedTuple, Generic[HandlerT]):
    """A request, parsed (which touches no state)."""

    method: str
    path: str  # as sent, without the query string
    query: str
    token: str | None
    raw_body: bytes
    body: Any  # JSON, None when empty, NOT_JSON when unparsable
    route: Route[HandlerT] | None
    params: dict[str, str]


def parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        return NOT_JSON


def int_or(text: str | None, default: int) -> int:
    """A query parameter as a number; the default when it is missing or not a number."""
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


class StandInServer(LoopbackServer, Generic[HandlerT]):
    """A stand-in on 127.0.0.1 and a free port. Use as a context manager, or start()/stop()."""

    thread_name: ClassVar[str] = "stand-in-server"
    token_schemes: ClassVar[frozenset[str]] = frozenset({"bearer"})  # of Authorization, lower
    common_statuses: ClassVar[frozenset[int]] = frozenset()  # any route may answer them
    content_type: ClassVar[str] = JSON  # of a reply's JSON body, unless the reply says otherwise
    fault_status: ClassVar[int] = 503  # fail_path's default status
    fault_retry_after: ClassVar[str | None] = None  # and its default Retry-After
    # A header naming the operation, routed on instead of the path: AWS's JSON protocol posts
    # every operation to / and names it in X-Amz-Target (a route's template is then its value).
    operation_header: ClassVar[str | None] = None

    def __init__(self, router: Router[HandlerT], lock: AbstractContextManager[Any]) -> None:
        super().__init__()
        self.latency_seconds: float = 0.0  # slept before answering every request
        self._router = router
        self._lock = lock
        self._log: dict[int, LoggedRequest] = {}  # by arrival number
        self._arrivals = 0
        self._errors: list[str] = []
        self._path_failures: list[PathFailure] = []
        self._answer_drops: list[AnswerDrop] = []

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _stand_in_handler(self)

    # -- the request log and the stand-in's own errors ------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every answered request, in arrival order."""
        with self._lock:
            return [self._log[number] for number in sorted(self._log)]

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def requests_to(self, route: str, method: str | None = None) -> list[LoggedRequest]:
        """The requests that matched a route template."""
        return [
            r for r in self.requests if r.route == route and (method is None or r.method == method)
        ]

    @property
    def errors(self) -> list[str]:
        """Bugs of the stand-in itself (a handler that crashed or answered a status its route
        does not declare; each was answered 500), and requests a client must never send."""
        with self._lock:
            return list(self._errors)

    # -- faults ---------------------------------------------------------------------------------

    def clear_faults(self) -> None:
        """No more path failures, and no more dropped answers."""
        with self._lock:
            self._path_failures.clear()
            self._answer_drops.clear()

    def drop_answers(
        self, pattern: str, times: int | None = 1, *, method: str | None = None
    ) -> None:
        """Serve the next `times` requests (None: all) whose percent-decoded path matches the
        regular expression `pattern` (re.search), and whose method is `method` if given, as
        usual (what they create is created, and logged), then close the connection without an
        answer: the client sees the connection drop, as when the network loses the answer."""
        drop = AnswerDrop(re.compile(pattern), method, times)
        with self._lock:
            self._answer_drops.append(drop)

    def fail_path(
        self,
        pattern: str,
        status: int | None = None,
        times: int | None = 1,
        *,
        method: str | None = None,
        retry_after: str | EllipsisType | None = ...,
        message: str | None = None,
        reset_seconds: float = 0.2,
    ) -> None:
        """Fail the next `times` requests (None: all) whose percent-decoded path matches the
        regular expression `pattern` (re.search), and whose method is `method` if given, before
        anything else. status and retry_after (a Retry-After header) default to the server's
        fault_status and fault_retry_after; message is the error's (GitHub), reset_seconds a
        429's X-RateLimit-Reset (HCP Terraform)."""
        failure = PathFailure(
            re.compile(pattern),
            method,
            self.fault_status if status is None else status,
            times,
            self.fault_retry_after if isinstance(retry_after, EllipsisType) else retry_after,
            message,
            reset_seconds,
        )
        with self._lock:
            self._path_failures.append(failure)

    def _path_failure(self, method: str, path: str) -> PathFailure | None:
        """The first failure that takes this request, counted; under the lock."""
        return take_failure(self._path_failures, method, path)

    # -- answering ------------------------------------------------------------------------------

    def _respond(self, incoming: Incoming[HandlerT]) -> Reply:
        """The reply to a request; under the lock."""
        raise NotImplementedError

    def _server_error(self, detail: str) -> Reply:
        """The 500 the API answers, saying what went wrong."""
        raise NotImplementedError

    def _logged(self, incoming: Incoming[HandlerT], reply: Reply) -> LoggedRequest:
        """The log's entry for a request; under the lock."""
        return LoggedRequest(
            incoming.method,
            incoming.path,
            reply.status,
            incoming.body if incoming.body is not NOT_JSON else None,
            incoming.query,
            incoming.route.spec.template if incoming.route else None,
            time.monotonic(),
        )

    def _checked(self, spec: RouteSpec, handle: Callable[[], Reply]) -> Reply:
        """The handler's reply; 500, kept in errors, when it crashed or answered a status its
        route does not declare."""
        try:
            reply = handle()
        except Answer as answer:
            reply = answer.reply
        except Exception as crash:  # a bug of the stand-in: answered 500 and kept for the tests
            self._errors.append(f"{spec.method} {spec.template}: {crash!r}")
            return self._server_error(f"stand-in server error: {crash!r}")
        if reply.status not in spec.statuses | self.common_statuses:
            self._errors.append(f"{spec.method} {spec.template}: {reply.status}")
            return self._server_error(f"undeclared status {reply.status}")
        return reply

    def _answer(self, incoming: Incoming[HandlerT]) -> Reply | None:
        """The reply to send; None when it is to be dropped (the connection closed instead)."""
        with self._lock:
            self._arrivals += 1
            arrival = self._arrivals
        if self.latency_seconds > 0:
            time.sleep(self.latency_seconds)
        with self._lock:
            reply = self._respond(incoming)
            self._log[arrival] = self._logged(incoming, reply)
            decoded_path = unquote(incoming.path)
            dropped = any(drop.takes(incoming.method, decoded_path) for drop in self._answer_drops)
        return None if dropped else reply

    def _incoming(
        self,
        method: str,
        target: str,
        authorization: str | None,
        raw_body: bytes,
        operation: str | None = None,
    ) -> Incoming[HandlerT]:
        """The request parsed and routed, before it counts as arrived (this touches no state)."""
        path, _, query = target.partition("?")
        routed = path if self.operation_header is None else (operation or "")
        matched, params = self._router.match(method, routed)
        scheme, _, token = (authorization or "").partition(" ")
        valid = scheme.lower() in self.token_schemes and token.strip()
        body = parse_body(raw_body)
        return Incoming(
            method, path, query, token.strip() if valid else None, raw_body, body, matched, params
        )


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body: Content-Length, or chunked transfer encoding."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        return b"".join(_chunks(handler))
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _chunks(handler: BaseHTTPRequestHandler) -> Iterator[bytes]:
    while True:
        size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while handler.rfile.readline().strip():  # trailers, then the empty line
                pass
            return
        yield handler.rfile.read(size)
        handler.rfile.readline()  # the CRLF after each chunk


def _stand_in_handler(server: StandInServer[Any]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as PyGithub's and requests' sessions expect
        # Headers and body leave in two writes: without this, Nagle's algorithm and the client's
        # delayed ACK hold every answer back some 40 ms.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            header = server.operation_header
            incoming = server._incoming(  # the handler is part of the server
                self.command,
                self.path,
                self.headers.get("Authorization"),
                _read_body(self),
                self.headers.get(header) if header else None,
            )
            reply = server._answer(incoming)
            if reply is None:  # dropped: the connection closes with no answer at all
                self.close_connection = True
                return
            if isinstance(reply.body, bytes):
                payload = reply.body
            else:
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.body is not None:
                self.send_header("Content-Type", reply.content_type or server.content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: server.requests is the log."""

    return Handler
