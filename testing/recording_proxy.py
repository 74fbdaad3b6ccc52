"""A proxy on loopback that forwards every request to an upstream server (moto) unchanged and
records what each request carried: where the upstream does not check a parameter, a test still
sees that the client sent it.

    with RecordingProxy(moto_server.endpoint_url) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
        ...
        assert proxy.bodies("DescribeRepositories")[0]["registryId"] == "210987654321"

AWS JSON-protocol calls (ECR's) name their operation in X-Amz-Target
(`AmazonEC2ContainerRegistry_V20150921.PutImage`): that is how a recorded call is found.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, Self
from urllib.parse import urlsplit

from testing.http_stand_in import parse_body

# Hop-by-hop headers, which a proxy does not pass on (RFC 9110, 7.6.1).
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade"})


class RecordedCall(NamedTuple):
    operation: str  # the part of X-Amz-Target after the dot; "" when the request had none
    body: Any  # the JSON body (None when empty; http_stand_in.NOT_JSON when unparsable)


class RecordingProxy:
    """Forwards to upstream (http://host:port) from 127.0.0.1 and a free port; a context
    manager. `calls` holds every request in the order they arrived."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.calls: list[RecordedCall] = []
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="recording-proxy",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def bodies(self, operation: str) -> list[Any]:
        """The bodies of the calls of one operation, in order."""
        with self._lock:
            return [call.body for call in self.calls if call.operation == operation]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes) -> Any:
        """Record the request, send it upstream and return (status, headers, body)."""
        target = dict((name.lower(), value) for name, value in headers).get("x-amz-target", "")
        with self._lock:
            self.calls.append(RecordedCall(target.rpartition(".")[2], parse_body(body)))
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            sent = {name: value for name, value in headers if name.lower() not in _HOP_BY_HOP}
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


def _handler_class(proxy: RecordingProxy) -> type[BaseHTTPRequestHandler]:
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

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the upstream logs every request already

    return Handler
