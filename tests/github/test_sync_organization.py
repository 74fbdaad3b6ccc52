"""Planning an organization-scope sync: the selection changes and GitHub's limits, as plain
values (the CLI tests show them against the stand-in GitHub)."""

from __future__ import annotations

from toto_actions.github.sync_organization import (
    RepositoryFacts,
    organization_limit_problems,
    organization_name,
    plan_organization,
    variables_budget,
    variables_budget_problems,
)
from toto_actions.github.sync_plan import (
    SECRET,
    SELECT,
    UNCHANGED,
    UPDATE,
    VARIABLE,
    DesiredTarget,
    Target,
    TargetContents,
    target_state,
)

TARGET = Target("acme", "dev", organization=True)
BOTH = frozenset({"acme/a", "acme/b"})
IDS = {"acme/a": 1, "acme/b": 2}


def desired(selection: frozenset[str] = BOTH) -> DesiredTarget:
    return DesiredTarget(
        TARGET,
        {"DEV_X": "x"},
        {"DEV_R": "eu-west-1"},
        {(SECRET, "DEV_X"): selection, (VARIABLE, "DEV_R"): selection},
        IDS,
    )


def contents(visibility: str, selection: frozenset[int]) -> TargetContents:
    return TargetContents(
        True,
        {"DEV_X": "2026-01-01T00:00:00Z"},
        {"DEV_R": "eu-west-1"},
        {(SECRET, "DEV_X"): visibility, (VARIABLE, "DEV_R"): visibility},
        {(SECRET, "DEV_X"): selection, (VARIABLE, "DEV_R"): selection}
        if visibility == "selected"
        else {},
    )


def actions(visibility: str, selection: frozenset[int]) -> list[tuple[str, str]]:
    state = target_state(contents(visibility, selection), TARGET.manifest_variable)
    plan = plan_organization(desired(), state, fingerprint_key=None, prune=False)
    return [(c.name, c.action) for c in plan.changes if c.kind == VARIABLE]


def test_a_variable_whose_value_holds_changes_only_its_selection() -> None:
    assert actions("selected", frozenset({1, 2})) == [("DEV_R", UNCHANGED)]
    assert actions("selected", frozenset({1})) == [("DEV_R", SELECT)]
    # Visible to all (or private) repositories: written again, with visibility selected.
    assert actions("all", frozenset()) == [("DEV_R", UPDATE)]


def test_the_names_are_the_environment_and_the_name_upper_case() -> None:
    assert organization_name("dev", "ecs_subnet_1") == "DEV_ECS_SUBNET_1"
    assert TARGET.manifest_variable == "TOTO_SYNC_STATE_DEV"
    assert str(TARGET) == "organization acme (dev)"


def test_a_private_secret_does_not_count_towards_a_public_repositorys_100() -> None:
    others = {f"O{n:03}": "2026-01-01T00:00:00Z" for n in range(100)}
    state = target_state(
        TargetContents(True, others, {}, {(SECRET, name): "private" for name in others}, {}),
        TARGET.manifest_variable,
    )
    plan = plan_organization(desired(), state, fingerprint_key=None, prune=False)
    public = {"acme/a": RepositoryFacts(1, True, "acme/a")}
    private = {"acme/b": RepositoryFacts(2, False, "acme/b")}
    assert organization_limit_problems(plan, public) == []
    assert organization_limit_problems(plan, private) == [
        "acme/b: would reach 101 organization secrets; its workflows read only the first 100 "
        "by name, so some would be missing"
    ]


def test_the_variables_budget_is_the_hosts() -> None:
    """github/docs variables-reference.md: 256 KB per run on GitHub.com (and Enterprise Cloud,
    whose docs are the same version), 10 MB on GitHub Enterprise Server, whose API is
    https://HOST/api/v3. Any other address gets the smaller budget: the safe reading."""
    assert variables_budget("https://api.github.com") == 256 * 1024
    assert variables_budget("https://api.octocorp.ghe.com") == 256 * 1024
    assert variables_budget("https://github.example.com/api/v3") == 10 * 1024 * 1024
    assert variables_budget("https://github.example.com/api/v3/") == 10 * 1024 * 1024


def test_what_reaches_a_repository_counts_towards_its_budget() -> None:
    """Name and value bytes; an organization variable of visibility private reaches a private
    repository only; a selected one the repositories it selects (the plan's, for the sync's)."""
    others = {"PRIVATE_ONLY": "p" * 90, "SELECTS_B": "s" * 90}
    state = target_state(
        TargetContents(
            True,
            {},
            {"DEV_R": "eu-west-1", **others},
            {(VARIABLE, "PRIVATE_ONLY"): "private", (VARIABLE, "SELECTS_B"): "selected"},
            {(VARIABLE, "SELECTS_B"): frozenset({2})},
        ),
        TARGET.manifest_variable,
    )
    plan = plan_organization(desired(), state, fingerprint_key=None, prune=False)
    public = RepositoryFacts(1, True, "acme/a")
    private = RepositoryFacts(2, False, "acme/b")
    facts = {"acme/a": public, "acme/b": private}
    own = {"acme/a": {"OWN": "o" * 100}}
    # acme/a: OWN (103) + DEV_R (14) = 117; acme/b: DEV_R, PRIVATE_ONLY (102), SELECTS_B (99).
    assert variables_budget_problems(plan, facts, own, 215) == []
    assert variables_budget_problems(plan, facts, own, 116) == [
        "acme/a: would get 117 bytes of variables in each workflow run (its own 103, the "
        "organization's 14), more than GitHub's 116 (0 KB): organization variables past it, by "
        "name, would be missing",
        "acme/b: would get 215 bytes of variables in each workflow run (its own 0, the "
        "organization's 215), more than GitHub's 116 (0 KB): organization variables past it, "
        "by name, would be missing",
    ]
    assert [p.split(":")[0] for p in variables_budget_problems(plan, facts, own, 117)] == ["acme/b"]
