"""A GitHub API or HCP Terraform address in plain http is refused unless it is this machine
(127.0.0.0/8, ::1, localhost): a token travels to it (issue 28, point 10). The loopback ranges:
RFC 1122 section 3.2.1.3 (127.0.0.0/8) and RFC 4291 section 2.5.3 (::1); `localhost` resolves
to loopback (RFC 6761 section 6.3). Other spellings of those addresses (`127.1`,
`::ffff:127.0.0.1`, a zone) are refused: the safe reading where the issue is silent."""

from __future__ import annotations

import argparse

import pytest

from toto_actions.errors import UsageError
from toto_actions.github import API_URL_OPTION
from toto_actions.options import resolve

HTTP_REFUSED = (
    "plain http only to this machine (127.0.0.0/8, ::1 or localhost): use https, "
    "a token is sent there"
)

ACCEPTED = [
    "https://api.github.com",
    "https://ghe.example.com/api/v3",
    "https://203.0.113.7:8443",
    "http://127.0.0.1:8080",
    "http://127.8.9.10",
    "http://[::1]:9000/api",
    "http://localhost:3000",
    "http://LOCALHOST:3000",
]
REFUSED = [
    "http://api.github.com",
    "http://ghe.example.com/api/v3",
    "http://10.0.0.5",
    "http://128.0.0.1",
    "http://0.0.0.0:8080",
    "http://[::2]",
    "http://[::ffff:127.0.0.1]",
    "http://127.1",
    "http://2130706433",
    "http://localhost.example.com",
    "http://localhost.",
    "http://127.0.0.1.nip.io",
    "HTTP://api.github.com",
]


def resolved(value: str) -> object:
    parser = argparse.ArgumentParser()
    API_URL_OPTION.add_to(parser)
    return resolve([API_URL_OPTION], parser.parse_args([]), {"GITHUB_API_URL": value})[
        "github-api-url"
    ]


@pytest.mark.parametrize("address", ACCEPTED)
def test_https_anywhere_and_http_to_this_machine_are_accepted(address: str) -> None:
    assert resolved(address) == address


@pytest.mark.parametrize("address", REFUSED)
def test_plain_http_elsewhere_is_refused_in_one_line(address: str) -> None:
    with pytest.raises(UsageError) as raised:
        resolved(address)
    assert str(raised.value) == f"GITHUB_API_URL={address!r}: {HTTP_REFUSED}"
