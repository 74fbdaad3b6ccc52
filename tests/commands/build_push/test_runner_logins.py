"""The build's private DOCKER_CONFIG keeps the runner's logins to other registries.

BuildKit reads every login from DOCKER_CONFIG, for each pull (the 20.10 client with BuildKit
built in hands them to BuildKit through its session; buildx alike). The runner's config.json
holds what `docker login` / docker/login-action / a credential helper put there: a `FROM` on
another registry needs it. docker/cli (cli/config/configfile/file.go, GetCredentialsStore and
getConfiguredCredentialStore) asks `credHelpers[host]`, else `credsStore`, and only then `auths`:
the push registry's own login must therefore win over any helper or store the runner names.

The base image is in the session's private registry (htpasswd): it answers 401 without its login.
The build runs with --pull, so BuildKit asks that registry whatever the engine holds.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests

from testing.credential_helper import write_helper
from testing.local_stack import BaseImage, DockerEngine, Login, Registry
from tests.commands.build_push.conftest import (
    MANIFEST_ACCEPT,
    Service,
    on_registry,
    outputs_of,
    push_private_base,
)
from tests.commands.build_push.test_buildx import Buildx
from tests.conftest import CliResult

BASE_REPOSITORY, BASE_TAG = "runner-base", "1"


def auth_entry(login: Login) -> dict[str, str]:
    """An `auths` entry as `docker login` writes it."""
    return {"auth": base64.b64encode(f"{login.username}:{login.password}".encode()).decode()}


class PrivateBase(NamedTuple):
    registry: Registry  # the session's private registry
    login: Login  # its only user
    reference: str  # HOST/runner-base:1


@pytest.fixture
def private_base(
    private_registry: Registry, engine_client: Any, base_image: BaseImage
) -> PrivateBase:
    """The session's base image in the private registry, and an engine without it by that name."""
    login = private_registry.login
    assert login is not None
    base = push_private_base(
        private_registry, engine_client, base_image, f"{BASE_REPOSITORY}:{BASE_TAG}"
    )
    return PrivateBase(private_registry, login, base)


class RunnerBuild(NamedTuple):
    result: CliResult
    runner_config: Path  # the runner's DOCKER_CONFIG/config.json
    written: bytes  # what the test wrote there
    private_tmp: Path  # the command's TMPDIR, where the build's private directory goes


def build_with_runner_config(
    service: Service,
    runner_config: dict[str, object],
    base: str,
    arguments: list[str],
    env: dict[str, str] | None = None,
) -> RunnerBuild:
    """The service built FROM base with --pull, the runner's DOCKER_CONFIG holding runner_config
    (owner-only, as `docker login` leaves it); HOME and TMPDIR new directories."""
    (service.root / "Dockerfile").write_text(f"FROM {base}\nRUN echo x > /x\n", encoding="utf-8")
    home, private_tmp = service.root.parent / "runner-home", service.root.parent / "tmp"
    (home / ".docker").mkdir(parents=True)
    private_tmp.mkdir()
    config = home / ".docker" / "config.json"
    written = json.dumps(runner_config, indent=1).encode()
    config.write_bytes(written)
    config.chmod(0o600)
    result = service(
        *arguments,
        "--pull",
        "true",
        env={
            **(env or {}),
            "HOME": str(home),
            "DOCKER_CONFIG": str(home / ".docker"),
            "TMPDIR": str(private_tmp),
        },
    )
    return RunnerBuild(result, config, written, private_tmp)


def base_pulls(registry: Registry) -> int:
    """The requests for the base's manifest the registry served (200), but build-push's own."""
    request = re.compile(
        rf'"(?:GET|HEAD) /v2/{BASE_REPOSITORY}/manifests/{BASE_TAG} HTTP/[0-9.]+" 200 '
    )
    lines = registry.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    return sum(1 for line in lines if request.search(line) and "python-requests/" not in line)


def assert_runner_config_untouched_and_no_password_logged(
    build: RunnerBuild, passwords: list[str], engine: DockerEngine, *logs: Path
) -> None:
    assert build.runner_config.read_bytes() == build.written
    assert stat.S_IMODE(build.runner_config.stat().st_mode) == 0o600
    shown = build.result.stdout + build.result.stderr
    shown = re.sub(r"::add-mask::.*\n", "", shown)
    for text in (shown, *(log.read_text(errors="replace") for log in (engine.log_path, *logs))):
        for password in passwords:
            assert password not in text
    assert list(build.private_tmp.iterdir()) == []  # the private DOCKER_CONFIG is gone


