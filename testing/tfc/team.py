"""The stand-in HCP Terraform as most tests start it: one organization and a team token for it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from testing.tfc.model import DEFAULT_STATE_PROCESSING_SECONDS, DEFAULT_STEP_SECONDS
from testing.tfc.server import TfcServer


@contextmanager
def serving_team(
    organization: str,
    token: str,
    *,
    step_seconds: float = DEFAULT_STEP_SECONDS,
    state_processing_seconds: float = DEFAULT_STATE_PROCESSING_SECONDS,
) -> Iterator[TfcServer]:
    """A running stand-in that holds organization and token, a team token; it must have seen no
    error when the block ends."""
    with TfcServer(
        step_seconds=step_seconds, state_processing_seconds=state_processing_seconds
    ) as server:
        server.add_organization(organization)
        server.add_token(token, "team")
        yield server
        assert server.errors == []
