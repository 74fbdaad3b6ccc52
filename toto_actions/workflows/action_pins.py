"""The third-party actions the templates use, pinned to commits: the vendored action_pins.json.

A tag such as `v4` moves, and whoever can push to the action's repository decides where; a full
commit SHA cannot be moved. With `pin-actions`, every third-party `uses:` names the commit of the
newest release of the major version the template asks for, and that release in a comment (the
form Dependabot and Renovate keep up to date). The table comes from `git ls-remote` on each
action's repository, with the date it was taken; scripts/refresh-action-pins writes it.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import NamedTuple

PINS_FILE = "action_pins.json"
_SHA = re.compile(r"[0-9a-f]{40}")
_VERSION = re.compile(r"v(?P<major>\d+)\.\d+\.\d+")


class ActionPin(NamedTuple):
    """One action's release: `actions/checkout`, `v4.2.2`, and the commit that tag names."""

    action: str
    version: str
    sha: str

    @property
    def uses(self) -> str:
        """The `uses:` value: the commit, with the release in a comment."""
        return f"{self.action}@{self.sha} # {self.version}"


class PinTable(NamedTuple):
    """The vendored table: the date it was taken and a pin per `OWNER/REPO@vMAJOR`."""

    taken: str
    pins: dict[str, ActionPin]


@cache
def pin_table() -> PinTable:
    """The table shipped in the package, checked: each version is vX.Y.Z and each sha a commit."""
    document = json.loads(resources.files("toto_actions.workflows").joinpath(PINS_FILE).read_text())
    pins: dict[str, ActionPin] = {}
    for entry in document["pins"]:
        pin = ActionPin(entry["action"], entry["version"], entry["sha"])
        version = _VERSION.fullmatch(pin.version)
        if version is None or not _SHA.fullmatch(pin.sha):
            raise ValueError(f"{PINS_FILE}: {entry!r} is not a vX.Y.Z release and a commit SHA")
        pins[f"{pin.action}@v{version['major']}"] = pin
    return PinTable(str(document["taken"]), pins)


def pinned(reference: str) -> str:
    """The `uses:` value pinning reference (`actions/checkout@v4`) to its commit. A reference
    the table lacks is a KeyError: the templates and the table are refreshed together."""
    return pin_table().pins[reference].uses
