"""A registry's v2 HTTP API (the distribution spec), through requests: manifests, tags, blobs.

This is the only module that talks to a registry other than ECR. It reads and writes manifests
only; layers travel through the Docker engine's push. Authentication follows the registries'
challenge flow: a 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...` is answered
with a token from the realm (fetched with the basic credentials, if any), a `Basic` challenge
with the basic credentials. Transient failures (5xx, 429, no connection) are retried.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import requests

from toto_actions.errors import OperationError
from toto_actions.http_retry import RetryPolicy, is_transient, retry_delay
from toto_actions.images.names import (
    MANIFEST_MEDIA_TYPES,
    ImageManifest,
    ImageReference,
    TagMutability,
    cache_tag,
    is_index,
)
from toto_actions.images.registry import RepositorySettings

# Registries on this machine speak plain http, as the Docker engine assumes for them.
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
# Docker Hub's name in image references is not where its API answers.
_API_HOSTS = {"docker.io": "registry-1.docker.io", "index.docker.io": "registry-1.docker.io"}
_TIMEOUT = (10.0, 60.0)  # connect, read
_CHALLENGE_PARAMETER = re.compile(r'(\w+)="([^"]*)"')


class RegistryClient:
    """One registry's v2 API, with the credentials given (or none)."""

    def __init__(
        self,
        host: str,
        username: str | None = None,
        password: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """host: the registry part of an image name (`registry.example.com`, `127.0.0.1:5000`);
        http for loopback hosts, https otherwise. retry: how transient failures are retried."""
        self.host = host
        api_host = _API_HOSTS.get(host, host)
        scheme = "http" if _hostname(api_host) in _LOOPBACK_HOSTS else "https"
        self.base_url = f"{scheme}://{api_host}"
        self._username, self._password = username, password
        self._basic = (username, password or "") if username is not None else None
        self._basic_asked = False  # the registry answered a Basic challenge: send it from now on
        self._tokens: dict[str, str] = {}  # scope -> bearer token
        self._retry = retry or RetryPolicy()
        self._session = requests.Session()
        self._jitter = random.Random()  # noqa: S311 - spreads retries; no secret

    def auth_config(self) -> dict[str, str] | None:
        """The user name and password for the engine's push, when both were given."""
        if self._username and self._password:
            return {"username": self._username, "password": self._password}
        return None

    def tag_mutability(self, repository: str, settings: RepositorySettings) -> TagMutability:
        """Not applicable: a v2 registry lets every tag move."""
        return TagMutability("MUTABLE")

    def ensure_repository(self, repository: str, settings: RepositorySettings) -> bool:
        """Not applicable: the push creates the repository, and a v2 registry keeps no
        lifecycle policy. Always False."""
        return False

    def scan_findings(
        self, repository: str, digest: str, timeout: float, poll_interval: float
    ) -> dict[str, int] | None:
        """Not applicable: the v2 API scans nothing. Always None."""
        return None

    def scans_on_push(self, repository: str) -> bool | None:
        """Not applicable: the v2 API scans nothing. Always None."""
        return None

    def find_image(self, repository: str, tag: str) -> ImageManifest | None:
        """The manifest repository:tag names, exactly as stored, or None when there is none."""
        response = self._manifest("GET", f"get manifest {repository}:{tag}", repository, tag)
        if response is None:
            return None
        body = response.content
        digest = _sha256(body)
        served = response.headers.get("Docker-Content-Digest")
        if served is not None and served != digest:
            raise OperationError(
                f"{self.host}/{repository}:{tag}: the registry says its manifest is {served}, "
                f"but what it served hashes to {digest}"
            )
        manifest = body.decode("utf-8")
        return ImageManifest(manifest, _media_type(response, manifest), digest)

    def put_tags(self, repository: str, image: ImageManifest, tags: Sequence[str]) -> None:
        """Point each tag at image, a manifest already in repository: no layer is sent."""
        for tag in tags:
            response = self._request(
                f"tag {image.digest} as {repository}:{tag}",
                "PUT",
                f"/v2/{repository}/manifests/{tag}",
                repository,
                headers={"Content-Type": image.media_type},
                data=image.manifest.encode("utf-8"),
                push=True,
            )
            stored = response.headers.get("Docker-Content-Digest")
            if stored is not None and stored != image.digest:
                raise OperationError(
                    f"{self.host}/{repository}:{tag} now names {stored}, not {image.digest}"
                )

    def digest_of(self, repository: str, tag: str) -> str | None:
        """The digest repository:tag names (a HEAD request), or None when there is none."""
        response = self._manifest("HEAD", f"look up {repository}:{tag}", repository, tag)
        if response is None:
            return None
        served = response.headers.get("Docker-Content-Digest")
        if served:
            return served
        found = self.find_image(repository, tag)  # a registry that leaves the header out
        return found.digest if found else None

    def cache_source(self, repository: str, branch: str | None) -> str | None:
        """The image build-push's cache tag of the branch names, else its repository-wide one,
        as `host/repository@sha256:...`; None when neither names one."""
        for tag in dict.fromkeys((cache_tag(branch), cache_tag(None))):
            digest = self.digest_of(repository, tag)
            if digest:
                return f"{self.host}/{repository}@{digest}"
        return None

    def mark_cache(self, repository: str, image: ImageManifest, branch: str | None) -> None:
        """Move the branch's cache tag and the repository-wide one to image: on a v2 registry
        every tag may move."""
        self.put_tags(repository, image, tuple(dict.fromkeys((cache_tag(branch), cache_tag(None)))))

    def _manifest(
        self, method: str, what: str, repository: str, tag: str
    ) -> requests.Response | None:
        """GET or HEAD of repository:tag's manifest in any media type; None when it is missing."""
        response = self._request(
            what,
            method,
            f"/v2/{repository}/manifests/{tag}",
            repository,
            headers={"Accept": ", ".join(MANIFEST_MEDIA_TYPES)},
            missing_ok=True,
        )
        return None if response.status_code == 404 else response

    def blob(self, repository: str, digest: str) -> bytes:
        """The blob repository holds under digest (an image's config), checked against the
        digest; an OperationError when it is missing (distribution-spec: pulling blobs)."""
        response = self._request(
            f"get blob {repository}@{digest}", "GET", f"/v2/{repository}/blobs/{digest}", repository
        )
        if _sha256(response.content) != digest:
            raise OperationError(
                f"{self.host}/{repository}: blob {digest} hashes to another digest"
            )
        return response.content

    def tags(self, repository: str, page_size: int = 100) -> list[str]:
        """Every tag of repository (`GET /v2/<name>/tags/list?n=<page_size>`, following the
        `Link: <...>; rel="next"` pages, distribution-spec: listing tags)."""
        found: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list?n={page_size}"
        while path is not None:
            response = self._request(f"list the tags of {repository}", "GET", path, repository)
            found += [str(tag) for tag in (response.json().get("tags") or [])]
            path = _next_page(response.headers.get("Link", ""))
        return found

    def image_size(self, repository: str, image: ImageManifest) -> int | None:
        """Bytes the image takes in the registry: its (compressed) layers and its configuration;
        None (unknown) for an image index or manifest list, whose images may share layers."""
        if is_index(image):
            return None
        manifest = _image_manifest(image)
        layers = sum(int(layer["size"]) for layer in manifest.get("layers", []))
        return layers + int(manifest["config"]["size"])

    def _request(
        self,
        what: str,
        method: str,
        path: str,
        repository: str,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        push: bool = False,
        missing_ok: bool = False,
    ) -> requests.Response:
        """The successful answer (or, when missing_ok, a 404) to one request, authenticated and
        retried; any other failure raises OperationError."""
        scope = f"repository:{repository}:{'pull,push' if push else 'pull'}"
        policy = self._retry
        for attempt in range(1, policy.attempts + 1):
            try:
                response = self._authenticated(_Request(method, path, scope, headers or {}, data))
            except requests.RequestException as failure:
                status, message, answer_headers = None, _connection_problem(failure), {}
            else:
                if response.ok or (response.status_code == 404 and missing_ok):
                    return response
                status, message = response.status_code, _error_message(response)
                answer_headers = dict(response.headers)
                if not is_transient(status, answer_headers, message):
                    raise OperationError(_failure(what, self.host, status, message))
            # The registry's own pacing (Retry-After) wins; else, a 429 too backs off like a 5xx:
            # the minute-long wait of http_retry is GitHub's rule for its secondary limits.
            wait = retry_delay(
                attempt, None, answer_headers, policy=policy, now=time.time(), jitter=self._jitter
            )
            if attempt == policy.attempts or wait is None:
                raise OperationError(_failure(what, self.host, status, message))
            time.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _authenticated(self, request: _Request) -> requests.Response:
        """Send the request; answer an authentication challenge once and send it again."""
        response = self._send(request)
        if response.status_code != 401:
            return response
        challenge = response.headers.get("WWW-Authenticate", "")
        scheme, _, parameters = challenge.partition(" ")
        if scheme.lower() == "bearer":
            challenged = dict(_CHALLENGE_PARAMETER.findall(parameters))
            self._tokens[request.scope] = self._token(challenged, request.scope)
        elif scheme.lower() == "basic" and self._basic is not None and not self._basic_asked:
            self._basic_asked = True
        else:
            return response  # nothing (new) to answer the challenge with: the 401 is the answer
        return self._send(request)

    def _token(self, challenge: Mapping[str, str], scope: str) -> str:
        """A bearer token for scope from the challenge's realm, with the basic credentials."""
        realm = challenge.get("realm")
        if not realm:
            raise OperationError(f"{self.host} asks for a bearer token but names no realm")
        parameters = {"scope": challenge.get("scope") or scope}
        if challenge.get("service"):
            parameters["service"] = challenge["service"]
        response = self._session.get(realm, params=parameters, auth=self._basic, timeout=_TIMEOUT)
        if not response.ok:
            raise OperationError(
                _failure("get a token", self.host, response.status_code, _error_message(response))
            )
        answer = response.json()
        token = answer.get("token") or answer.get("access_token")
        if not token:
            raise OperationError(f"{self.host}: the token service answered without a token")
        return str(token)

    def _send(self, request: _Request) -> requests.Response:
        token = self._tokens.get(request.scope)
        authorization = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return self._session.request(
            request.method,
            self.base_url + request.path,
            headers={**request.headers, **authorization},
            data=request.data,
            auth=self._basic if self._basic_asked and token is None else None,
            timeout=_TIMEOUT,
        )


def reference_digest(
    reference: ImageReference,
    auth_config: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
) -> str | None:
    """The digest reference names: its own when pinned (no request), else that of its tag's
    manifest in its registry (one HEAD accepting an index or an image manifest), asked anonymously
    or with auth_config's user name and password. None when the registry has no such tag; an
    OperationError when it cannot be asked."""
    if reference.digest is not None:
        return reference.digest
    credentials = auth_config or {}
    client = RegistryClient(
        reference.registry, credentials.get("username"), credentials.get("password"), retry
    )
    return client.digest_of(reference.repository, reference.tag or "latest")


class _Request(NamedTuple):
    """One request to the registry, and the token scope it needs."""

    method: str
    path: str
    scope: str
    headers: Mapping[str, str]
    data: bytes | None


def _next_page(link: str) -> str | None:
    """The path of the `rel="next"` page a Link header names (RFC 5988), or None."""
    for part in link.split(","):
        target, _, parameters = part.partition(";")
        if 'rel="next"' in parameters.replace(" ", "") and target.strip().startswith("<"):
            url = urlsplit(target.strip()[1:-1])
            return url.path + (f"?{url.query}" if url.query else "")
    return None


def _hostname(host: str) -> str:
    """host without its port: `127.0.0.1:5000` -> `127.0.0.1`, `[::1]:5000` -> `[::1]`."""
    if host.startswith("["):
        return host[: host.index("]") + 1] if "]" in host else host
    return host.split(":", 1)[0]


def _sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _media_type(response: requests.Response, manifest: str) -> str:
    """The manifest's media type: the Content-Type the registry sent, else the document's own."""
    content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
    if content_type in MANIFEST_MEDIA_TYPES:
        return content_type
    declared = json.loads(manifest).get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    return content_type


def _image_manifest(image: ImageManifest) -> dict[str, Any]:
    """The manifest as JSON, when it describes one image (not an index of several)."""
    document: dict[str, Any] = json.loads(image.manifest)
    if is_index(image) or "config" not in document:
        raise OperationError(
            f"{image.digest} is an index of images ({image.media_type}), not one image"
        )
    return document


def _error_message(response: requests.Response) -> str:
    """The registry's errors (`CODE: message`), else the start of its answer."""
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    described = [
        f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
        for error in errors
        if isinstance(error, dict)
    ]
    if described:
        return "; ".join(described)
    return " ".join(response.text[:200].split()) or response.reason or ""


def _connection_problem(failure: requests.RequestException) -> str:
    cause: BaseException | None = failure
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    return type(failure).__name__


def _failure(what: str, host: str, status: int | None, message: str) -> str:
    return f"{host}: {what}: {status or 'no answer'} {message}".rstrip()
