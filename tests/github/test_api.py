"""The GitHub adapter's view of a failed request: did it leave? Told over real sockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from testing.sockets import free_port, unanswering_server
from toto_actions.github.api import never_sent


def failure_of(url: str) -> requests.RequestException:
    try:
        requests.post(url, json={"event_type": "x"}, timeout=5)
    except requests.RequestException as failure:
        return failure
    raise AssertionError(f"{url} answered")


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: the connection is refused."""
    return free_port()


@pytest.fixture
def hanging_up_server() -> Iterator[int]:
    """A server that reads the request, then closes without an answer."""
    with unanswering_server(hang_up=True) as port:
        yield port


def test_a_refused_connection_never_sent_the_request(closed_port: int) -> None:
    assert never_sent(failure_of(f"http://127.0.0.1:{closed_port}/dispatches"))


def test_a_connection_closed_after_the_request_may_have_delivered_it(
    hanging_up_server: int,
) -> None:
    failure = failure_of(f"http://127.0.0.1:{hanging_up_server}/dispatches")
    assert isinstance(failure, requests.ConnectionError)  # the same class as a refusal...
    assert not never_sent(failure)  # ...but this one left
