"""Every command that sends a token to a GitHub API or HCP Terraform address refuses one in plain
http to another machine: exit 2, one line, before anything is read or sent (issue 28, point 10;
the rule and its sources: tests/test_options_url.py). render-workflow takes no address (the
rendered jobs pass `vars.TOTO_GITHUB_API_URL` and `vars.TF_CLOUD_ADDRESS` to these commands,
which check them), build-push none (a registry is a host name, reached over https by docker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CliRunner

REFUSED = (
    "plain http only to this machine (127.0.0.0/8, ::1 or localhost): use https, "
    "a token is sent there"
)
CLOUD = {"TF_API_TOKEN": "t0ken", "TF_CLOUD_ORGANIZATION": "acme"}


def case(command: str, address: str, variable: str = "", named: str = "") -> object:
    """The command with the address as its last argument, or in the environment `variable`; the
    refusal names where the address came from (`named`: by default that option or variable)."""
    arguments = command.split()
    # tf-apply needs its HCP Terraform token and organization to get as far as the address.
    env = dict(CLOUD) if arguments[0] == "tf-apply" else {}
    if variable:
        env[variable] = address
    else:
        arguments.append(address)
    source = variable or arguments[-2]
    named = named or source
    shown = f"{named} {address!r}" if named.startswith("--") else f"{named}={address!r}"
    return pytest.param(
        arguments, env, f"{shown}: {REFUSED}", id=f"{arguments[0]}-{source.lstrip('-')}"
    )


SYNC = "sync-secrets --outputs outputs.json --github-token t0ken"
DEPLOYED_COMMIT = "deployed-commit --environment prod --github-token t0ken"
CASES = [
    case("tf-apply --workspace w --tfc-address", "http://tfe.example.com"),
    case("tf-apply --workspace w", "http://10.1.2.3:8080", "TF_CLOUD_ADDRESS", "--tfc-address"),
    case("tf-apply --workspace w --github-api-url", "http://ghe.example.com/api/v3"),
    case(SYNC, "http://api.github.com", "GITHUB_API_URL"),
    case(DEPLOYED_COMMIT, "http://[::2]:8080", "INPUT_GITHUB-API-URL"),
]


@pytest.mark.parametrize(("arguments", "env", "line"), CASES)
def test_plain_http_to_another_machine_is_refused(
    cli: CliRunner, tmp_path: Path, arguments: list[str], env: dict[str, str], line: str
) -> None:
    result = cli(*arguments, env=env)

    assert (result.exit_code, result.stderr) == (2, f"error: {line}\n")
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    ("arguments", "env"),
    [
        (["tf-apply", "--workspace", "w", "--tfc-address", "http://127.0.0.1:1"], CLOUD),
        (
            ["deployed-commit", "--environment", "prod", "--github-token", "t"],
            {
                "GITHUB_API_URL": "http://localhost:1",
                "GITHUB_REPOSITORY": "o/r",
                "INPUT_BRANCHES": "release/**",
                "GITHUB_REF_NAME": "release/1",
            },
        ),
    ],
    ids=["tf-apply", "deployed-commit"],
)
def test_plain_http_to_this_machine_is_accepted(
    cli: CliRunner, arguments: list[str], env: dict[str, str]
) -> None:
    """Accepted: the command goes on and fails to connect (nothing listens there), exit 1."""
    result = cli(*arguments, env=env)

    assert result.exit_code == 1, result.stderr
    assert REFUSED not in result.stderr
