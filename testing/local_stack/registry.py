"""The CNCF distribution registry of the local stack, and what the tests push to it directly.

run_registry() serves without authentication; run_registry(login=Login(...)) serves only to that
user (htpasswd, bcrypt), answering anyone else with a Basic challenge."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import requests
import yaml

from testing.local_stack.processes import (
    Daemon,
    find_binary,
    run_http_service,
    service_environment,
)

# Variables of the test run's environment that would change what the registry does.
_REGISTRY_VARIABLES = ("REGISTRY_",)
# The manifest of one image, as Docker and OCI spell its media type.
IMAGE_MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)


@dataclass(frozen=True)
class Login:
    """A user name and password of a registry with htpasswd authentication."""

    username: str
    password: str

    @property
    def basic(self) -> tuple[str, str]:
        """For requests' auth=."""
        return (self.username, self.password)


@dataclass(frozen=True)
class Registry:
    """A running CNCF distribution registry (v2 API) over plain http, without authentication
    unless it has a login."""

    host: str  # 127.0.0.1:PORT, the registry part of an image name
    root: Path  # its storage and configuration
    log_path: Path
    started_in: float
    login: Login | None = None  # the only user it serves; None: anyone

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def logs(self) -> dict[str, Path]:
        return {"docker-registry": self.log_path}


def _registry_config(storage: Path, port: int, htpasswd: Path | None) -> dict[str, object]:
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "info"},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": f"127.0.0.1:{port}", "headers": {"X-Content-Type-Options": ["nosniff"]}},
    }
    if htpasswd is not None:
        config["auth"] = {"htpasswd": {"realm": "toto-test-registry", "path": str(htpasswd)}}
    return config


def write_htpasswd(path: Path, login: Login) -> None:
    """An htpasswd file holding login, its password hashed with bcrypt (the only scheme the
    distribution registry reads); owner-only."""
    hashed = bcrypt.hashpw(login.password.encode(), bcrypt.gensalt(rounds=5)).decode("ascii")
    path.write_text(f"{login.username}:{hashed}\n", encoding="utf-8")
    path.chmod(0o600)


@contextmanager
def run_registry(login: Login | None = None) -> Iterator[Registry]:
    """Start docker-registry on a free loopback port with filesystem storage in a new temporary
    directory and deletes enabled; yield it once /v2/ answers; stop it and remove the directory.

    login: serve only this user (htpasswd auth, bcrypt); /v2/ then answers 401 until it is given.
    """
    binary = find_binary("docker-registry", "docker-registry")
    root = Path(tempfile.mkdtemp(prefix="toto-registry-"))
    log_path = root / "registry.log"
    htpasswd = None if login is None else root / "htpasswd"
    if htpasswd is not None and login is not None:
        write_htpasswd(htpasswd, login)

    def start(port: int) -> Daemon:
        config = root / "config.yml"
        config.write_text(yaml.safe_dump(_registry_config(root / "storage", port, htpasswd)))
        return Daemon(
            "docker-registry",
            [binary, "serve", str(config)],
            log_path,
            service_environment(_REGISTRY_VARIABLES),
        )

    with run_http_service(root, start, "/v2/") as started:
        yield Registry(
            host=f"127.0.0.1:{started.port}",
            root=root,
            log_path=log_path,
            started_in=started.started_in,
            login=login,
        )


def sha256_digest(data: bytes) -> str:
    """The OCI digest of data: sha256:<hex>."""
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def push_index(registry: Registry, repository: str, tag: str, media_type: str, image: str) -> str:
    """PUT an image index (OCI) or manifest list (Docker) of one image already in repository,
    for linux/amd64, as repository:tag; return its digest."""
    manifest = requests.get(
        f"{registry.url}/v2/{repository}/manifests/{image}",
        headers={"Accept": ", ".join(IMAGE_MANIFEST_TYPES)},
        timeout=10,
    )
    manifest.raise_for_status()
    index = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [
            {
                "mediaType": manifest.headers["Content-Type"],
                "digest": manifest.headers["Docker-Content-Digest"],
                "size": len(manifest.content),
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }
    answer = requests.put(
        f"{registry.url}/v2/{repository}/manifests/{tag}",
        data=json.dumps(index).encode(),
        headers={"Content-Type": media_type},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return answer.headers["Docker-Content-Digest"]
