"""`toto-actions sync-secrets`: write Terraform outputs as secrets and variables of repositories.

Validate everything, read every target, plan, then apply: only the secrets whose value or
`updated_at` moved are written, one public-key request per target, writes paced and retried.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from toto_actions import actions_runtime
from toto_actions.commands.sync_secrets_organization import (
    OrganizationSync,
    plan_for_organization,
    reached_repositories,
)
from toto_actions.errors import UsageError
from toto_actions.github import API_URL_OPTION, DEFAULT_API_URL
from toto_actions.github.api import (
    PERMISSION_STATUSES,
    GitHubClient,
    GitHubError,
    GitHubSettings,
)
from toto_actions.github.organization_api import OrganizationClient
from toto_actions.github.sync_apply import TargetResult, apply_plan
from toto_actions.github.sync_config import (
    SyncConfig,
    event_type_problem,
    load_config,
    without_sensitive,
)
from toto_actions.github.sync_organization import variables_budget
from toto_actions.github.sync_permissions import ORGANIZATION_SCOPE
from toto_actions.github.sync_plan import (
    Change,
    DesiredTarget,
    Target,
    TargetPlan,
    desired_targets,
    key_problem,
    limit_problems,
    plan_target,
    target_state,
)
from toto_actions.github.sync_report import TargetFailure, change_lines, counts, summary_table
from toto_actions.http_retry import RetryPolicy
from toto_actions.options import INTEGER, SECONDS, SWITCH, GivenOptions, Option
from toto_actions.parallel import parallel
from toto_actions.terraform.outputs import TerraformOutput, parse_outputs, strings_within

# GitHub: "If you're making a large number of POST, PATCH, PUT, or DELETE requests for a single
# user or client ID, wait at least one second between each request."
DEFAULT_WRITE_INTERVAL = 1.0
EXIT_CHANGES_PENDING = 3  # with --dry-run --detailed-exitcode, as `terraform plan` has it

OPTIONS = (
    Option(
        "--config",
        "the mapping of outputs to secrets (default toto-secrets.yml)",
        default="toto-secrets.yml",
    ),
    Option(
        "--environment",
        "the Toto environment; with scope environment, the GitHub environment written to; "
        "with scope organization, the prefix of the names (dev: DEV_NAME)",
    ),
    Option(
        "--outputs",
        "`terraform output -json` of the core apply; - for standard input",
        required=True,
    ),
    Option(
        "--github-token",
        "a token that can write the repositories' secrets",
        fallback_variable="GITHUB_TOKEN",
        required=True,
    ),
    API_URL_OPTION,
    Option(
        "--owner",
        "owner of repositories named without one when the config has none",
        fallback_variable="GITHUB_REPOSITORY_OWNER",
    ),
    Option(
        "--fingerprint-key",
        "key (32 bytes or more) of the HMAC fingerprints that let unchanged secrets be "
        "skipped; without it every secret is written",
    ),
    Option(
        "--create-environments",
        "create a missing GitHub environment (the token then needs Administration: write); "
        "without it a missing environment is refused before anything is written",
        SWITCH,
        False,
    ),
    Option(
        "--skip-sensitive",
        "leave out every mapping of an output Terraform marks sensitive (for a plan "
        "environment, which pull requests reach)",
        SWITCH,
        False,
    ),
    Option("--dry-run", "read and plan, write nothing", SWITCH, False),
    Option(
        "--prune",
        "delete secrets and variables this tool wrote that are no longer mapped",
        SWITCH,
        False,
    ),
    Option(
        "--dispatch",
        "send this repository_dispatch event to every repository that changed",
        metavar="EVENT",
    ),
    Option(
        "--max-concurrency",
        "targets read and applied at once (default 4)",
        kind=INTEGER,
        default=4,
        low=1,
        high=32,
    ),
    *(
        Option(flag, what, SECONDS, default, low=0, high=60)
        for flag, what, default in (
            (
                "--write-interval",
                "seconds between two writes, across all targets (default "
                f"{DEFAULT_WRITE_INTERVAL:g}, GitHub's advice)",
                DEFAULT_WRITE_INTERVAL,
            ),
            (
                "--retry-base-delay",
                "first delay of the exponential backoff on transient failures when GitHub "
                "gives no Retry-After (default 1)",
                1.0,
            ),
        )
    ),
    Option(
        "--detailed-exitcode",
        "with --dry-run: exit 3 when something would change",
        SWITCH,
        False,
    ),
)


class SyncSettings(NamedTuple):
    config: Path
    environment: str | None
    outputs: str
    fingerprint_key: str | None
    create_environments: bool
    skip_sensitive: bool
    dry_run: bool
    prune: bool
    dispatch: str | None
    detailed_exitcode: bool
    default_owner: str | None
    github: GitHubSettings


def run(given: GivenOptions) -> int:
    """Sync; exit 0, 1 when a target failed, 3 for pending changes under --detailed-exitcode."""
    settings = _settings(given)
    actions_runtime.mask(settings.github.token)
    if settings.fingerprint_key:
        actions_runtime.mask(settings.fingerprint_key)
    outputs = _read_outputs(settings.outputs)
    _mask_values(outputs, {name for name, output in outputs.items() if output.sensitive})
    config = load_config(settings.config, settings.default_owner)
    if settings.skip_sensitive:
        config, left_out = without_sensitive(config, outputs)
        if left_out:
            actions_runtime.info(f"left out (sensitive outputs): {', '.join(sorted(left_out))}")
    secret_outputs = {o for repository in config.repositories for o in repository.secrets.values()}
    for name in sorted(_mask_values(outputs, secret_outputs)):
        actions_runtime.warning(
            f"output {name!r} is shorter than {actions_runtime.MIN_MASKED_LENGTH} characters: "
            "too short to be masked in logs; the sync writes it and never prints it"
        )
    workers = settings.github.max_concurrency
    if config.scope == ORGANIZATION_SCOPE:
        organization = OrganizationClient(settings.github)
        client: GitHubClient = organization
        sync = _organization_sync(settings, config)
        plans, read_failures = plan_for_organization(organization, sync, outputs)
    else:
        if config.scope == "environment" and not settings.environment:
            raise UsageError(
                f"{settings.config} syncs into GitHub environments: pass --environment"
            )
        desired = desired_targets(config, outputs, settings.environment or "")
        client = GitHubClient(settings.github)
        plans, read_failures = _read_and_plan(client, desired, settings, config.scope, workers)
    _print_changes("Plan", [c for plan in plans for c in plan.changes])
    if not settings.fingerprint_key:
        actions_runtime.warning("no --fingerprint-key: every secret is written, changed or not")
    if settings.dry_run:
        return _finish_dry_run(plans, read_failures, settings)

    results = parallel(
        workers, plans, lambda plan: apply_plan(client, plan, settings.fingerprint_key)
    )
    dispatch_failures = _dispatch(client, results, settings) if settings.dispatch else []
    return _report(results, [*read_failures, *dispatch_failures], settings)


def _organization_sync(settings: SyncSettings, config: SyncConfig) -> OrganizationSync:
    return OrganizationSync(
        config,
        str(settings.config),
        settings.environment,
        settings.fingerprint_key,
        settings.prune,
        settings.create_environments,
        settings.github.max_concurrency,
        variables_budget(settings.github.api_url),
    )


def _mask_values(outputs: Mapping[str, TerraformOutput], chosen: Collection[str]) -> set[str]:
    """Mask the chosen outputs' values by the one rule of actions_runtime.mask; returns those
    too short to be masked. Only secrets and sensitive outputs are masked: a public value such
    as a region or a count, masked, would garble the log and make the runner drop every step
    output that contains it."""
    unmasked = set()
    for name in chosen:
        output = outputs.get(name)
        text = output.text if output is not None else None
        if text is not None and not actions_runtime.mask(text):
            unmasked.add(name)
        if output is not None and output.sensitive and text is not None:
            for piece in _strings_of_collection(text):  # a later step may print one alone
                actions_runtime.mask(piece)
    return unmasked


def _strings_of_collection(text: str) -> list[str]:
    """The strings a map's or list's JSON text holds, at any depth; none for any other text."""
    if not text.startswith(("{", "[")):
        return []
    try:
        return list(strings_within(json.loads(text)))
    except ValueError:
        return []


def _settings(given: GivenOptions) -> SyncSettings:
    environment = given.text("environment")
    if environment is not None and (len(environment) > 255 or not environment.isprintable()):
        raise UsageError(f"environment {environment!r} is not a GitHub environment name")
    dispatch = given.text("dispatch")
    problem = event_type_problem(dispatch) if dispatch is not None else None
    if problem:
        raise UsageError(f"--dispatch {problem}")
    key = given.text("fingerprint-key")
    problem = key_problem(key) if key else None
    if problem:
        raise UsageError(problem)
    return SyncSettings(
        config=Path(given.text("config") or "toto-secrets.yml"),
        environment=environment,
        outputs=given.text("outputs") or "",
        fingerprint_key=key,
        create_environments=given.switch("create-environments"),
        skip_sensitive=given.switch("skip-sensitive"),
        dry_run=given.switch("dry-run"),
        prune=given.switch("prune"),
        dispatch=dispatch,
        detailed_exitcode=given.switch("detailed-exitcode"),
        default_owner=given.text("owner"),
        github=GitHubSettings(
            token=given.text("github-token") or "",
            api_url=given.text("github-api-url") or DEFAULT_API_URL,
            max_concurrency=given.integer("max-concurrency"),
            write_interval=given.seconds("write-interval"),
            retry=RetryPolicy(base_delay=given.seconds("retry-base-delay")),
        ),
    )


def _read_outputs(source: str) -> dict[str, TerraformOutput]:
    if source == "-":
        return parse_outputs(sys.stdin.read(), "standard input")
    try:
        content = Path(source).read_text(encoding="utf-8")
    except OSError as problem:
        raise UsageError(f"--outputs {source}: cannot read it ({problem.strerror})") from problem
    return parse_outputs(content, source)


def _read_and_plan(
    client: GitHubClient,
    desired: Sequence[DesiredTarget],
    settings: SyncSettings,
    scope: str,
    workers: int,
) -> tuple[list[TargetPlan], list[TargetFailure]]:
    """Read every target and plan it. What the token may not do, or GitHub's limits forbid, is a
    usage error (exit 2, nothing written); a target that cannot be read after retries fails
    alone."""
    repositories = list(dict.fromkeys(d.target.repository for d in desired))
    problems = [p for p in parallel(workers, repositories, client.visibility_problem) if p]
    if problems:
        raise UsageError("\n".join(problems))

    def read(target_desired: DesiredTarget) -> TargetPlan | TargetFailure | str:
        target = target_desired.target
        try:
            state = target_state(client.read_target(target))
        except GitHubError as failure:
            if failure.status in PERMISSION_STATUSES:
                return f"{target}: the token may not read it ({failure})"
            return TargetFailure(target, str(failure))
        except Exception as failure:  # an unexpected answer fails this target, not the run
            return TargetFailure(target, f"{type(failure).__name__}: {failure}")
        return plan_target(target_desired, state, settings.fingerprint_key, settings.prune)

    outcomes = parallel(workers, desired, read)
    plans = [outcome for outcome in outcomes if isinstance(outcome, TargetPlan)]
    problems = [outcome for outcome in outcomes if isinstance(outcome, str)]
    problems += [p for plan in plans for p in limit_problems(plan, scope)]
    missing = [plan.target for plan in plans if not plan.state.exists]
    if missing and not settings.create_environments:
        problems.append(_missing_environments(missing))
    if problems:
        raise UsageError("\n".join(problems))
    return plans, [outcome for outcome in outcomes if isinstance(outcome, TargetFailure)]


def _missing_environments(targets: Sequence[Target]) -> str:
    """One line: the environment (one per sync) and every repository that lacks it."""
    repositories = [target.repository for target in targets]
    listed = ", ".join(repositories[:-1]) + " and " if len(repositories) > 1 else ""
    return (
        f"create environment {targets[0].environment} in {listed}{repositories[-1]} (or pass "
        "--create-environments, whose token needs Administration: write)"
    )


def _dispatch(
    client: GitHubClient, results: Iterable[TargetResult], settings: SyncSettings
) -> list[TargetFailure]:
    """One repository_dispatch per repository where something changed: names only, no value."""
    changed: dict[str, set[str]] = {}
    for result in results:
        for repository, names in reached_repositories(result.plan, result.changed()).items():
            changed.setdefault(repository, set()).update(names)
    failures = []
    for repository, names in changed.items():
        payload = {"environment": settings.environment, "changed": sorted(names)}
        try:
            client.dispatch(repository, settings.dispatch or "", payload)
            actions_runtime.info(f"dispatched {settings.dispatch} to {repository}")
        except GitHubError as failure:
            failures.append(TargetFailure(Target(repository, None), str(failure)))
    return failures


def _print_changes(
    title: str, changes: Sequence[Change], outcome: Callable[[Change], str] | None = None
) -> None:
    with actions_runtime.group(title):
        for line in change_lines(changes, outcome):
            actions_runtime.info(line)


def _set_outputs(counts: dict[str, int], changed_repositories: Iterable[str]) -> None:
    for name, count in counts.items():
        actions_runtime.set_output(name, str(count))
    actions_runtime.set_output("changed-repositories", ",".join(sorted(set(changed_repositories))))


def _finish_dry_run(
    plans: Sequence[TargetPlan], failures: Sequence[TargetFailure], settings: SyncSettings
) -> int:
    changes = [c for plan in plans for c in plan.changes]
    for failure in failures:
        actions_runtime.error(f"{failure.target}: {failure.message}", title="Target not read")
    actions_runtime.add_summary(
        summary_table(
            f"sync-secrets plan ({settings.environment or 'repository'}), dry run: nothing written",
            changes,
            failures,
        )
    )
    reached = (r for plan in plans for r in reached_repositories(plan, plan.pending()))
    _set_outputs(counts(changes), reached)
    if failures:
        return 1
    pending = any(plan.pending() for plan in plans)
    return EXIT_CHANGES_PENDING if settings.detailed_exitcode and pending else 0


def _report(
    results: Sequence[TargetResult], other_failures: Sequence[TargetFailure], settings: SyncSettings
) -> int:
    in_effect = {c for result in results for c in result.in_effect}
    changes = [c for result in results for c in result.plan.changes]
    _print_changes("Result", changes, lambda c: "done" if c in in_effect else "FAILED")
    failures = [*other_failures]
    failures += [TargetFailure(r.plan.target, message) for r in results for message in r.failures]
    for failure in failures:
        actions_runtime.error(f"{failure.target}: {failure.message}", title="Sync failed")
    actions_runtime.add_summary(
        summary_table(
            f"sync-secrets ({settings.environment or 'repository'})",
            [c for c in changes if c in in_effect],
            failures,
        )
    )
    reached = (r for result in results for r in reached_repositories(result.plan, result.changed()))
    _set_outputs(counts(in_effect), reached)
    return 1 if failures else 0
