"""Planning a sync into organization secrets and variables (`scope: organization`).

Each mapped NAME becomes `<ENVIRONMENT>_<NAME>` of the organization, with visibility selected
and exactly the repositories that map it selected, so a first sync is one write per output
whatever the number of repositories. What organization scope gives up is guarded here: such a
secret reaches every workflow of the selected repositories, pull requests included, so a
sensitive output needs `allow-sensitive`; and a workflow reads only the first 100 organization
secrets by name, so no repository may be left seeing more. Plain values in and out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

from toto_actions.errors import UsageError
from toto_actions.github.sync_config import SyncConfig, name_problem
from toto_actions.github.sync_plan import (
    DELETE,
    MANIFEST_VARIABLE,
    MAX_VALUE_BYTES,
    SECRET,
    SELECT,
    UNCHANGED,
    UPDATE,
    VARIABLE,
    Change,
    DesiredTarget,
    Entry,
    Kind,
    ManagedSecret,
    Manifest,
    Target,
    TargetPlan,
    TargetState,
    plan_target,
    resolve,
)
from toto_actions.terraform.outputs import TerraformOutput

MAX_ORGANIZATION_SECRETS = 1000
MAX_ORGANIZATION_VARIABLES = 1000
# "If the repository is assigned access to more than 100 organization secrets, the workflow can
# only use the first 100 organization secrets (sorted alphabetically by secret name)."
MAX_VISIBLE_SECRETS = 100


# github/docs, "Using secrets in GitHub Actions": "Organization-level secrets and variables are
# not accessible by private repositories for GitHub Free." (`plan.name` of GET /orgs/{org})
FREE_PLAN = "free"
# github/docs, variables-reference.md, "Limits for configuration variables": "The total combined
# size limit for organization and repository variables is 256 KB per workflow run" (10 MB on
# GitHub Enterprise Server); past it, organization variables are dropped, by name.
VARIABLES_BUDGET = 256 * 1024
GHES_VARIABLES_BUDGET = 10 * 1024 * 1024


class RepositoryFacts(NamedTuple):
    id: int
    public: bool  # an organization secret of visibility private does not reach it
    full_name: str  # as GitHub names it now: a renamed or transferred one answers the old name


def organization_name(environment: str, name: str) -> str:
    """The organization secret or variable that holds NAME for the environment."""
    return f"{environment}_{name}".upper()


def organization_target(config: SyncConfig, environment: str, source: str) -> Target:
    """The organization the configured repositories belong to: one, as their secrets are its."""
    owners = sorted({r.full_name.split("/")[0].lower() for r in config.repositories})
    if len(owners) > 1:
        raise UsageError(
            f"{source}: scope organization writes one organization's secrets, but the "
            f"repositories belong to {', '.join(owners)}"
        )
    login = config.repositories[0].full_name.split("/")[0]
    return Target(login, environment, organization=True, state_name=config.state_name)


def desired_organization(
    config: SyncConfig, outputs: Mapping[str, TerraformOutput], target: Target, source: str
) -> DesiredTarget:
    """What the organization must hold for the environment (repository ids still to be filled
    in: with_repository_ids), or raise with every problem."""
    environment = target.environment or ""
    problems: list[str] = []
    values: dict[Kind, dict[str, str]] = {}
    selections: dict[Entry, frozenset[str]] = {}
    for kind in (SECRET, VARIABLE):
        mappings = _mappings(problems, config, kind, environment, source)
        outputs_of = {name: output for name, (output, _) in mappings.items()}
        values[kind] = resolve(problems, target, kind, outputs_of, outputs)
        for name, (output_name, repositories) in mappings.items():
            selections[(kind, name)] = repositories
            output = outputs.get(output_name)
            sensitive = output is not None and output.sensitive
            if kind == SECRET and sensitive and output_name not in config.allow_sensitive:
                problems.append(_sensitive(target, name, output_name, source))
            if name.startswith(MANIFEST_VARIABLE):
                problems.append(
                    f"{target}: {kind} {name}: {MANIFEST_VARIABLE}_* are the syncs' own"
                )
    problems += [
        f"{source}: allow-sensitive: {name!r} is not in the Terraform outputs"
        for name in sorted(config.allow_sensitive - outputs.keys())
    ]
    if problems:
        raise UsageError("\n".join(dict.fromkeys(problems)))
    return DesiredTarget(target, values[SECRET], values[VARIABLE], selections)


def _mappings(
    problems: list[str], config: SyncConfig, kind: Kind, environment: str, source: str
) -> dict[str, tuple[str, frozenset[str]]]:
    """Organization NAME -> (its output, the repositories that map it). One organization secret
    holds one value: a repository mapping the NAME to another output cannot hold."""
    found: dict[str, tuple[str, str, set[str]]] = {}  # NAME -> output, first repo, repos
    for repository in config.repositories:
        mapping = repository.secrets if kind == SECRET else repository.variables
        for name, output in mapping.items():
            prefixed = organization_name(environment, name)
            problem = name_problem(prefixed)
            if problem:
                problems.append(f"{source}: {kind} {name} in environment {environment}: {problem}")
                continue
            first = found.setdefault(prefixed, (output, repository.full_name, set()))
            if first[0] != output:
                problems.append(
                    f"{source}: {kind} {name} is output {output!r} for {repository.full_name} "
                    f"but {first[0]!r} for {first[1]}: an organization {kind} holds one value "
                    "for every repository (scope organization)"
                )
            first[2].add(repository.full_name.lower())
    return {name: (output, frozenset(repos)) for name, (output, _, repos) in found.items()}


def _sensitive(target: Target, name: str, output: str, source: str) -> str:
    return (
        f"{target}: secret {name}: output {output!r} is sensitive, and an organization secret "
        "reaches every workflow of the selected repositories, pull requests included: list it "
        f"under allow-sensitive in {source} to sync it anyway, or use scope environment"
    )


def with_repository_ids(
    desired: DesiredTarget, facts: Mapping[str, RepositoryFacts]
) -> DesiredTarget:
    """The desired target with the ids its writes select (facts by lower-case full name)."""
    return desired._replace(repository_ids={name: f.id for name, f in facts.items()})


def free_plan_problem(
    plan: str | None, desired: DesiredTarget, facts: Mapping[str, RepositoryFacts]
) -> str | None:
    """One line when the organization is on GitHub Free and the sync would select a repository
    that is not public (private, or internal): its workflows would read the values empty."""
    if plan != FREE_PLAN:
        return None
    selected = {name for names in desired.selections.values() for name in names}
    hidden = sorted(f.full_name for name, f in facts.items() if name in selected and not f.public)
    if not hidden:
        return None
    return (
        f"organization {desired.target.repository} is on GitHub's {plan} plan, where "
        "organization secrets and variables do not reach private repositories: "
        f"{', '.join(hidden)} would read them empty (make them public, move the organization "
        "to a paid plan, or sync with scope environment or repository)"
    )


def plan_organization(
    desired: DesiredTarget, state: TargetState, fingerprint_key: str | None, prune: bool
) -> TargetPlan:
    """The target's plan, where an entry whose value holds but whose repositories differ only
    has its selection set, and one whose visibility is not `selected` is written again."""
    plan = plan_target(desired, state, fingerprint_key, prune)
    return plan._replace(changes=tuple(_selected(c, desired, state) for c in plan.changes))


def _selected(change: Change, desired: DesiredTarget, state: TargetState) -> Change:
    if change.action != UNCHANGED:
        return change
    entry = (change.kind, change.name)
    if state.visibilities.get(entry) != "selected":
        return change._replace(action=UPDATE)
    if state.selections.get(entry, frozenset()) != desired.selected_id_set(entry):
        return change._replace(action=SELECT)
    return change


def organization_limit_problems(
    plan: TargetPlan, facts: Mapping[str, RepositoryFacts]
) -> list[str]:
    """GitHub's limits, as the organization will be after the plan: 1,000 secrets, 1,000
    variables, and no configured repository reaching more than 100 organization secrets."""
    deleted = {(c.kind, c.name) for c in plan.changes if c.action == DELETE}
    state, desired = plan.state, plan.desired
    secrets = {*state.secrets, *desired.secrets} - {n for k, n in deleted if k == SECRET}
    variables = {*state.variables, *desired.variables, plan.target.manifest_variable}
    variables -= {n for k, n in deleted if k == VARIABLE}
    problems = [
        f"{plan.target}: the organization would hold {count} {what}, more than GitHub's {most}"
        for count, what, most in (
            (len(secrets), "secrets", MAX_ORGANIZATION_SECRETS),
            (len(variables), "variables", MAX_ORGANIZATION_VARIABLES),
        )
        if count > most
    ]
    problems += _state_problems(plan)
    for repository, fact in sorted(facts.items()):
        seen = sum(1 for name in secrets if _reaches(plan, SECRET, name, repository, fact))
        if seen > MAX_VISIBLE_SECRETS:
            problems.append(
                f"{repository}: would reach {seen} organization secrets; its workflows read "
                f"only the first {MAX_VISIBLE_SECRETS} by name, so some would be missing"
            )
    return problems


def _state_problems(plan: TargetPlan) -> list[str]:
    """The state must fit in one variable (48 KB), and no name may be another sync's: that of
    another environment (`dev` with EU_X and `dev_eu` with X both make DEV_EU_X) or config."""
    desired, target = plan.desired, plan.target
    largest = Manifest(
        {name: ManagedSecret("0" * 64, "2000-01-01T00:00:00Z") for name in desired.secrets},
        frozenset(desired.variables),
    ).encode()
    problems = []
    if len(largest.encode("utf-8")) > MAX_VALUE_BYTES:
        problems.append(
            f"{target}: its state would outgrow GitHub's 48 KB for the variable "
            f"{target.manifest_variable}: split the config (each with its own state-name)"
        )
    for other, text in sorted(plan.state.variables.items()):
        if not other.startswith(f"{MANIFEST_VARIABLE}_"):
            continue
        kept = Manifest.decode(text)
        taken = sorted(
            (set(kept.secrets) & set(desired.secrets)) | (kept.variables & set(desired.variables))
        )
        problems += [
            f"{target}: {name} is kept by another sync (its state is {other}: another "
            "environment or config); rename one of them"
            for name in taken
        ]
    return problems


def variables_budget(api_url: str) -> int:
    """The bytes of repository and organization variables a workflow run gets on this host: a
    GitHub Enterprise Server's API is https://HOST/api/v3; any other (api.github.com, a
    GHE.com subdomain's api.) is GitHub.com's or Enterprise Cloud's, 256 KB."""
    if urlsplit(api_url).path.rstrip("/").endswith("/api/v3"):
        return GHES_VARIABLES_BUDGET
    return VARIABLES_BUDGET


