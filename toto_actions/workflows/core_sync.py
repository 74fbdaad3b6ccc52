"""The core render and toto-secrets.yml, the mapping its sync step reads: the service repositories
it lists (so a render need not be told them twice), and a starting file when there is none.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from toto_actions.errors import UsageError
from toto_actions.github.sync_config import checked_document
from toto_actions.workflows.github_names import service_repositories

SYNC_CONFIG_FILE = "toto-secrets.yml"  # the mapping the core workflow passes to sync-secrets


def listed_repositories(sync_config: Path) -> tuple[str, ...]:
    """The repositories sync_config lists, as NAME or OWNER/NAME (its `owner` added to a bare
    name); none without the file. A file that breaks its schema: UsageError."""
    if not sync_config.is_file():
        return ()
    document = checked_document(sync_config)
    owner = document.get("owner")
    entries = document["repositories"]
    names = (entry if isinstance(entry, str) else entry["name"] for entry in entries)
    return tuple(name if "/" in name or owner is None else f"{owner}/{name}" for name in names)


def core_repositories(given: object, sync_config: Path) -> object:
    """The service repositories of a core render: toto-secrets.yml's when it lists them, which a
    given service-repositories (flag, input or toto.yml) must then name alike; else the given."""
    listed = listed_repositories(sync_config)
    if not listed:
        return given
    if given is None:
        return ",".join(listed)
    given_owner, given_names = service_repositories(given)
    listed_owner, listed_names = service_repositories(",".join(listed))
    owners_differ = given_owner and listed_owner and given_owner.lower() != listed_owner.lower()
    if owners_differ or _folded(given_names) != _folded(listed_names):
        raise UsageError(
            f"service-repositories {', '.join(given_names)} differ from the repositories "
            f"{sync_config.name} lists ({', '.join(listed_names)}): leave service-repositories "
            f"out, {sync_config.name} names them"
        )
    return given


def _folded(names: Sequence[str]) -> set[str]:
    return {name.lower() for name in names}  # GitHub's repository names are case-insensitive


def starting_sync_config(
    owner: str | None, repositories: Sequence[str], scope: str, secrets: Sequence[str]
) -> str:
    """A toto-secrets.yml to start from: every core secret (the Terraform output of its lower-case
    name, as examples/core outputs them) into each service repository (a placeholder without)."""
    lines = ["version: 1"]
    if owner:
        lines.append(f"owner: {owner}")
    lines += [f"scope: {scope}", "repositories:"]
    lines += [f"  - {name}" for name in repositories or ["toto-ms-example  # your services"]]
    if not secrets:
        return "\n".join([*lines, "secrets: {}  # SECRET_NAME: the core's Terraform output"]) + "\n"
    lines.append("secrets:  # SECRET_NAME: the core's Terraform output")
    lines += [f"  {name}: {name.lower()}" for name in secrets]
    return "\n".join(lines) + "\n"
