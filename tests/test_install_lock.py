"""The locks of actions/install.sh (written by scripts/lock) fit pyproject.toml.

The install itself, with hash checking, is tested in tests/test_install_script.py.
"""

from __future__ import annotations

import tomllib

import pytest

from testing.install_lock import LOCK, REPO_ROOT, UV_LOCK, lock_drift, read_pins

PYPROJECT = REPO_ROOT / "pyproject.toml"


def test_the_lock_was_generated_from_pyproject_toml_as_it_is() -> None:
    problems = lock_drift(PYPROJECT.read_text(encoding="utf-8"), LOCK.read_text(encoding="utf-8"))
    assert problems == [], "run scripts/lock: " + "; ".join(problems)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            '"boto3>=1.34",',
            '"boto3>=1.34",\n    "rich>=13",',
            "rich>=13 is not satisfied by the lock's pin (none)",
        ),
        (
            '"PyYAML>=6.0",',
            '"PyYAML>=7.0",',
            "pyproject.toml says 'dependency: PyYAML>=7.0', the lock not",
        ),
        (
            'requires-python = ">=3.11"',
            'requires-python = ">=3.12"',
            "the lock says 'requires-python: >=3.11', pyproject.toml not",
        ),
        (
            'requires = ["hatchling>=1.21"]',
            'requires = ["hatchling>=1.21", "hatch-vcs"]',
            "pyproject.toml says 'build-system: hatch-vcs', the lock not",
        ),
    ],
)
def test_a_change_of_the_dependencies_without_a_new_lock_is_caught(
    old: str, new: str, problem: str
) -> None:
    pyproject = PYPROJECT.read_text(encoding="utf-8")
    assert old in pyproject
    changed = pyproject.replace(old, new)
    assert problem in lock_drift(changed, LOCK.read_text(encoding="utf-8"))


def test_every_pin_is_exact_and_hashed_and_the_build_backend_is_locked() -> None:
    pins = read_pins(LOCK.read_text(encoding="utf-8"))
    assert len(pins) > 20
    for pin in pins:
        assert pin.hashes, f"{pin.name} has no hash"
        assert all(h.startswith("sha256:") and len(h) == 71 for h in pin.hashes), pin
    assert "hatchling" in {pin.name for pin in pins}  # install.sh builds without isolation


def test_the_bootstrapped_uv_is_the_test_extras_uv_with_hashes() -> None:
    test_extras = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["test"]
    (uv_pin,) = (requirement for requirement in test_extras if requirement.startswith("uv=="))
    (pin,) = read_pins(UV_LOCK.read_text(encoding="utf-8"))
    assert f"{pin.name}=={pin.version}" == uv_pin
    assert len(pin.hashes) > 5  # a wheel per platform
