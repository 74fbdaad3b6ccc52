"""Toto environments and the branches that deploy to them: parsing, validation, job conditions.

A workflow is triggered by the union of every environment's branch patterns (GitHub applies its
own glob rules there), and each environment's job runs when `github.ref` matches one of its
patterns. GitHub expressions have no glob matching, so a pattern is either an exact branch name
or a prefix followed by one `*` or `**`; `startsWith` then decides exactly, provided no branch can
satisfy two environments' conditions, which `parse_environments` refuses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from toto_actions.errors import UsageError

# Stricter than GitHub's environment names, so the name is also safe in a job id and a group.
_ENVIRONMENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
_BRANCH_PATTERN = re.compile(r"(?P<prefix>[A-Za-z0-9._/-]*)(?P<wildcard>\*\*|\*)?")

MICROSERVICE_DEFAULT = "dev=feature/**,main;prod=release/**"
CORE_DEFAULT = "dev=main;prod=prod"


@dataclass(frozen=True)
class Environment:
    """A Toto environment (also the GitHub environment's name) and its branch patterns."""

    name: str
    branches: tuple[str, ...]
    # The image repository its deploy pushes to (microservice; see image_repositories.py);
    # None until the settings name it, and for the core workflow.
    image_repository: str | None = None

    @property
    def job_condition(self) -> str:
        """The `if:` expression true exactly on a push to one of this environment's branches."""
        return " || ".join(_ref_condition("github.ref", f"refs/heads/{p}") for p in self.branches)

    @property
    def base_condition(self) -> str:
        """The expression true exactly on a pull request into one of this environment's branches
        (github.base_ref is the branch's name, without refs/heads/)."""
        return " || ".join(_ref_condition("github.base_ref", pattern) for pattern in self.branches)

    @property
    def job_suffix(self) -> str:
        """What its jobs' ids end with (deploy-dev): one job of each kind per environment."""
        return f"-{self.name}"

    @property
    def plan_name(self) -> str:
        """The GitHub environment of its pull-request plans and drift checks: no protection
        rules, read-only credentials (see the README)."""
        return f"{self.name}-plan"


def branch_matches(pattern: str, branch: str) -> bool:
    """Whether the branch satisfies the pattern as the job conditions decide it (_ref_condition):
    the branch itself, or for `prefix*` / `prefix**`, any branch that starts with prefix."""
    prefix = pattern.rstrip("*")
    return branch == pattern if prefix == pattern else branch.startswith(prefix)


def parse_patterns(text: str, environment: str) -> tuple[str, ...]:
    """An environment's branch patterns as render writes them (comma-separated), validated."""
    patterns = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not patterns:
        raise UsageError(
            f"environment {environment!r} has no branch pattern: give them comma-separated, as "
            "render writes them (main,feature/**)"
        )
    for pattern in patterns:
        _check_pattern(environment, pattern)
    return patterns


def _ref_condition(context: str, pattern: str) -> str:
    prefix = pattern.rstrip("*")
    if prefix == pattern:
        return f"{context} == '{pattern}'"
    return f"startsWith({context}, '{prefix}')"


def on_events(events: Sequence[str], condition: str) -> str:
    """condition, on one of these events only (github.event_name)."""
    event = " || ".join(f"github.event_name == '{name}'" for name in events)
    return f"({event}) && ({condition})" if len(events) > 1 else f"{event} && ({condition})"


def parse_spec(spec: str) -> dict[str, list[str]]:
    """Parse `dev=main,feature/**;prod=release/**` into {environment: [patterns]}."""
    parsed: dict[str, list[str]] = {}
    for part in filter(None, (piece.strip() for piece in spec.split(";"))):
        name, equals, branches = part.partition("=")
        name = name.strip()
        patterns = [b.strip() for b in branches.split(",") if b.strip()]
        if not equals or not name or not patterns:
            raise UsageError(
                f"environments {spec!r}: {part!r} is not ENV=BRANCH[,BRANCH...] "
                "(example: dev=main,feature/**;prod=release/**)"
            )
        if name.casefold() in (known.casefold() for known in parsed):
            raise UsageError(f"environments {spec!r}: environment {name!r} is given twice")
        parsed[name] = patterns
    if not parsed:
        raise UsageError(
            f"environments {spec!r}: no environment given "
            "(example: dev=main,feature/**;prod=release/**)"
        )
    return parsed


def parse_environments(mapping: Mapping[str, Sequence[str]]) -> tuple[Environment, ...]:
    """Validate {environment: [patterns]} and return the environments in the order given."""
    environments: list[Environment] = []
    for name, patterns in mapping.items():
        if not _ENVIRONMENT_NAME.fullmatch(name):
            raise UsageError(
                f"environment name {name!r} must start with a letter and hold only "
                "letters, digits, '-' and '_' (at most 63)"
            )
        if name.casefold() in (e.name.casefold() for e in environments):
            raise UsageError(f"environment {name!r} is given twice (names are case-insensitive)")
        if not patterns:
            raise UsageError(f"environment {name!r} has no branch")
        for pattern in patterns:
            _check_pattern(name, pattern)
        environments.append(Environment(name, tuple(dict.fromkeys(patterns))))
    _check_no_overlap(environments)
    return tuple(environments)


def _check_pattern(environment: str, pattern: str) -> None:
    match = _BRANCH_PATTERN.fullmatch(pattern)
    valid = (
        match is not None
        and pattern != ""
        and ".." not in pattern
        and "//" not in pattern
        and not pattern.startswith(("/", "-", "."))
        and (match["wildcard"] is not None or not pattern.endswith(("/", ".", ".lock")))
    )
    if not valid:
        raise UsageError(
            f"branch pattern {pattern!r} of environment {environment!r} is not supported: use a "
            "branch name, or a prefix followed by a single * or ** (main, feature/**, release-*)"
        )


def _check_no_overlap(environments: Iterable[Environment]) -> None:
    owners: list[tuple[str, str]] = []
    for environment in environments:
        for pattern in environment.branches:
            for other_pattern, other_environment in owners:
                if other_environment != environment.name and _overlap(pattern, other_pattern):
                    raise UsageError(
                        f"branch patterns {other_pattern!r} ({other_environment}) and {pattern!r} "
                        f"({environment.name}) can match the same branch: a push must deploy to "
                        "one environment"
                    )
            owners.append((pattern, environment.name))


def _overlap(first: str, second: str) -> bool:
    """Whether one branch can satisfy both patterns' job conditions (prefix semantics)."""
    first_prefix, second_prefix = first.rstrip("*"), second.rstrip("*")
    first_is_literal, second_is_literal = first_prefix == first, second_prefix == second
    if first_is_literal and second_is_literal:
        return first == second
    if first_is_literal:
        return first.startswith(second_prefix)
    if second_is_literal:
        return second.startswith(first_prefix)
    return first_prefix.startswith(second_prefix) or second_prefix.startswith(first_prefix)


def trigger_branches(environments: Iterable[Environment]) -> list[str]:
    """Every pattern of every environment, once, in order: the workflow's push filter."""
    return list(dict.fromkeys(p for e in environments for p in e.branches))
