"""sync-secrets at `scope: organization`: the pre-flight checks and the plan of the one target,
the organization's secrets and variables of the environment.

Everything is checked before the first write: the mapping (names, values, sensitive outputs),
every configured repository (its id is what a selection holds), the organization's plan (on
GitHub Free a private repository gets no organization secret), the token's access to the
organization's public key and its secrets and variables, and GitHub's limits as they will be.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from toto_actions import actions_runtime
from toto_actions.errors import UsageError
from toto_actions.github.api import PERMISSION_STATUSES, GitHubError
from toto_actions.github.organization_api import OrganizationClient
from toto_actions.github.sync_config import SyncConfig
from toto_actions.github.sync_organization import (
    RepositoryFacts,
    desired_organization,
    free_plan_problem,
    organization_limit_problems,
    organization_target,
    plan_organization,
    variables_budget_problems,
    with_repository_ids,
)
from toto_actions.github.sync_plan import (
    DELETE,
    SELECT,
    Change,
    Target,
    TargetPlan,
    target_state,
)
from toto_actions.github.sync_report import TargetFailure
from toto_actions.parallel import parallel
from toto_actions.terraform.outputs import TerraformOutput


class OrganizationSync(NamedTuple):
    """What the command passes: the settings an organization-scope sync reads."""

    config: SyncConfig
    source: str  # the config file, for messages
    environment: str | None
    fingerprint_key: str | None
    prune: bool
    create_environments: bool
    workers: int
    variables_budget: int  # bytes of variables a workflow run gets on this GitHub


def plan_for_organization(
    client: OrganizationClient, sync: OrganizationSync, outputs: Mapping[str, TerraformOutput]
) -> tuple[list[TargetPlan], list[TargetFailure]]:
    """The organization's plan, or its read failure; a usage error (exit 2, nothing written)
    for anything the configuration, the token or GitHub's limits forbid."""
    if not sync.environment:
        raise UsageError(f"{sync.source} syncs into organization secrets: pass --environment")
    if sync.create_environments:
        raise UsageError(
            "--create-environments: scope organization writes organization secrets, no "
            "GitHub environment"
        )
    target = organization_target(sync.config, sync.environment, sync.source)
    desired = desired_organization(sync.config, outputs, target, sync.source)
    facts = _repository_facts(client, sync, target)
    desired = with_repository_ids(desired, facts)
    try:
        client.public_key(target)  # the writes need it: a token that cannot read it stops here
        contents = client.read_organization(target)
        github_plan = _plan(client, target)
    except GitHubError as failure:
        if failure.status in PERMISSION_STATUSES:
            raise UsageError(
                f"{target}: not an organization, or the token may not read its secrets and "
                f"variables ({failure})"
            ) from failure
        return [], [TargetFailure(target, str(failure))]
    problem = free_plan_problem(github_plan, desired, facts)
    if problem:
        raise UsageError(problem)
    state = target_state(contents, target.manifest_variable)
    plan = plan_organization(desired, state, sync.fingerprint_key, sync.prune)
    own = _repository_variables(client, sync, facts)
    problems = organization_limit_problems(plan, facts)
    problems += variables_budget_problems(plan, facts, own, sync.variables_budget)
    if problems:
        raise UsageError("\n".join(problems))
    return [plan], []


def _plan(client: OrganizationClient, target: Target) -> str | None:
    """The organization's plan; None, after one warning, when GitHub does not show it."""
    try:
        plan = client.plan(target)
    except GitHubError as failure:
        if failure.status not in PERMISSION_STATUSES:
            raise
        plan = None
    if plan is None:
        actions_runtime.warning(
            f"cannot read the plan of organization {target.repository}: the token needs "
            "Organization plan: read (organization_plan). On GitHub Free, organization secrets "
            "and variables do not reach private repositories; the sync cannot check that"
        )
    return plan


def _repository_variables(
    client: OrganizationClient, sync: OrganizationSync, facts: Mapping[str, RepositoryFacts]
) -> dict[str, dict[str, str]]:
    """Each configured repository's own variables, by lower-case full name; those the token
    may not read are left out, after one warning naming them."""
    names = sorted(facts)
    full_names = [facts[name].full_name for name in names]  # as GitHub names them now
    found = parallel(sync.workers, full_names, client.repository_variables)
    unread = [name for name, variables in zip(full_names, found, strict=True) if variables is None]
    if unread:
        budget = sync.variables_budget
        actions_runtime.warning(
            f"cannot read the variables of {', '.join(unread)}: the token needs Variables: read "
            f"(actions_variables); their own variables count towards GitHub's {budget:,} bytes "
            f"({budget // 1024} KB) of variables a run gets, so only the organization's are "
            "counted"
        )
    return {name: v for name, v in zip(names, found, strict=True) if v is not None}


def _repository_facts(
    client: OrganizationClient, sync: OrganizationSync, target: Target
) -> dict[str, RepositoryFacts]:
    """Every configured repository's id and visibility, by lower-case full name as configured;
    one line per repository the token cannot see, or that another owner holds now (only the
    organization's own repositories can be selected). A renamed one is a warning: it keeps its
    id, which is what a selection holds."""
    names = [repository.full_name for repository in sync.config.repositories]
    found = parallel(sync.workers, names, client.repository_facts)
    facts, problems = {}, []
    for name, outcome in zip(names, found, strict=True):
        if isinstance(outcome, str):
            problems.append(outcome)
            continue
        owner = outcome.full_name.split("/")[0]
        if owner.lower() != target.repository.lower():
            problems.append(
                f"{name}: is {outcome.full_name} now, not a repository of {target.repository}: "
                f"its secrets cannot select it (update {sync.source})"
            )
        elif outcome.full_name.lower() != name.lower():
            actions_runtime.warning(
                f"{name} is {outcome.full_name} now (renamed): update {sync.source}"
            )
        facts[name.lower()] = outcome
    if problems:
        raise UsageError("\n".join(problems))
    return facts


def reached_repositories(plan: TargetPlan, changes: Sequence[Change]) -> dict[str, set[str]]:
    """Repository -> the names whose change it sees: a new value reaches every repository
    the entry selects, a new selection the repositories it adds, a deletion those it had."""
    target: Target = plan.target
    if not target.organization:
        return {target.repository: {c.name for c in changes}} if changes else {}
    names = {number: name for name, number in plan.desired.repository_ids.items()}
    reached: dict[str, set[str]] = {}
    for change in changes:
        entry = (change.kind, change.name)
        before = plan.state.selections.get(entry, frozenset())
        after = plan.desired.selected_id_set(entry)
        if change.action == DELETE:
            repositories = before
        else:
            repositories = after - before if change.action == SELECT else after
        for number in repositories & names.keys():  # only the configured repositories hear
            reached.setdefault(names[number], set()).add(change.name)
    return reached
