"""A stand-in docker client with the buildx plugin, for a machine that has none (Debian ships no
buildx): `docker buildx build --push` as buildx's reference describes it, built for real.

Each platform is built by Debian's client with BuildKit built in (`DOCKER_BUILDKIT=1 docker
build --platform P`) into the test engine; the stand-in then pushes what was built as BuildKit's
exporter does: gzip layers and the image config as blobs, one OCI image manifest a platform, and
an OCI image index over them when there are several, under every `--tag`, with the login it finds
in DOCKER_CONFIG. It writes `--metadata-file` with `containerimage.digest`. Flags buildx does not
have are refused as buildx refuses them (`unknown flag`); what it cannot do for real (a cache
exported other than inline, `--load` of several platforms) fails loudly rather than pretending.

As buildx does (docker/buildx build/opt.go, driver/docker/driver.go, cmd/buildx/main.go):
- where the driver makes attestations (docker-container; docker on the containerd image store)
  and `--provenance` is not given, it attaches a provenance attestation manifest
  (`mode=min,inline-only=true`), so even one platform is pushed as an index; `--provenance=false`
  turns it off; BuildKit's attestation storage (moby/buildkit docs/attestations/
  attestation-storage.md) gives its shape;
- the docker driver on the classic image store refuses several platforms, a cache exported
  other than inline and attestations with buildx's own message;
- `--network` takes default, none or host only; `linux/arm64/v8` is `linux/arm64`;
- every error is one `ERROR: ` line on stderr, a failed build's as `ERROR: failed to build: ...`.

Knobs (environment): TOTO_BUILDX_PLATFORMS, what `buildx inspect` lists; TOTO_BUILDX_DRIVER, the
driver it names; TOTO_BUILDX_CONTAINERD_STORE=1, the docker driver's engine keeps its images in
the containerd image store (its worker is labelled with the snapshotter); TOTO_BUILDX_VERSION,
what `buildx version` says (v0.19.3; before v0.10 there is no --provenance or --sbom);
TOTO_BUILDX_LOG, a file that receives each command line as one JSON line.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

import requests

BUILT_IN_CLIENT = "/usr/bin/docker"  # Debian's docker.io: BuildKit built in
VERSION = "Docker version 28.2.2, build e6534b4"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
IN_TOTO = "application/vnd.in-toto+json"
SLSA_PROVENANCE = "https://slsa.dev/provenance/v0.2"
# buildx's worker label for the containerd snapshotter (driver/docker/driver.go, Features).
SNAPSHOTTER_LABEL = "org.mobyproject.buildkit.worker.snapshotter"
NETWORKS = ("default", "none", "host")  # build/opt.go: "" and default, host, none
# build/utils.go notSupported, with the documentation each refusal names (build/opt.go).
NOT_SUPPORTED = (
    "{feature} is not supported for the docker driver.\n"
    "Switch to a different driver, or turn on the containerd image store, and try again.\n"
    "Learn more at {docs}"
)


def write_client(directory: Path) -> Path:
    """A `docker` executable in directory that runs this stand-in; returns its path."""
    root = Path(__file__).resolve().parent.parent
    client = directory / "docker"
    client.write_text(
        f'#!/bin/sh\nPYTHONPATH="{root}" exec "{sys.executable}" -m testing.buildx "$@"\n',
        encoding="utf-8",
    )
    client.chmod(0o755)
    return client


def main(argv: list[str]) -> int:
    log = os.environ.get("TOTO_BUILDX_LOG")
    if log:
        with Path(log).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(argv) + "\n")
    if argv == ["--version"]:
        print(VERSION)
        return 0
    if argv[:1] != ["buildx"]:
        return subprocess.call([BUILT_IN_CLIENT, *argv])
    command = argv[1:2]
    if command == ["version"]:
        print(f"github.com/docker/buildx {_version_text()} 48d6a39")
        return 0
    if command == ["inspect"]:
        platforms = os.environ.get("TOTO_BUILDX_PLATFORMS", "linux/amd64*, linux/arm64*")
        print(f"Name:   stand-in\nDriver: {_driver()}\n\nNodes:\nName:      stand-in0")
        print(f"Status:    running\nPlatforms: {platforms}\nLabels:")
        if _driver() == "docker":
            print("\torg.mobyproject.buildkit.worker.moby.host-gateway-ip:\t172.17.0.1")
        if _makes_attestations():
            print(f"\t{SNAPSHOTTER_LABEL}:\toverlayfs")
        return 0
    if command == ["build"]:
        return _build(argv[2:])
    print(f"ERROR: unknown command: buildx {' '.join(command)}", file=sys.stderr)
    return 1


def _parser() -> argparse.ArgumentParser:
    """The flags of `docker buildx build` this stand-in builds with (buildx's own names)."""
    parser = argparse.ArgumentParser(prog="docker buildx build", add_help=False)
    parser.add_argument("context")
    parser.add_argument("--push", action="store_true")
    parser.add_argument("--load", action="store_true")
    parser.add_argument("--metadata-file")
    parser.add_argument("--progress")
    parser.add_argument("--file", "-f")
    parser.add_argument("--tag", "-t", action="append", default=[])
    for repeated in ("--build-arg", "--label", "--secret", "--ssh", "--cache-from", "--cache-to"):
        parser.add_argument(repeated, action="append", default=[])
    for single in ("--target", "--network", "--platform"):
        parser.add_argument(single)
    if _version() >= (0, 10):
        parser.add_argument("--provenance")
        parser.add_argument("--sbom")
    parser.add_argument("--pull", action="store_true")
    parser.add_argument("--no-cache", action="store_true")
    return parser


def _build(argv: list[str]) -> int:
    options, unknown = _parser().parse_known_args(argv)
    if unknown:
        return _error(f"unknown flag: {unknown[0]}")
    platforms = [_normalized(p) for p in options.platform.split(",")] if options.platform else []
    platforms = list(dict.fromkeys(platforms)) or ["linux/amd64"]
    exported = [spec for spec in options.cache_to if "type=inline" not in spec.split(",")]
    refusal = _refusal(options, platforms, exported)
    if refusal:
        return _error(refusal)
    if exported or (options.load and len(platforms) > 1) or options.load == options.push:
        return _error("the stand-in buildx builds --push, or --load one platform")
    if options.load:
        return _run_build(options, platforms[0], options.tag[0])
    attested = _attested(options)
    as_index = len(platforms) > 1 or attested
    manifests = []
    for platform in platforms:
        local = f"toto-buildx-stand-in/{uuid.uuid4().hex}:build"
        status = _run_build(options, platform, local)
        if status != 0:
            return status
        try:
            image = _push_image(local, options.tag, platform, not as_index)
        finally:
            subprocess.call([BUILT_IN_CLIENT, "rmi", "--force", local], stdout=subprocess.DEVNULL)
        manifests.append(image)
        if attested:
            manifests.append(_push_attestation(options.tag, image))
    descriptor = _push_index(options.tag, manifests) if as_index else manifests[0]
    if options.metadata_file:
        metadata = {
            "containerimage.descriptor": descriptor,
            "containerimage.digest": descriptor["digest"],
            "image.name": ",".join(options.tag),
        }
        Path(options.metadata_file).write_text(json.dumps(metadata), encoding="utf-8")
    return 0


def _version_text() -> str:
    return os.environ.get("TOTO_BUILDX_VERSION", "v0.19.3")


def _version() -> tuple[int, int]:
    major, minor = _version_text().removeprefix("v").split(".")[:2]
    return int(major), int(minor)


def _driver() -> str:
    return os.environ.get("TOTO_BUILDX_DRIVER", "docker-container")


def _makes_attestations() -> bool:
    """Whether the driver has buildx's MultiPlatform feature, which attestations need
    (build/opt.go supportAttestations): docker only on the containerd image store."""
    return _driver() != "docker" or os.environ.get("TOTO_BUILDX_CONTAINERD_STORE") == "1"


def _normalized(platform: str) -> str:
    """containerd's platforms.Normalize, which buildx applies: arm64's v8 is implied."""
    parts = platform.strip().split("/")
    if parts[1:] in (["arm64", "v8"], ["amd64", "v1"]):
        return "/".join(parts[:2])
    return "/".join(parts)


def _asked(value: str | None) -> bool:
    """Whether an attestation flag asks for one: given, and not a false boolean (buildx's
    CanonicalizeAttest)."""
    return value is not None and value.lower() not in {"false", "0", "f"}


def _attested(options: argparse.Namespace) -> bool:
    provenance, sbom = getattr(options, "provenance", None), getattr(options, "sbom", None)
    if not _makes_attestations():
        return False
    default = provenance is None and os.environ.get("BUILDX_NO_DEFAULT_ATTESTATIONS") is None
    return default or _asked(provenance) or _asked(sbom)


def _refusal(options: argparse.Namespace, platforms: list[str], exported: list[str]) -> str | None:
    """buildx's refusal of the request before it builds (build/opt.go, in its order), or None."""
    refusal = (
        None if _makes_attestations() else _docker_driver_refusal(options, platforms, exported)
    )
    if refusal is None and (options.network or "default") not in NETWORKS:
        return (
            f'network mode "{options.network}" not supported by buildkit - you can define a '
            "custom network for your builder using the network driver-opt in buildx create"
        )
    return refusal


def _docker_driver_refusal(
    options: argparse.Namespace, platforms: list[str], exported: list[str]
) -> str | None:
    """What the docker driver on the classic image store refuses (driver/docker/driver.go)."""
    if exported:
        docs = "https://docs.docker.com/go/build-cache-backends/"
        return NOT_SUPPORTED.format(feature="Cache export", docs=docs)
    asked = [getattr(options, name, None) for name in ("provenance", "sbom")]
    if any(_asked(value) for value in asked):
        docs = "https://docs.docker.com/go/attestations/"
        return NOT_SUPPORTED.format(feature="Attestation", docs=docs)
    if len(platforms) > 1:
        docs = "https://docs.docker.com/go/build-multi-platform/"
        return NOT_SUPPORTED.format(feature="Multi-platform build", docs=docs)
    return None


def _error(message: str) -> int:
    """buildx's way out (cmd/buildx/main.go): `ERROR: ` and the message on stderr, exit 1."""
    print(f"ERROR: {message}", file=sys.stderr)
    return 1


def _run_build(options: argparse.Namespace, platform: str, tag: str) -> int:
    """One platform built by the built-in client, its output passed on; its failure ends as
    buildx's does, `ERROR: failed to build: ` and BuildKit's message."""
    environment = {**os.environ, "DOCKER_BUILDKIT": "1"}
    argv = _built_in_build(options, platform, tag)
    last = ""
    with subprocess.Popen(argv, env=environment, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None  # stderr=PIPE
        for line in process.stderr:
            sys.stderr.write(line)
            last = line.strip() or last
        status = process.wait()
    if status == 0:
        return 0
    return _error(f"failed to build: {last.removeprefix('error: ')}")


def _built_in_build(options: argparse.Namespace, platform: str, tag: str) -> list[str]:
    """The Debian client's command line for one platform of the build."""
    argv = [BUILT_IN_CLIENT, "build", "--progress", options.progress or "plain"]
    argv += ["--platform", platform, "--tag", tag]
    if options.file:
        argv += ["--file", options.file]
    for name in ("build_arg", "label", "secret", "ssh"):
        for value in getattr(options, name):
            argv += [f"--{name.replace('_', '-')}", value]
    for spec in options.cache_from:  # type=registry,ref=REF: the built-in client takes REF
        fields = dict(field.partition("=")[::2] for field in spec.split(","))
        argv += ["--cache-from", fields.get("ref", spec)]
    if options.cache_to:
        argv += ["--build-arg", "BUILDKIT_INLINE_CACHE=1"]
    for name in ("target", "network"):
        if getattr(options, name):
            argv += [f"--{name}", getattr(options, name)]
    argv += ["--pull"] if options.pull else []
    argv += ["--no-cache"] if options.no_cache else []
    return [*argv, options.context]


def _push_image(local: str, tags: list[str], platform: str, tagged: bool) -> dict[str, Any]:
    """Push the engine's image local as an OCI image of platform: under the tags when tagged
    (the only platform), else by digest; returns its descriptor."""
    saved = subprocess.run([BUILT_IN_CLIENT, "save", local], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(saved)) as archive:
        (entry,) = json.loads(_member(archive, "manifest.json"))
        config = _member(archive, entry["Config"])
        layers = [gzip.compress(_member(archive, name), 1) for name in entry["Layers"]]
    target = _Target(tags[0])
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": target.put_blob(config, OCI_CONFIG),
        "layers": [target.put_blob(layer, OCI_LAYER) for layer in layers],
    }
    body = json.dumps(manifest).encode()
    digest = _digest(body)
    os_name, architecture, *variant = platform.split("/")
    descriptor: dict[str, Any] = {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body)}
    descriptor["platform"] = {"os": os_name, "architecture": architecture}
    if variant:
        descriptor["platform"]["variant"] = variant[0]
    for reference in [_Target(tag).tag for tag in tags] if tagged else [digest]:
        target.put_manifest(reference, body, OCI_MANIFEST)
    return descriptor


