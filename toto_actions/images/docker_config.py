"""The registry logins of a build's private Docker config (plain logic): the runner's own, the
push registry's over them.

BuildKit reads every login from DOCKER_CONFIG, for each pull as for the push: the private config
starts from a copy of the runner's `auths` and `credHelpers` (a `FROM` on GHCR or another ECR
account, a Docker Hub login made by docker/login-action), without any entry for the push
registry, whose login is build-push's own and goes under `auths`. docker/cli takes a host's login
from `credHelpers[host]`, else from `credsStore`, and only then from `auths`
(cli/config/configfile/file.go, GetCredentialsStore and getConfiguredCredentialStore): a
`credsStore` would answer for the push registry too, so it is left out, with a warning. The
runner's file is only read.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

# The key docker/cli files Docker Hub's login under (getAuthConfigKey).
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io"})


class PrivateConfig(NamedTuple):
    """The document of a build's config.json, and what the user should hear about it."""

    document: dict[str, object]
    warnings: tuple[str, ...]


def read_runner_config(directory: Path) -> tuple[dict[str, object], tuple[str, ...]]:
    """The runner's config.json in directory ({} when there is none), and a warning when it
    cannot be read (the build then has the push registry's login only)."""
    path = directory / "config.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, ()
    except (OSError, ValueError) as problem:
        reason = problem.strerror if isinstance(problem, OSError) else "not JSON"
        return {}, (f"{path} cannot be read ({reason}): the build has no login of the runner's",)
    if not isinstance(document, dict):
        return {}, (f"{path} is not a JSON object: the build has no login of the runner's",)
    return document, ()


def private_config(
    runner: Mapping[str, object], host: str, auth: Mapping[str, str] | None
) -> PrivateConfig:
    """The build's config.json: runner's `auths` and `credHelpers` but for host's, host's login
    (auth: username and password; None: none) under `auths`, runner's `currentContext`."""
    auths: dict[str, object] = {
        key: entry
        for key, entry in _mapping(runner.get("auths")).items()
        if _registry(key) != _registry(host)
    }
    if auth is not None:
        token = f"{auth['username']}:{auth['password']}".encode()
        auths[_auth_key(host)] = {"auth": base64.b64encode(token).decode("ascii")}
    document: dict[str, object] = {"auths": auths}
    helpers = {
        key: helper
        for key, helper in _mapping(runner.get("credHelpers")).items()
        if isinstance(helper, str) and _registry(key) != _registry(host)
    }
    if helpers:
        document["credHelpers"] = helpers
    context = runner.get("currentContext")
    if isinstance(context, str) and context:
        document["currentContext"] = context
    store = runner.get("credsStore")
    warnings = () if not store else (_store_left_out(str(store)),)
    return PrivateConfig(document, warnings)


def _store_left_out(store: str) -> str:
    return (
        f"the runner's Docker config keeps logins in the credential store {store!r} (credsStore), "
        "which docker would ask before the push registry's login: the build leaves it out, so "
        "its pulls from other registries go without the logins only that store holds (use "
        "credHelpers for those registries)"
    )


def _mapping(value: object) -> dict[str, object]:
    return {str(key): item for key, item in value.items()} if isinstance(value, dict) else {}


def _registry(key: str) -> str:
    """The registry host a config key names, as docker/cli matches them (ConvertToHostname in
    cli/config/credentials/file_store.go: a scheme and a path dropped); Docker Hub's names are
    one."""
    host = key.split("://", 1)[-1].split("/", 1)[0].lower()
    return "index.docker.io" if host in _DOCKER_HUB_HOSTS else host


def _auth_key(host: str) -> str:
    return DOCKER_HUB_KEY if _registry(host) == "index.docker.io" else host