def variables_budget_problems(
    plan: TargetPlan,
    facts: Mapping[str, RepositoryFacts],
    own_variables: Mapping[str, Mapping[str, str]],
    budget: int,
) -> list[str]:
    """One line per configured repository whose own variables (those read: `own_variables` by
    lower-case full name) and the organization variables that reach it once the plan is
    applied come to more than the budget. A variable counts its name and value, UTF-8."""
    deleted = {c.name for c in plan.changes if c.kind == VARIABLE and c.action == DELETE}
    values = {**plan.state.variables, **plan.desired.variables}
    organization = {name: value for name, value in values.items() if name not in deleted}
    problems = []
    for repository, fact in sorted(facts.items()):
        own = _size(own_variables.get(repository, {}))
        reaching = {
            name: value
            for name, value in organization.items()
            if _reaches(plan, VARIABLE, name, repository, fact)
        }
        shared = _size(reaching)
        if own + shared > budget:
            problems.append(
                f"{fact.full_name}: would get {own + shared:,} bytes of variables in each "
                f"workflow run (its own {own:,}, the organization's {shared:,}), more than "
                f"GitHub's {budget:,} ({_kb(budget)}): organization variables past it, by "
                "name, would be missing"
            )
    return problems


def _size(variables: Mapping[str, str]) -> int:
    return sum(len(name.encode()) + len(value.encode()) for name, value in variables.items())


def _kb(size: int) -> str:
    return f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def _reaches(
    plan: TargetPlan, kind: Kind, name: str, repository: str, fact: RepositoryFacts
) -> bool:
    """Whether the organization secret or variable reaches the repository once the plan is
    applied."""
    entry = (kind, name)
    desired = plan.desired.secrets if kind == SECRET else plan.desired.variables
    if name in desired:
        return repository in plan.desired.selections[entry]
    visibility = plan.state.visibilities.get(entry)
    if visibility == "all":
        return True
    if visibility == "private":
        return not fact.public
    return fact.id in plan.state.selections.get(entry, frozenset())
