"""`toto-actions sync-secrets`: write Terraform outputs as secrets and variables of repositories.

Validate everything, read every target, plan, then apply: only the secrets whose value or
`updated_at` moved are written, one public-key request per target, writes paced and retried.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from toto_actions import actions_runtime
from toto_actions.errors import UsageError
from toto_actions.github_api import DEFAULT_API_URL, GitHubClient, GitHubError, GitHubSettings
from toto_actions.http_retry import RetryPolicy
from toto_actions.options import GivenOptions, Option
from toto_actions.sync_config import load_config
from toto_actions.sync_plan import (
    CREATE,
    DELETE,
    ENVIRONMENT,
    MANIFEST_VARIABLE,
    SECRET,
    UNCHANGED,
    UPDATE,
    VARIABLE,
    Change,
    DesiredTarget,
    Target,
    TargetPlan,
    desired_targets,
    limit_problems,
    manifest_after,
    plan_target,
)
from toto_actions.terraform_outputs import TerraformOutput, parse_outputs

if TYPE_CHECKING:
    from github.PublicKey import PublicKey

T = TypeVar("T")
R = TypeVar("R")

# GitHub: "If you're making a large number of POST, PATCH, PUT, or DELETE requests for a single
# user or client ID, wait at least one second between each request."
DEFAULT_WRITE_INTERVAL = 1.0
EXIT_CHANGES_PENDING = 3  # with --dry-run --detailed-exitcode, as `terraform plan` has it

OPTIONS = (
    Option("--config", "the mapping of outputs to secrets (default toto-secrets.yml)"),
    Option(
        "--environment",
        "the Toto environment; with scope environment, the GitHub environment written to",
    ),
    Option("--outputs", "`terraform output -json` of the core apply; - for standard input"),
    Option(
        "--github-token",
        "token that can write the repositories' secrets",
        fallback_variable="GITHUB_TOKEN",
    ),
    Option(
        "--github-api-url",
        f"GitHub API (default {DEFAULT_API_URL})",
        fallback_variable="GITHUB_API_URL",
    ),
    Option(
        "--owner",
        "owner of repositories named without one when the config has none",
        fallback_variable="GITHUB_REPOSITORY_OWNER",
    ),
    Option(
        "--fingerprint-key",
        "key of the HMAC fingerprints that let unchanged secrets be "
        "skipped; without it every secret is written",
    ),
    Option("--dry-run", "read and plan, write nothing", is_switch=True),
    Option(
        "--prune",
        "delete secrets and variables this tool wrote that are no longer mapped",
        is_switch=True,
    ),
    Option(
        "--dispatch",
        "send this repository_dispatch event to every repository that changed",
        metavar="EVENT",
    ),
    Option("--max-concurrency", "targets read and applied at once (default 4)", metavar="N"),
    Option(
        "--write-interval",
        f"seconds between two writes, across all targets (default "
        f"{DEFAULT_WRITE_INTERVAL:g}, GitHub's advice)",
        metavar="S",
    ),
    Option(
        "--retry-base-delay",
        "first delay of the exponential backoff on transient failures "
        "when GitHub gives no Retry-After (default 1)",
        metavar="S",
    ),
    Option(
        "--detailed-exitcode", "with --dry-run: exit 3 when something would change", is_switch=True
    ),
)


class SyncSettings(NamedTuple):
    config: Path
    environment: str | None
    outputs: str
    fingerprint_key: str | None
    dry_run: bool
    prune: bool
    dispatch: str | None
    detailed_exitcode: bool
    default_owner: str | None
    github: GitHubSettings


class TargetResult(NamedTuple):
    plan: TargetPlan
    landed: tuple[Change, ...]  # changes that took effect, and the unchanged ones
    failures: tuple[str, ...]


def run(given: GivenOptions) -> int:
    """Sync; exit 0, 1 when a target failed, 3 for pending changes under --detailed-exitcode."""
    settings = _settings(given)
    actions_runtime.mask(settings.github.token)
    if settings.fingerprint_key:
        actions_runtime.mask(settings.fingerprint_key)
    outputs = _read_outputs(settings.outputs)
    for output in outputs.values():
        if output.text:
            actions_runtime.mask(output.text)

    config = load_config(settings.config, settings.default_owner)
    if config.scope == "environment" and not settings.environment:
        raise UsageError(f"{settings.config} syncs into GitHub environments: pass --environment")
    desired = desired_targets(config, outputs, settings.environment or "")

    client = GitHubClient(settings.github)
    workers = settings.github.max_concurrency
    plans = _read_and_plan(client, desired, settings, config.scope, workers)
    _print_changes("Plan", [c for p in plans if isinstance(p, TargetPlan) for c in p.changes])
    if not settings.fingerprint_key:
        actions_runtime.warning("no --fingerprint-key: every secret is written, changed or not")
    read_failures = [p for p in plans if isinstance(p, TargetFailure)]
    ready = [p for p in plans if isinstance(p, TargetPlan)]
    if settings.dry_run:
        return _finish_dry_run(ready, read_failures, settings)

    results = _parallel(workers, ready, lambda plan: _apply(client, plan, settings))
    dispatch_failures = _dispatch(client, results, settings) if settings.dispatch else []
    return _report(results, read_failures, dispatch_failures, settings)


class TargetFailure(NamedTuple):
    target: Target
    message: str


def _settings(given: GivenOptions) -> SyncSettings:
    token = str(given.get("github-token", ""))
    if not token:
        raise UsageError("no GitHub token: pass --github-token or set GITHUB_TOKEN")
    outputs = given.get("outputs")
    if not outputs:
        raise UsageError("--outputs is required: the `terraform output -json` file, or -")
    environment = given.get("environment")
    if environment is not None and (
        len(str(environment)) > 255 or not str(environment).isprintable()
    ):
        raise UsageError(f"environment {environment!r} is not a GitHub environment name")
    return SyncSettings(
        config=Path(str(given.get("config", "toto-secrets.yml"))),
        environment=str(environment) if environment else None,
        outputs=str(outputs),
        fingerprint_key=str(given["fingerprint-key"]) if given.get("fingerprint-key") else None,
        dry_run=bool(given.get("dry-run")),
        prune=bool(given.get("prune")),
        dispatch=str(given["dispatch"]) if given.get("dispatch") else None,
        detailed_exitcode=bool(given.get("detailed-exitcode")),
        default_owner=str(given["owner"]) if given.get("owner") else None,
        github=GitHubSettings(
            token=token,
            api_url=str(given.get("github-api-url", DEFAULT_API_URL)),
            max_concurrency=int(_number(given, "max-concurrency", 4, 1, 32)),
            write_interval=_number(given, "write-interval", DEFAULT_WRITE_INTERVAL, 0, 60),
            retry=RetryPolicy(base_delay=_number(given, "retry-base-delay", 1.0, 0, 60)),
        ),
    )


def _number(given: GivenOptions, key: str, default: float, low: float, high: float) -> float:
    raw = given.get(key)
    if raw is None:
        return default
    try:
        value = float(str(raw))
    except ValueError:
        value = float("nan")
    if not low <= value <= high or (key == "max-concurrency" and not value.is_integer()):
        raise UsageError(f"--{key} {raw!r}: expected a number from {low:g} to {high:g}")
    return value


def _read_outputs(source: str) -> dict[str, TerraformOutput]:
    if source == "-":
        return parse_outputs(sys.stdin.read(), "standard input")
    try:
        content = Path(source).read_text(encoding="utf-8")
    except OSError as problem:
        raise UsageError(f"--outputs {source}: cannot read it ({problem.strerror})") from problem
    return parse_outputs(content, source)


def _parallel(workers: int, items: Sequence[T], work: Callable[[T], R]) -> list[R]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(work, items))


def _read_and_plan(
    client: GitHubClient,
    desired: Sequence[DesiredTarget],
    settings: SyncSettings,
    scope: str,
    workers: int,
) -> list[TargetPlan | TargetFailure]:
    """Read every target; refuse (exit 2, nothing written) what GitHub's rules or the token's
    reach forbid. A target that cannot be read after retries fails alone."""
    repositories = list(dict.fromkeys(d.target.repository for d in desired))
    problems = [p for p in _parallel(workers, repositories, client.visibility_problem) if p]
    if problems:
        raise UsageError("\n".join(problems))

    def read(target_desired: DesiredTarget) -> TargetPlan | TargetFailure:
        try:
            state = client.read_target(target_desired.target)
        except GitHubError as failure:
            return TargetFailure(target_desired.target, str(failure))
        return plan_target(target_desired, state, settings.fingerprint_key, settings.prune)

    plans = _parallel(workers, desired, read)
    limits = [
        p for plan in plans if isinstance(plan, TargetPlan) for p in limit_problems(plan, scope)
    ]
    if limits:
        raise UsageError("\n".join(limits))
    return plans


def _apply(client: GitHubClient, plan: TargetPlan, settings: SyncSettings) -> TargetResult:
    """Apply one target's changes; a failed change is recorded and the others still go ahead."""
    target = plan.target
    landed = [c for c in plan.changes if c.action == UNCHANGED]
    failures: list[str] = []
    pending = plan.pending()
    try:
        if any(c.kind == ENVIRONMENT for c in pending):
            client.create_environment(target)
        key = None
        if any(c.kind == SECRET and c.action != DELETE for c in pending):
            key = client.public_key(target)
        for change in pending:
            if change.kind == ENVIRONMENT:
                landed.append(change)
                continue
            try:
                _apply_change(client, plan, change, key)
                landed.append(change)
            except GitHubError as failure:
                failures.append(str(failure))
        secrets_written = any(c.kind == SECRET for c in landed if c.action != UNCHANGED)
        timestamps = client.secret_timestamps(target) if secrets_written else plan.state.secrets
        manifest = manifest_after(plan, landed, timestamps, settings.fingerprint_key).encode()
        if manifest != plan.state.manifest_text:
            client.set_variable(
                target, MANIFEST_VARIABLE, manifest, exists=plan.state.manifest_text is not None
            )
    except GitHubError as failure:
        failures.append(str(failure))
    return TargetResult(plan, tuple(landed), tuple(failures))


