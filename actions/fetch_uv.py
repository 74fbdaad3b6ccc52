"""Fetches the uv that actions/uv-requirements.txt pins, straight from PyPI, for install.sh on a
runner without uv: the wheel for this machine, checked against the lock's sha256 hashes before
anything of it is used, and its `uv` binary written to TARGET/bin/uv.

Standard library only, and about a second faster than `pip install` of the same wheel (pip's
start and resolver). Any failure (no wheel for this machine, another index configured, no
network, a hash that is not the lock's) exits 1 with one line, and install.sh falls back on pip,
which checks the same hashes.

Usage: python -I -S fetch_uv.py UV_REQUIREMENTS TARGET
"""

import hashlib
import io
import json
import os
import platform
import re
import sys
import urllib.request
import zipfile
from pathlib import Path

# PyPI's simple index in its JSON form (PEP 691), as installers read it.
INDEX = "https://pypi.org/simple/uv/"
INDEX_JSON = "application/vnd.pypi.simple.v1+json"
TIMEOUT = 20


def main(lock_path: str, target: str) -> int:
    for variable in ("PIP_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX"):
        if os.environ.get(variable):
            return fail(f"{variable} names another index: leaving the fetch to pip")
    version, hashes = read_lock(lock_path)
    request = urllib.request.Request(INDEX, headers={"Accept": INDEX_JSON})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 - https
        files = json.load(answer)["files"]
    wheels = [
        f
        for f in files
        if f["filename"].startswith(f"uv-{version}-")
        and f.get("hashes", {}).get("sha256") in hashes
        and fits(f["filename"])
    ]
    if not wheels:
        return fail(f"no wheel of uv {version} in the lock fits {platform.machine()}")
    wheel = wheels[0]
    if not str(wheel["url"]).startswith("https://"):
        return fail(f"PyPI lists {wheel['filename']} at a URL that is not https")
    with urllib.request.urlopen(wheel["url"], timeout=TIMEOUT) as answer:  # noqa: S310
        data = answer.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != wheel["hashes"]["sha256"] or digest not in hashes:
        return fail(f"{wheel['filename']} has sha256 {digest}, not the lock's for it")
    member = f"uv-{version}.data/scripts/uv"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        binary = archive.read(member)
    path = Path(target) / "bin" / "uv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(binary)
    path.chmod(0o755)  # an executable, as pip installs it
    return 0


def read_lock(lock_path: str) -> tuple[str, set[str]]:
    """The pinned version and the sha256 hashes the lock lists for it."""
    text = Path(lock_path).read_text(encoding="utf-8")
    pinned = re.search(r"^uv==([^\s;\\]+)", text, re.MULTILINE)
    if pinned is None:
        raise SystemExit(f"fetch_uv: no uv== pin in {lock_path}")
    return pinned.group(1), set(re.findall(r"--hash=sha256:([0-9a-f]{64})", text))


def fits(filename: str) -> bool:
    """Whether a wheel's platform tags fit this machine: Linux with glibc (manylinux no newer
    than this glibc) or macOS, on this machine's architecture."""
    if not filename.endswith(".whl"):
        return False
    tags = filename[: -len(".whl")].rsplit("-", maxsplit=1)[-1].split(".")
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    if sys.platform == "linux":
        libc, libc_version = platform.libc_ver()
        if libc != "glibc":
            return False
        have = tuple(int(part) for part in libc_version.split(".")[:2])
        for tag in tags:
            found = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", tag)
            oldest = (int(found.group(1)), int(found.group(2))) if found else None
            if found and found.group(3) == machine and oldest is not None and oldest <= have:
                return True
        return False
    if sys.platform == "darwin":
        wanted = {"aarch64": "arm64"}.get(machine, machine)
        return any(tag.startswith("macosx_") and tag.endswith(f"_{wanted}") for tag in tags)
    return False


def fail(message: str) -> int:
    print(f"fetch_uv: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1], sys.argv[2]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as problem:
        sys.exit(fail(f"{type(problem).__name__}: {problem}"))
