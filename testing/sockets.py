"""Raw sockets on loopback for the tests of what a client does when a server fails it: a port
nobody listens on (the connection is refused), and a server that takes each request and never
answers it (keeping the connection open, or closing it)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago: a connection to it is
    refused until something binds it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def unanswering_server(*, hang_up: bool) -> Iterator[int]:
    """A server on 127.0.0.1 that accepts each connection and never answers; yields its port.

    hang_up=False: the connection is held open, unread, until the server stops (the client
    waits for its read timeout). hang_up=True: the request is read, then the connection is
    closed (the client sees it cut after sending)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            if hang_up:
                with connection:
                    connection.recv(65536)
            else:
                held.append(connection)  # kept open, never answered

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for connection in held:
            connection.close()