def _apply_change(
    client: GitHubClient, plan: TargetPlan, change: Change, key: PublicKey | None
) -> None:
    target = plan.target
    if change.kind == SECRET and change.action == DELETE:
        client.delete_secret(target, change.name)
    elif change.kind == SECRET and key is not None:
        client.put_secret(target, key, change.name, plan.desired.secrets[change.name])
    elif change.action == DELETE:
        client.delete_variable(target, change.name)
    else:
        client.set_variable(
            target, change.name, plan.desired.variables[change.name], exists=change.action == UPDATE
        )


def _changed(result: TargetResult) -> list[Change]:
    return [c for c in result.landed if c.action != UNCHANGED and c.kind != ENVIRONMENT]


def _dispatch(
    client: GitHubClient, results: Iterable[TargetResult], settings: SyncSettings
) -> list[TargetFailure]:
    """One repository_dispatch per repository where something changed: names only, no value."""
    changed: dict[str, list[str]] = {}
    for result in results:
        names = [c.name for c in _changed(result)]
        if names:
            changed.setdefault(result.plan.target.repository, []).extend(names)
    failures = []
    for repository, names in changed.items():
        payload = {"environment": settings.environment, "changed": sorted(set(names))}
        try:
            client.dispatch(repository, settings.dispatch or "", payload)
            actions_runtime.info(f"dispatched {settings.dispatch} to {repository}")
        except GitHubError as failure:
            failures.append(TargetFailure(Target(repository, None), str(failure)))
    return failures


