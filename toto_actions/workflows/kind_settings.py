"""The render settings only one kind of workflow reads, and the two ways to give environments.

A setting the other kind's workflow never reads would be silently dropped (and then written
into toto.yml as if it meant something), so a render refuses it instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toto_actions.errors import UsageError

# Read by the core workflow only: the sync into the service repositories and how its runs start.
CORE_ONLY = ("service-repositories", "sync-auth", "create-environments", "run-source")
# Read by the microservice workflow only: its image build, its test job and its image repositories.
MICROSERVICE_ONLY = (
    "platforms",
    "image-repository",
    "test-command",
    "context",
    "dockerfile",
    "build-args",
    "target",
)
ONLY_FOR = {"core": CORE_ONLY, "microservice": MICROSERVICE_ONLY}

ENVIRONMENTS = "environments"  # ENV=BRANCH,...;ENV=... or, in toto.yml, a mapping
ENVIRONMENT = "environment"  # ENV=BRANCH,... once per environment (the shell's `;` is no trap)


def refuse_other_kind(kind: str, merged: Mapping[str, Any], given: Mapping[str, object]) -> None:
    """Refuse a setting (a flag, its input or a toto.yml key) that only the other kind reads."""
    for other, keys in ONLY_FOR.items():
        if other == kind:
            continue
        for key in keys:
            if merged.get(key) is not None:
                where = f"--{key}" if key in given else f"{key} (toto.yml)"
                raise UsageError(
                    f"{where} is a setting of the {other} workflow: leave it out of a {kind} render"
                )


def one_environments_form(settings: Mapping[str, Any], source: str) -> dict[str, Any]:
    """settings with `environment` (one ENV=BRANCH,... per environment) turned into the
    `environments` mapping; both given in source (the options, or toto.yml) is refused."""
    if ENVIRONMENT not in settings:
        return dict(settings)
    if settings.get(ENVIRONMENTS) is not None:
        both = (
            "--environments and --environment"
            if source == "options"
            else f"{ENVIRONMENTS} and {ENVIRONMENT} in toto.yml"
        )
        raise UsageError(f"{both} give the environments twice: keep one of them")
    converted = {key: value for key, value in settings.items() if key != ENVIRONMENT}
    converted[ENVIRONMENTS] = _environment_mapping(settings[ENVIRONMENT])
    return converted


def _environment_mapping(value: object) -> dict[str, str]:
    """The environments of repeated `--environment ENV=BRANCH,...` (name and branches pairs) or
    of toto.yml's `environment:` list of ENV=BRANCH,... strings, in their order."""
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, list | tuple):
        raise UsageError(f"environment: expected ENV=BRANCH,... entries, found {value!r}")
    mapping: dict[str, str] = {}
    for entry in entries:
        name, branches = _entry(entry)
        if name in mapping:
            raise UsageError(f"environment {name!r} is given twice")
        mapping[name] = branches
    return mapping


def _entry(entry: object) -> tuple[str, str]:
    if isinstance(entry, tuple) and len(entry) == 2:  # a NAME=VALUE pair of the option
        return str(entry[0]).strip(), str(entry[1])
    if isinstance(entry, str):
        name, equals, branches = entry.partition("=")
        if equals and name.strip():
            return name.strip(), branches
    raise UsageError(f"environment {entry!r} is not ENV=BRANCH[,BRANCH...] (dev=main)")
