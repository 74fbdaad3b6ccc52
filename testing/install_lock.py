"""The locks that actions/install.sh installs from (written by scripts/lock), read back for tests:
the pins with their hashes, and the pyproject.toml entries the lock's header says it came from."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, NamedTuple

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO_ROOT = Path(__file__).resolve().parent.parent
LOCK = REPO_ROOT / "actions" / "requirements.txt"
UV_LOCK = REPO_ROOT / "actions" / "uv-requirements.txt"
_INPUTS_TITLE = "Generated from pyproject.toml:"


class Pin(NamedTuple):
    name: str  # canonical: lower case, hyphens
    version: Version
    marker: Marker | None
    hashes: tuple[str, ...]

    def applies_here(self) -> bool:
        """Whether an install on this interpreter and platform selects this pin."""
        return self.marker is None or self.marker.evaluate()


def read_pins(text: str) -> list[Pin]:
    """The `name==version [; marker]` entries of a hashed requirements file, with their hashes
    (continuation lines joined; comments dropped)."""
    entries: list[str] = []
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].strip()
        if not stripped:
            continue
        if line.startswith((" ", "\t")) and entries:
            entries[-1] += " " + stripped
        else:
            entries.append(stripped)
    pins = []
    for entry in entries:
        words = entry.replace("\\", " ").split()
        hashes = tuple(word.removeprefix("--hash=") for word in words if word.startswith("--"))
        requirement = Requirement(" ".join(word for word in words if not word.startswith("--")))
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{entry}: not pinned with =="
        pins.append(
            Pin(
                canonicalize_name(requirement.name),
                Version(specifier.version),
                requirement.marker,
                hashes,
            )
        )
    return pins


def recorded_inputs(text: str) -> list[str]:
    """The lines of the lock's header under 'Generated from pyproject.toml:'."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith(_INPUTS_TITLE)) + 1
    inputs = []
    for line in lines[start:]:
        if not line.startswith("#   "):
            break
        inputs.append(line.removeprefix("#   "))
    return inputs


def expected_inputs(pyproject: dict[str, Any]) -> list[str]:
    """What scripts/lock records for this pyproject.toml (in the same order)."""
    project, build = pyproject["project"], pyproject["build-system"]
    return [
        f"requires-python: {project['requires-python']}",
        *(f"dependency: {requirement}" for requirement in project["dependencies"]),
        *(f"build-system: {requirement}" for requirement in build["requires"]),
    ]


def lock_drift(pyproject_text: str, lock_text: str) -> list[str]:
    """Why the lock does not fit pyproject.toml (empty when it does): an input recorded
    differently, or a requirement that no pin satisfies."""
    pyproject = tomllib.loads(pyproject_text)
    expected, recorded = expected_inputs(pyproject), recorded_inputs(lock_text)
    problems = [
        f"pyproject.toml says {line!r}, the lock not" for line in expected if line not in recorded
    ]
    problems += [
        f"the lock says {line!r}, pyproject.toml not" for line in recorded if line not in expected
    ]
    pins = {pin.name: pin for pin in read_pins(lock_text)}
    for line in expected[1:]:
        requirement = Requirement(line.split(": ", 1)[1])
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None or pin.version not in requirement.specifier:
            found = "none" if pin is None else str(pin.version)
            problems.append(f"{requirement} is not satisfied by the lock's pin ({found})")
    return problems