def _print_changes(
    title: str, changes: Sequence[Change], outcome: Callable[[Change], str] | None = None
) -> None:
    rows = [
        (str(c.target), c.kind, c.name, c.action, *([outcome(c)] if outcome else []))
        for c in changes
    ]
    header = ("target", "kind", "name", "action", *(["result"] if outcome else []))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    with actions_runtime.group(title):
        for row in [header, *rows]:
            actions_runtime.info(
                "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True))
            )


def _summary_table(
    title: str, changes: Sequence[Change], failures: Sequence[TargetFailure | str]
) -> str:
    lines = [f"### {title}", "", "| target | kind | name | action |", "| --- | --- | --- | --- |"]
    lines += [f"| {c.target} | {c.kind} | `{c.name}` | {c.action} |" for c in changes]
    if failures:
        lines += ["", "**Failed:**", ""] + [
            f"- {f.target}: {f.message}" if isinstance(f, TargetFailure) else f"- {f}"
            for f in failures
        ]
    return "\n".join(lines)


def _counts(changes: Iterable[Change]) -> dict[str, int]:
    counted = [c for c in changes if c.kind in {SECRET, VARIABLE}]
    names = {CREATE: "created", UPDATE: "updated", UNCHANGED: "unchanged", DELETE: "deleted"}
    return {label: sum(1 for c in counted if c.action == action) for action, label in names.items()}


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
        _summary_table(
            f"sync-secrets plan ({settings.environment or 'repository'}), dry run: nothing written",
            changes,
            failures,
        )
    )
    _set_outputs(_counts(changes), (p.target.repository for p in plans if p.pending()))
    if failures:
        return 1
    pending = any(plan.pending() for plan in plans)
    return EXIT_CHANGES_PENDING if settings.detailed_exitcode and pending else 0


def _report(
    results: Sequence[TargetResult],
    read_failures: Sequence[TargetFailure],
    dispatch_failures: Sequence[TargetFailure],
    settings: SyncSettings,
) -> int:
    landed = {c for result in results for c in result.landed}
    changes = [c for result in results for c in result.plan.changes]
    _print_changes("Result", changes, lambda c: "done" if c in landed else "FAILED")
    failures: list[TargetFailure] = [*read_failures, *dispatch_failures]
    failures += [TargetFailure(r.plan.target, message) for r in results for message in r.failures]
    for failure in failures:
        actions_runtime.error(f"{failure.target}: {failure.message}", title="Sync failed")
    actions_runtime.add_summary(
        _summary_table(
            f"sync-secrets ({settings.environment or 'repository'})",
            [c for c in changes if c in landed],
            failures,
        )
    )
    _set_outputs(_counts(landed), (r.plan.target.repository for r in results if _changed(r)))
    return 1 if failures else 0
