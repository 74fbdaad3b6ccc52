"""The life cycle every HTTP server of testing/ shares: a threaded server on 127.0.0.1 and a free
port, served from a daemon thread, started and stopped once, or used as a context manager.

A subclass (the stand-ins' StandInServer, the RecordingProxy) gives the request handler class.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import ClassVar, Self


class LoopbackServer:
    """An HTTP server on 127.0.0.1 and a free port. Use as a context manager, or start()/stop()."""

    thread_name: ClassVar[str] = "loopback-server"

    def __init__(self) -> None:
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The class that answers this server's requests."""
        raise NotImplementedError

    def start(self) -> None:
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._http.daemon_threads = True  # keep-alive connections must not hold stop() up
        self._thread = threading.Thread(
            # A short poll: stop() waits for the loop to notice, once per test.
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._thread is not None:
            self._thread.join()
        self._http, self._thread = None, None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The server's base URL."""
        if self._http is None:
            raise RuntimeError("the server is not started")
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"
