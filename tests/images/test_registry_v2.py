"""registry_v2 against the session's real registry, with images pushed by the real dockerd.

The bearer-token flow and transient failures are exercised through a stand-in on loopback: a
token service and a gate in front of the real registry, which asks for a token (the challenge of
Docker Hub, GHCR and Harbor), can be told to fail, and forwards everything else.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from testing.images import build_image
from testing.local_stack import DockerEngine as LocalEngine
from testing.local_stack import Registry, free_port, push_index
from toto_actions.errors import OperationError
from toto_actions.http_retry import RetryPolicy
from toto_actions.images.engine import DockerEngine
from toto_actions.images.names import MANIFEST_MEDIA_TYPES, TagMutability, parse_reference
from toto_actions.images.registry import RepositorySettings
from toto_actions.images.registry_v2 import RegistryClient, reference_digest

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_wait=1.0)
REPOSITORY = "toto-test/registry-v2"
USERNAME, PASSWORD = "ci", "s3cret"


@dataclass(frozen=True)
class Pushed:
    repository: str
    tag: str
    digest: str


@pytest.fixture(scope="module")
def pushed(
    docker_engine: LocalEngine, registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Pushed:
    """An image of two layers and two labels, pushed to the registry by the engine."""
    context = tmp_path_factory.mktemp("image")
    (context / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /\nCOPY b.txt /\n")
    (context / "a.txt").write_text("a" * 1000)
    (context / "b.txt").write_text("b")
    engine = DockerEngine(docker_engine.base_url)
    labels = {"org.opencontainers.image.revision": "abc123", "toto.inputs": "sha256:feed"}
    reference = f"{registry.host}/{REPOSITORY}"
    build_image(engine.url, context, f"{reference}:v1", labels=labels)
    digest = engine.push(reference, "v1", None, lambda _: None)
    return Pushed(REPOSITORY, "v1", digest)


@pytest.fixture
def client(registry: Registry) -> RegistryClient:
    return RegistryClient(registry.host, retry=FAST_RETRY)


def registry_tags(registry: Registry, repository: str) -> list[str]:
    answer = requests.get(f"{registry.url}/v2/{repository}/tags/list", timeout=10)
    answer.raise_for_status()
    tags: list[str] = answer.json()["tags"]
    return tags


def stored_blobs(registry: Registry) -> set[Path]:
    return set((registry.root / "storage" / "docker" / "registry" / "v2" / "blobs").rglob("data"))


@pytest.mark.parametrize(
    ("host", "base_url"),
    [
        ("127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("localhost:5000", "http://localhost:5000"),
        ("localhost", "http://localhost"),
        ("[::1]:5000", "http://[::1]:5000"),
        ("registry.example.com", "https://registry.example.com"),
        ("registry.example.com:8443", "https://registry.example.com:8443"),
        ("docker.io", "https://registry-1.docker.io"),
    ],
)
def test_plain_http_only_on_loopback(host: str, base_url: str) -> None:
    assert RegistryClient(host).base_url == base_url


def test_find_image_returns_the_manifest_as_stored(client: RegistryClient, pushed: Pushed) -> None:
    image = client.find_image(pushed.repository, pushed.tag)
    assert image is not None
    assert image.digest == pushed.digest
    assert f"sha256:{hashlib.sha256(image.manifest.encode()).hexdigest()}" == pushed.digest
    assert image.media_type in MANIFEST_MEDIA_TYPES
    assert json.loads(image.manifest)["mediaType"] == image.media_type
    assert client.digest_of(pushed.repository, pushed.tag) == pushed.digest


@pytest.mark.parametrize(
    ("repository", "tag"), [(REPOSITORY, "no-such-tag"), ("toto-test/no-such-repository", "v1")]
)
def test_what_is_missing_is_none(
    client: RegistryClient, pushed: Pushed, repository: str, tag: str
) -> None:
    assert client.find_image(repository, tag) is None
    assert client.digest_of(repository, tag) is None


def test_put_tags_tags_the_manifest_without_sending_layers(
    client: RegistryClient, registry: Registry, pushed: Pushed
) -> None:
    image = client.find_image(pushed.repository, pushed.tag)
    assert image is not None
    blobs_before = stored_blobs(registry)
    client.put_tags(pushed.repository, image, ["1.4.0", "main-abc123"])
    assert {"v1", "1.4.0", "main-abc123"} <= set(registry_tags(registry, pushed.repository))
    assert client.digest_of(pushed.repository, "1.4.0") == pushed.digest
    assert client.find_image(pushed.repository, "main-abc123") == image
    assert stored_blobs(registry) == blobs_before
    client.put_tags(pushed.repository, image, ["1.4.0"])  # again: nothing changes, no error


def test_put_tags_checks_the_digest_the_registry_computes(
    client: RegistryClient, pushed: Pushed
) -> None:
    image = client.find_image(pushed.repository, pushed.tag)
    assert image is not None
    wrong = image._replace(digest="sha256:" + "0" * 64)
    with pytest.raises(OperationError, match=f"now names {pushed.digest}, not sha256:0000"):
        client.put_tags(pushed.repository, wrong, ["mismatch"])


def test_put_tags_of_a_manifest_whose_layers_are_elsewhere_fails(
    client: RegistryClient, pushed: Pushed
) -> None:
    image = client.find_image(pushed.repository, pushed.tag)
    assert image is not None
    with pytest.raises(OperationError) as raised:
        client.put_tags("toto-test/other-repository", image, ["v1"])
    assert "400 MANIFEST_BLOB_UNKNOWN" in str(raised.value)


def test_size_is_the_layers_and_configuration(
    client: RegistryClient, registry: Registry, pushed: Pushed
) -> None:
    image = client.find_image(pushed.repository, pushed.tag)
    assert image is not None
    manifest = json.loads(image.manifest)
    blob_sizes = [
        int(
            requests.head(
                f"{registry.url}/v2/{pushed.repository}/blobs/{descriptor['digest']}", timeout=10
            ).headers["Content-Length"]
        )
        for descriptor in [manifest["config"], *manifest["layers"]]
    ]
    assert len(blob_sizes) == 3
    assert client.image_size(pushed.repository, image) == sum(blob_sizes)


def test_what_a_v2_registry_does_not_have_is_answered_as_not_applicable(
    client: RegistryClient, pushed: Pushed
) -> None:
    assert client.tag_mutability(
        pushed.repository, RepositorySettings("IMMUTABLE", create=False)
    ) == (TagMutability("MUTABLE"))
    assert (
        client.ensure_repository(
            "toto-test/not-there", RepositorySettings("IMMUTABLE", create=False)
        )
        is False
    )
    assert client.scan_findings(pushed.repository, pushed.digest, 1.0, 0.1) is None
    assert client.auth_config() is None
    assert RegistryClient(client.host, USERNAME, PASSWORD).auth_config() == {
        "username": USERNAME,
        "password": PASSWORD,
    }


INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


@pytest.mark.parametrize("media_type", INDEX_MEDIA_TYPES)
def test_an_index_has_no_single_size(
    client: RegistryClient, registry: Registry, pushed: Pushed, media_type: str
) -> None:
    digest = push_index(registry, pushed.repository, "multi-arch", media_type, pushed.tag)

    index = client.find_image(pushed.repository, "multi-arch")

    assert index is not None
    assert (index.media_type, index.digest) == (media_type, digest)
    assert (
        client.image_size(pushed.repository, index) is None
    )  # unknown: its images may share layers, or not


def test_a_registry_that_is_down_fails_after_retries() -> None:
    client = RegistryClient(f"127.0.0.1:{free_port()}", retry=FAST_RETRY)
    with pytest.raises(OperationError) as raised:
        client.find_image(REPOSITORY, "v1")
    assert str(raised.value) == (
        f"{client.host}: get manifest {REPOSITORY}:v1: no answer Connection refused"
    )


# ------------------------------------------------------------------------------------------------
# A token service and gate in front of the real registry


@dataclass
class Gate:
    """What the stand-in saw, and the failures it is told to answer with."""

    host: str
    scheme: str = "Bearer"  # the challenge it answers a request without credentials with
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    fail_next: int = 0
    failures_sent: int = 0


def _gate_handler(gate: Gate, upstream: Registry) -> type[BaseHTTPRequestHandler]:
    expected_basic = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

        def do_GET(self) -> None:
            if self.path.startswith("/token"):
                self._token()
            else:
                self._gate()

        def do_HEAD(self) -> None:
            self._gate()

        def do_PUT(self) -> None:
            self._gate()

        def _token(self) -> None:
            gate.token_requests.append(parse_qs(urlsplit(self.path).query))
            if self.headers.get("Authorization") != expected_basic:
                self._answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad login"}]})
                return
            scope = parse_qs(urlsplit(self.path).query)["scope"][0]
            self._answer(200, {"token": f"token-for {scope}"})

        def _gate(self) -> None:
            challenge = self._challenge()
            if challenge is not None:
                self._answer(
                    401,
                    {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                    {"WWW-Authenticate": challenge},
                )
                return
            if gate.fail_next:
                gate.fail_next -= 1
                gate.failures_sent += 1
                self._answer(503, {"errors": [{"code": "UNAVAILABLE", "message": "busy"}]})
                return
            self._forward()

        def _challenge(self) -> str | None:
            """None when the request carries what the gate asks for, else the challenge."""
            if gate.scheme == "Basic":
                authorized = self.headers.get("Authorization") == expected_basic
                return None if authorized else 'Basic realm="gate"'
            repository = self.path.removeprefix("/v2/").rsplit("/", 2)[0]
            wanted = "pull,push" if self.command == "PUT" else "pull"
            scope = f"repository:{repository}:{wanted}"
            if self.headers.get("Authorization") == f"Bearer token-for {scope}":
                return None
            realm = f"http://{gate.host}/token"
            return f'Bearer realm="{realm}",service="gate",scope="{scope}"'

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {
                name: value
                for name, value in self.headers.items()
                if name in {"Accept", "Content-Type"}
            }
            connection = http.client.HTTPConnection(upstream.host, timeout=10)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                content = answer.read()
            finally:
                connection.close()
            self.send_response(answer.status)
            for name in ("Content-Type", "Docker-Content-Digest", "Content-Length"):
                if answer.getheader(name) is not None:
                    self.send_header(name, answer.getheader(name, ""))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        def _answer(
            self, status: int, document: object, headers: dict[str, str] | None = None
        ) -> None:
            content = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(content)

    return Handler


@pytest.fixture
def gate(registry: Registry) -> Iterator[Gate]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = Gate(host=f"127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _gate_handler(state, registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_bearer_challenge_is_answered_with_a_token(gate: Gate, pushed: Pushed) -> None:
    client = RegistryClient(gate.host, USERNAME, PASSWORD, retry=FAST_RETRY)
    image = client.find_image(pushed.repository, pushed.tag)
    assert image is not None
    assert image.digest == pushed.digest
    client.put_tags(pushed.repository, image, ["through-the-gate"])
    assert client.digest_of(pushed.repository, "through-the-gate") == pushed.digest
    scopes = [request["scope"][0] for request in gate.token_requests]
    # One token per scope, reused: pull for the reads, pull and push for the tag.
    assert scopes == [f"repository:{REPOSITORY}:pull", f"repository:{REPOSITORY}:pull,push"]
    assert all(request["service"] == ["gate"] for request in gate.token_requests)


def test_a_basic_challenge_is_answered_with_the_credentials(gate: Gate, pushed: Pushed) -> None:
    gate.scheme = "Basic"
    client = RegistryClient(gate.host, USERNAME, PASSWORD, retry=FAST_RETRY)
    assert client.digest_of(pushed.repository, pushed.tag) == pushed.digest
    anonymous = RegistryClient(gate.host, retry=FAST_RETRY)
    with pytest.raises(OperationError, match="401 UNAUTHORIZED: authentication required"):
        anonymous.find_image(pushed.repository, pushed.tag)


def test_wrong_credentials_are_one_line(gate: Gate, pushed: Pushed) -> None:
    client = RegistryClient(gate.host, USERNAME, "wrong", retry=FAST_RETRY)
    with pytest.raises(OperationError) as raised:
        client.find_image(pushed.repository, pushed.tag)
    assert str(raised.value) == f"{gate.host}: get a token: 401 UNAUTHORIZED: bad login"


def test_transient_failures_are_retried(gate: Gate, pushed: Pushed) -> None:
    client = RegistryClient(gate.host, USERNAME, PASSWORD, retry=FAST_RETRY)
    gate.fail_next = FAST_RETRY.attempts - 1
    assert client.digest_of(pushed.repository, pushed.tag) == pushed.digest
    assert gate.failures_sent == FAST_RETRY.attempts - 1
    gate.fail_next = FAST_RETRY.attempts
    with pytest.raises(OperationError, match="503 UNAVAILABLE: busy"):
        client.find_image(pushed.repository, pushed.tag)
    gate.fail_next = FAST_RETRY.attempts
    with pytest.raises(OperationError, match="503 Service Unavailable"):  # HEAD: no body
        client.digest_of(pushed.repository, pushed.tag)


# ------------------------------------------------------------------------------------------------
# The digest an image reference names (build-push's base images)


def test_a_reference_names_the_digest_of_its_tag(registry: Registry, pushed: Pushed) -> None:
    reference = parse_reference(f"{registry.host}/{pushed.repository}:{pushed.tag}")
    assert reference_digest(reference, retry=FAST_RETRY) == pushed.digest
    missing = reference._replace(tag="no-such-tag")
    assert reference_digest(missing, retry=FAST_RETRY) is None


def test_a_reference_to_an_index_names_the_index(registry: Registry, pushed: Pushed) -> None:
    index = push_index(
        registry,
        pushed.repository,
        "as-index",
        "application/vnd.oci.image.index.v1+json",
        pushed.tag,
    )
    reference = parse_reference(f"{registry.host}/{pushed.repository}:as-index")
    assert reference_digest(reference, retry=FAST_RETRY) == index != pushed.digest


def test_a_pinned_reference_needs_no_request() -> None:
    pinned = parse_reference(f"127.0.0.1:{free_port()}/base:1@sha256:{'c' * 64}")
    assert reference_digest(pinned, retry=FAST_RETRY) == f"sha256:{'c' * 64}"  # nothing listens


def test_a_reference_behind_a_bearer_challenge_is_asked_with_the_login(
    gate: Gate, pushed: Pushed
) -> None:
    reference = parse_reference(f"{gate.host}/{pushed.repository}:{pushed.tag}")
    login = {"username": USERNAME, "password": PASSWORD, "serveraddress": gate.host}
    assert reference_digest(reference, login, FAST_RETRY) == pushed.digest
    assert [request["scope"][0] for request in gate.token_requests] == [
        f"repository:{REPOSITORY}:pull"
    ]
    with pytest.raises(OperationError, match="get a token: 401 UNAUTHORIZED: bad login"):
        reference_digest(reference, None, FAST_RETRY)