@pytest.mark.parametrize("client", ["built-in", "buildx"])
def test_a_base_on_another_registry_is_pulled_with_the_runner_s_login(
    service: Service, registry: Registry, private_base: PrivateBase, client: str
) -> None:
    """Pushed to an open registry, built FROM the private one, whose login only the runner's
    config.json holds (docker/login-action's): today's private config drops it, a 401. With the
    stand-in buildx (testing/buildx.py), Debian's client builds with the same DOCKER_CONFIG."""
    buildx = Buildx(service.root.parent / "buildx") if client == "buildx" else None
    pulls = base_pulls(private_base.registry)
    build = build_with_runner_config(
        service,
        {"auths": {private_base.registry.host: auth_entry(private_base.login)}},
        private_base.reference,
        on_registry(registry, f"toto/runner-login-{client}"),
        env=buildx.env if buildx else None,
    )
    assert build.result.exit_code == 0, build.result.stdout + build.result.stderr
    assert base_pulls(private_base.registry) > pulls
    served = requests.head(
        f"{registry.url}/v2/toto/runner-login-{client}/manifests/0123456",
        headers={"Accept": MANIFEST_ACCEPT + ", application/vnd.oci.image.index.v1+json"},
        timeout=10,
    )
    assert served.headers["Docker-Content-Digest"] == outputs_of(build.result)["digest"]
    logs = [buildx.log] if buildx else []
    assert_runner_config_untouched_and_no_password_logged(
        build, [private_base.login.password], service.engine, *logs
    )


def helpers_on_path(service: Service) -> tuple[Path, dict[str, str]]:
    """A new directory for credential helpers, and the PATH that finds them first."""
    helpers = service.root.parent / "helpers"
    helpers.mkdir()
    return helpers, {"PATH": f"{helpers}{os.pathsep}{os.environ['PATH']}"}


def test_a_credential_helper_of_the_runner_answers_for_its_registry(
    service: Service, registry: Registry, private_base: PrivateBase
) -> None:
    """credHelpers of the runner's config (amazon-ecr-credential-helper, gcloud, ...) stay."""
    host, login = private_base.registry.host, private_base.login
    helpers, env = helpers_on_path(service)
    helper = write_helper(helpers, "toto-runner", {host: login})
    build = build_with_runner_config(
        service,
        {"credHelpers": {host: helper.name}},
        private_base.reference,
        on_registry(registry, "toto/runner-helper"),
        env=env,
    )
    assert build.result.exit_code == 0, build.result.stdout + build.result.stderr
    assert any(host in asked for asked in helper.asked())
    assert_runner_config_untouched_and_no_password_logged(build, [login.password], service.engine)


def test_the_push_registry_s_own_login_wins_over_the_runner_s_store_helper_and_auths(
    service: Service, private_base: PrivateBase
) -> None:
    """The runner names a credsStore and a credHelper for the push registry and holds a stale
    login for it under a legacy key (`http://HOST/v2/`, which docker/cli matches by host,
    cli/config/credentials/file_store.go): each answers a wrong password. The build's private
    config holds none of them for the push registry, leaves the store out and says so."""
    host, login = private_base.registry.host, private_base.login
    stale = Login(login.username, "stale-password-never-logged")
    helpers, env = helpers_on_path(service)
    store = write_helper(helpers, "toto-store", {host: stale})
    wrong = write_helper(helpers, "toto-wrong", {host: stale})
    build = build_with_runner_config(
        service,
        {
            "credsStore": store.name,
            "credHelpers": {host: wrong.name},
            "auths": {f"http://{host}/v2/": auth_entry(stale)},
        },
        private_base.reference,
        [
            *on_registry(private_base.registry, "toto/runner-store"),
            "--registry-username",
            login.username,
            "--registry-password",
            login.password,
        ],
        env=env,
    )
    assert build.result.exit_code == 0, build.result.stdout + build.result.stderr
    assert (store.asked(), wrong.asked()) == ([], [])
    warnings = [line for line in build.result.stderr.splitlines() if line.startswith("warning:")]
    assert (
        "warning: the runner's Docker config keeps logins in the credential store 'toto-store' "
        "(credsStore), which docker would ask before the push registry's login: the build leaves "
        "it out, so its pulls from other registries go without the logins only that store holds "
        "(use credHelpers for those registries)"
    ) in warnings
    assert_runner_config_untouched_and_no_password_logged(
        build, [login.password, stale.password], service.engine
    )