def _push_attestation(tags: list[str], image: dict[str, Any]) -> dict[str, Any]:
    """A provenance attestation manifest for image, pushed by digest, as BuildKit stores it: an
    OCI image manifest whose one layer is an in-toto statement, listed in the index for the
    platform unknown/unknown with the annotations that name the image it describes."""
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": SLSA_PROVENANCE,
        "subject": [{"name": tags[0], "digest": {"sha256": image["digest"].split(":")[1]}}],
        "predicate": {"buildType": "https://mobyproject.org/buildkit@v1", "metadata": {}},
    }
    layer = json.dumps(statement).encode()
    config = json.dumps(
        {"architecture": "unknown", "os": "unknown", "config": {}, "rootfs": {"type": "layers"}}
    ).encode()
    target = _Target(tags[0])
    layer_descriptor = target.put_blob(layer, IN_TOTO)
    layer_descriptor["annotations"] = {"in-toto.io/predicate-type": SLSA_PROVENANCE}
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": target.put_blob(config, OCI_CONFIG),
        "layers": [layer_descriptor],
    }
    body = json.dumps(manifest).encode()
    digest = _digest(body)
    target.put_manifest(digest, body, OCI_MANIFEST)
    return {
        "mediaType": OCI_MANIFEST,
        "digest": digest,
        "size": len(body),
        "annotations": {
            "vnd.docker.reference.digest": image["digest"],
            "vnd.docker.reference.type": "attestation-manifest",
        },
        "platform": {"architecture": "unknown", "os": "unknown"},
    }


