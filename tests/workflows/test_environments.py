"""Environment specs, branch patterns and the job conditions derived from them."""

from __future__ import annotations

import pytest

from toto_actions.errors import UsageError
from toto_actions.workflows.environments import (
    Environment,
    on_events,
    parse_environments,
    parse_spec,
    trigger_branches,
)


def test_a_spec_parses_in_order() -> None:
    assert parse_spec(" dev = main, feature/** ; prod=release/** ;") == {
        "dev": ["main", "feature/**"],
        "prod": ["release/**"],
    }


def test_job_conditions_match_names_exactly_and_wildcards_by_prefix() -> None:
    dev = Environment("dev", ("main", "feature/**", "hotfix-*"))
    assert dev.job_condition == (
        "github.ref == 'refs/heads/main' || startsWith(github.ref, 'refs/heads/feature/')"
        " || startsWith(github.ref, 'refs/heads/hotfix-')"
    )


def test_pull_request_conditions_match_the_base_branch_without_refs_heads() -> None:
    dev = Environment("dev", ("main", "feature/**", "hotfix-*"))
    assert dev.base_condition == (
        "github.base_ref == 'main' || startsWith(github.base_ref, 'feature/')"
        " || startsWith(github.base_ref, 'hotfix-')"
    )
    assert dev.plan_name == "dev-plan"


def test_a_condition_on_events_keeps_its_alternatives_together() -> None:
    assert (
        on_events(["pull_request"], "a || b") == "github.event_name == 'pull_request' && (a || b)"
    )
    assert on_events(["push", "workflow_dispatch"], "a || b") == (
        "(github.event_name == 'push' || github.event_name == 'workflow_dispatch') && (a || b)"
    )


def test_the_trigger_is_every_pattern_once() -> None:
    environments = parse_environments(
        {"dev": ["main", "feature/**"], "qa": ["qa", "qa-*"], "prod": ["release/**"]}
    )
    assert trigger_branches(environments) == ["main", "feature/**", "qa", "qa-*", "release/**"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "dev",
            "environments 'dev': 'dev' is not ENV=BRANCH[,BRANCH...] "
            "(example: dev=main,feature/**;prod=release/**)",
        ),
        (
            "dev=",
            "environments 'dev=': 'dev=' is not ENV=BRANCH[,BRANCH...] "
            "(example: dev=main,feature/**;prod=release/**)",
        ),
        (
            ";",
            "environments ';': no environment given (example: dev=main,feature/**;prod=release/**)",
        ),
        ("dev=main;dev=next", "environments 'dev=main;dev=next': environment 'dev' is given twice"),
    ],
)
def test_a_spec_that_does_not_parse(spec: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_spec(spec)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "pattern",
    [
        "feature/*/wip",
        "v[0-9]",
        "!main",
        "main?",
        "a..b",
        "/main",
        "-x",
        "*main",
        "release/",
        "x.lock",
        "",
    ],
)
def test_patterns_the_conditions_cannot_express_exactly_are_refused(pattern: str) -> None:
    with pytest.raises(UsageError, match="is not supported"):
        parse_environments({"dev": [pattern]})


@pytest.mark.parametrize(
    ("mapping", "first", "second"),
    [
        ({"dev": ["main"], "prod": ["main"]}, "'main' (dev)", "'main' (prod)"),
        (
            {"dev": ["release/**"], "prod": ["release/*"]},
            "'release/**' (dev)",
            "'release/*' (prod)",
        ),
        ({"dev": ["release-*"], "prod": ["release-1"]}, "'release-*' (dev)", "'release-1' (prod)"),
        ({"dev": ["rel*"], "prod": ["release/**"]}, "'rel*' (dev)", "'release/**' (prod)"),
    ],
)
def test_two_environments_cannot_claim_one_branch(
    mapping: dict[str, list[str]], first: str, second: str
) -> None:
    with pytest.raises(UsageError) as raised:
        parse_environments(mapping)
    assert str(raised.value) == (
        f"branch patterns {first} and {second} can match the same "
        "branch: a push must deploy to one environment"
    )


def test_disjoint_prefixes_are_accepted() -> None:
    environments = parse_environments({"dev": ["main", "feature/**"], "prod": ["release/**"]})
    assert [e.name for e in environments] == ["dev", "prod"]


@pytest.mark.parametrize("name", ["1dev", "dev env", "dév", "a" * 64])
def test_environment_names_are_checked(name: str) -> None:
    with pytest.raises(UsageError, match="must start with a letter"):
        parse_environments({name: ["main"]})
