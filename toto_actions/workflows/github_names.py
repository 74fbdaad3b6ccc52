"""Checks of the render settings that name things on GitHub: repositories, owners, refs, paths."""

from __future__ import annotations

import re

from toto_actions.errors import UsageError

_GITHUB_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_GIT_REF = re.compile(r"[A-Za-z0-9._/-]{1,200}")
_RELATIVE_DIR = re.compile(r"[A-Za-z0-9._/-]+")


def listed(value: object, key: str) -> list[str]:
    """A list setting: a YAML list of strings or a comma-separated string."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value]
    raise UsageError(
        f"{key}: expected a list of names or a comma-separated string, found {value!r}"
    )


def service_repositories(value: object) -> tuple[str | None, tuple[str, ...]]:
    """Split `name` and `owner/name` entries; one owner at most, since one app token serves one."""
    if value is None:
        return None, ()
    owners: set[str] = set()
    names: list[str] = []
    for entry in listed(value, "service-repositories"):
        owner, _, name = entry.rpartition("/")
        if (owner and not _GITHUB_OWNER.fullmatch(owner)) or not is_github_name(name):
            raise UsageError(f"service repository {entry!r} is not NAME or OWNER/NAME")
        if owner:
            owners.add(owner)
        names.append(name)
    if len(owners) > 1:
        raise UsageError(
            "service repositories belong to several owners "
            f"({', '.join(sorted(owners))}): one GitHub App token serves one owner"
        )
    return (owners.pop() if owners else None), tuple(dict.fromkeys(names))


def actions_repo(value: object) -> str:
    return repository(value, "actions-repo")


def repository(value: object, what: str) -> str:
    """OWNER/REPO, checked as GitHub names them; UsageError naming `what` otherwise."""
    owner, _, name = value.partition("/") if isinstance(value, str) else ("", "", "")
    if not _GITHUB_OWNER.fullmatch(owner) or not is_github_name(name):
        raise UsageError(f"{what} {value!r} is not OWNER/REPO")
    return f"{owner}/{name}"


def is_github_name(name: str) -> bool:
    return bool(_GITHUB_NAME.fullmatch(name)) and name not in {".", ".."}


def git_ref(value: object) -> str:
    if (
        not isinstance(value, str)
        or not _GIT_REF.fullmatch(value)
        or ".." in value
        or "//" in value
        or value.startswith(("-", "/"))
        or value.endswith(("/", ".", ".lock"))
    ):
        raise UsageError(f"actions-ref {value!r} is not a tag, branch or commit")
    return value


def relative_dir(value: object) -> str:
    if (
        not isinstance(value, str)
        or not _RELATIVE_DIR.fullmatch(value)
        or value.startswith("/")
        or ".." in value.split("/")
    ):
        raise UsageError(f"terraform-dir {value!r} must be a path inside the repository")
    return value.rstrip("/") or "."
