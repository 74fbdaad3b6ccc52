"""images.docker_config: the build's private Docker config, from the runner's (plain logic), and
the file BuildDirectory writes (owner-only, the runner's own file only read).

docker/cli, cli/config/configfile/file.go: a host's login comes from `credHelpers[host]`, else
`credsStore`, else `auths` (GetCredentialsStore, getConfiguredCredentialStore); `auths` keys are
matched by host, a scheme and a path dropped (cli/config/credentials/file_store.go,
ConvertToHostname); Docker Hub's login is filed under `https://index.docker.io/v1/`
(getAuthConfigKey).
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from toto_actions.images import buildkit
from toto_actions.images.docker_config import DOCKER_HUB_KEY, private_config

PUSH = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
LOGIN = {"username": "AWS", "password": "ecr-token"}
OURS = {"auth": "QVdTOmVjci10b2tlbg=="}  # AWS:ecr-token
RUNNER = {
    "auths": {
        "ghcr.io": {"auth": "Z2hjcg=="},
        DOCKER_HUB_KEY: {"auth": "aHVi"},
        f"https://{PUSH}": {"auth": "c3RhbGU="},  # a stale login to the push registry
        f"{PUSH}/v2/": {},
    },
    "credHelpers": {"210987654321.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login", PUSH: "ecr-login"},
    "currentContext": "ci",
    "psFormat": "table {{.ID}}",
}


def test_the_runner_s_logins_are_kept_but_the_push_registry_s() -> None:
    private = private_config(RUNNER, PUSH, LOGIN)
    assert private.document == {
        "auths": {"ghcr.io": {"auth": "Z2hjcg=="}, DOCKER_HUB_KEY: {"auth": "aHVi"}, PUSH: OURS},
        "credHelpers": {"210987654321.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"},
        "currentContext": "ci",
    }
    assert private.warnings == ()


def test_without_a_login_of_its_own_the_push_registry_gets_none_of_the_runner_s() -> None:
    assert private_config(RUNNER, PUSH, None).document["auths"] == {
        "ghcr.io": {"auth": "Z2hjcg=="},
        DOCKER_HUB_KEY: {"auth": "aHVi"},
    }


def test_a_credential_store_is_left_out_with_a_warning() -> None:
    private = private_config({**RUNNER, "credsStore": "desktop"}, PUSH, LOGIN)
    assert "credsStore" not in private.document
    assert private.warnings == (
        "the runner's Docker config keeps logins in the credential store 'desktop' (credsStore), "
        "which docker would ask before the push registry's login: the build leaves it out, so "
        "its pulls from other registries go without the logins only that store holds (use "
        "credHelpers for those registries)",
    )


@pytest.mark.parametrize("host", ["docker.io", "index.docker.io"])
def test_docker_hub_as_the_push_registry_is_filed_under_docker_s_own_key(host: str) -> None:
    assert private_config(RUNNER, host, LOGIN).document["auths"] == {
        "ghcr.io": {"auth": "Z2hjcg=="},
        f"https://{PUSH}": {"auth": "c3RhbGU="},
        f"{PUSH}/v2/": {},
        DOCKER_HUB_KEY: OURS,
    }


def test_nothing_of_the_runner_s_when_it_has_no_config() -> None:
    assert private_config({}, PUSH, LOGIN) == ({"auths": {PUSH: OURS}}, ())


@pytest.fixture
def runner_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "runner-docker"
    directory.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    return directory / "config.json"


def test_the_private_config_is_owner_only_and_the_runner_s_is_only_read(
    runner_config: Path,
) -> None:
    written = json.dumps(RUNNER).encode()
    runner_config.write_bytes(written)
    runner_config.chmod(0o644)
    with buildkit.build_directory() as directory:
        warnings = directory.write_docker_config(PUSH, LOGIN)
        path = directory.docker_config / "config.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(directory.docker_config.stat().st_mode) == 0o700
        assert json.loads(path.read_text())["auths"][PUSH] == OURS
    assert warnings == ()
    assert runner_config.read_bytes() == written
    assert stat.S_IMODE(runner_config.stat().st_mode) == 0o644


def test_an_unreadable_runner_config_is_a_warning_and_the_push_login_only(
    runner_config: Path,
) -> None:
    runner_config.write_text("{not json", encoding="utf-8")
    with buildkit.build_directory() as directory:
        warnings = directory.write_docker_config(PUSH, LOGIN)
        document = json.loads((directory.docker_config / "config.json").read_text())
    assert document == {"auths": {PUSH: OURS}}
    assert warnings == (
        f"{runner_config} cannot be read (not JSON): the build has no login of the runner's",
    )
