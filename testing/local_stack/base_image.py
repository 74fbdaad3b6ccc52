"""The image the tests build FROM: Debian's static busybox, imported into the local engine."""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from testing.local_stack.docker_engine import DOCKERD_VARIABLES, DockerEngine
from testing.local_stack.processes import ServiceError, find_binary, service_environment

BASE_IMAGE_TAG = "toto-test/busybox:local"


@dataclass(frozen=True)
class BaseImage:
    """A local image to build FROM: Debian's static busybox and its applets in /bin."""

    tag: str
    image_id: str


def busybox_rootfs_tar(busybox: Path = Path("/bin/busybox")) -> bytes:
    """A root filesystem as a tar: /bin/busybox, a symlink in /bin for each of its applets
    (sh, ls, cat, echo, ...), and empty /tmp, /etc, /root."""
    applets = subprocess.run(
        [str(busybox), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, mode in (("bin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777)):
            directory = tarfile.TarInfo(name)
            directory.type = tarfile.DIRTYPE
            directory.mode = mode
            archive.addfile(directory)
        binary = tarfile.TarInfo("bin/busybox")
        binary.mode = 0o755
        content = busybox.read_bytes()
        binary.size = len(content)
        archive.addfile(binary, io.BytesIO(content))
        for applet in applets:
            if applet == "busybox":
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            archive.addfile(link)
    return buffer.getvalue()


def _is_dynamically_linked(executable: Path) -> bool:
    """Whether executable needs a dynamic loader (ldd fails on a static one)."""
    return (
        subprocess.run(["ldd", str(executable)], capture_output=True, check=False).returncode == 0
    )


def import_base_image(engine: DockerEngine, tag: str = BASE_IMAGE_TAG) -> BaseImage:
    """`docker import` busybox_rootfs_tar() into engine as tag, with PATH=/bin and /bin/sh as its
    command."""
    busybox = Path("/bin/busybox")
    # A dynamically linked busybox would find no libc in the image.
    if not busybox.is_file() or _is_dynamically_linked(busybox):
        raise ServiceError(f"no static {busybox}: install Debian's busybox-static")
    imported = subprocess.run(
        [
            find_binary("docker", "docker.io"),
            "import",
            "--change=ENV PATH=/bin",
            '--change=CMD ["/bin/sh"]',
            "-",
            tag,
        ],
        input=busybox_rootfs_tar(busybox),
        capture_output=True,
        env={**service_environment(DOCKERD_VARIABLES), **engine.env},
        timeout=120,
        check=False,
    )
    if imported.returncode:
        raise ServiceError(
            f"docker import failed: {imported.stderr.decode(errors='replace')}", engine.log_path
        )
    return BaseImage(tag=tag, image_id=imported.stdout.decode().strip())