def _push_index(tags: list[str], manifests: list[dict[str, Any]]) -> dict[str, Any]:
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
    data = body.encode()
    for tag in tags:
        target = _Target(tag)
        target.put_manifest(target.tag, data, OCI_INDEX)
    return {"mediaType": OCI_INDEX, "digest": _digest(data), "size": len(data)}


class _Target:
    """One pushed reference HOST/REPOSITORY:TAG, with the login DOCKER_CONFIG holds for HOST."""

    def __init__(self, reference: str) -> None:
        name, colon, self.tag = reference.rpartition(":")
        if not colon or "/" in self.tag:
            name, self.tag = reference, "latest"
        self.host, _, self.repository = name.partition("/")
        scheme = "http" if self.host.startswith(("127.", "localhost")) else "https"
        self.base = f"{scheme}://{self.host}/v2/{self.repository}"
        self.auth = _login(self.host)

    def put_blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        digest = _digest(data)
        if requests.head(f"{self.base}/blobs/{digest}", auth=self.auth, timeout=30).ok:
            return {"mediaType": media_type, "digest": digest, "size": len(data)}
        started = requests.post(f"{self.base}/blobs/uploads/", auth=self.auth, timeout=30)
        started.raise_for_status()
        location = started.headers["Location"]
        if location.startswith("/"):
            location = self.base.split("/v2/")[0] + location
        separator = "&" if "?" in location else "?"
        done = requests.put(
            f"{location}{separator}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            auth=self.auth,
            timeout=60,
        )
        done.raise_for_status()
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def put_manifest(self, reference: str, body: bytes, media_type: str) -> None:
        answer = requests.put(
            f"{self.base}/manifests/{reference}",
            data=body,
            headers={"Content-Type": media_type},
            auth=self.auth,
            timeout=30,
        )
        answer.raise_for_status()


def _login(host: str) -> tuple[str, str] | None:
    """The user and password DOCKER_CONFIG's config.json holds for host, as buildx reads it."""
    config = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json"
    try:
        auth = json.loads(config.read_text(encoding="utf-8"))["auths"][host]["auth"]
    except (OSError, ValueError, KeyError):
        return None
    user, _, password = base64.b64decode(auth).decode().partition(":")
    return user, password


def _member(archive: tarfile.TarFile, name: str) -> bytes:
    handle = archive.extractfile(name)
    assert handle is not None, name  # docker save writes regular files
    return handle.read()


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
