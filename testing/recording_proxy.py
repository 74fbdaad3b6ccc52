"""A proxy on loopback that forwards every request to an upstream server (moto) unchanged and
records what each request carried: where the upstream does not check a parameter, a test still
sees that the client sent it.

    with RecordingProxy(moto_server.endpoint_url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        ...
        assert proxy.bodies("DescribeRepositories")[0]["registryId"] == "210987654321"

AWS JSON-protocol calls (ECR's) name their operation in X-Amz-Target
(`AmazonEC2ContainerRegistry_V20150921.PutImage`): that is how a recorded call is found.

It also serves as the HTTP proxy of a client (HTTP_PROXY: requests then sends absolute-form
targets, which go to the same upstream), and can hold the first request a test names, neither
forwarded nor answered until the test releases it, to stop a client at a chosen point:

    with RecordingProxy(registry.url, hold=lambda method, path: method == "PUT") as proxy:
        ... start the client; proxy.held.wait(); kill it; proxy.release()
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from testing.http_stand_in import parse_body
from testing.loopback_server import LoopbackServer

# Hop-by-hop headers, which a proxy does not pass on (RFC 9110, 7.6.1).
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade"})


class RecordedCall(NamedTuple):
    operation: str  # the part of X-Amz-Target after the dot; "" when the request had none
    body: Any  # the JSON body (None when empty; http_stand_in.NOT_JSON when unparsable)


class RecordingProxy(LoopbackServer):
    """Forwards to upstream (http://host:port) from 127.0.0.1 and a free port; a context
    manager. `calls` holds every request in the order they arrived."""

    thread_name = "recording-proxy"

    def __init__(self, upstream: str, hold: Callable[[str, str], bool] | None = None) -> None:
        """hold(method, path): whether to hold a request (the first one it says yes to)."""
        super().__init__()
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.calls: list[RecordedCall] = []
        self._hold = hold
        self.held = threading.Event()  # set when the held request arrived
        self._released = threading.Event()
        self._lock = threading.Lock()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return _proxy_handler(self)

    def bodies(self, operation: str) -> list[Any]:
        """The bodies of the calls of one operation, in order."""
        with self._lock:
            return [call.body for call in self.calls if call.operation == operation]

    def release(self) -> None:
        """Answer the held request 502 (it never reaches upstream)."""
        self._released.set()

    def stop(self) -> None:
        self.release()  # a held request is answered (502), not left hanging
        super().stop()

    def forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> Any:
        """Record the request, send it upstream and return (status, headers, body); a held
        request is answered 502 once released, without reaching upstream."""
        target = dict((name.lower(), value) for name, value in headers).get("x-amz-target", "")
        if path.startswith("http://"):  # absolute form, as a client sends it to its proxy
            parts = urlsplit(path)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
        with self._lock:
            self.calls.append(RecordedCall(target.rpartition(".")[2], parse_body(body)))
            hold = self._hold is not None and not self.held.is_set() and self._hold(method, path)
            if hold:
                self.held.set()
        if hold:
            self._released.wait()
            return 502, [], b""
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            sent = {name: value for name, value in headers if name.lower() not in _HOP_BY_HOP}
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


def _proxy_handler(proxy: RecordingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, answer = proxy.forward(
                self.command, self.path, list(self.headers.items()), body
            )
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP | {"content-length"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

        def do_HEAD(self) -> None:
            status, headers, _ = proxy.forward(
                self.command, self.path, list(self.headers.items()), b""
            )
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the upstream logs every request already

    return Handler
