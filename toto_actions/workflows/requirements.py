"""What a rendered Toto workflow needs of its repository, read from the workflow's text: the
GitHub environments its jobs name, the variables and secrets each job reads (at the level the job
can see them) and the HCP Terraform workspaces it runs.

The reusable style commits a caller: its `with:` gives the inputs and its `secrets:` the secrets
it passes by name, and the jobs are those of the called workflow, as the installed toolkit renders
it (published.py). The inline style commits the jobs themselves. Either way each job is read once
per environment (the reusable jobs' environment is the routing job's output), skipping the steps
and jobs whose `if:` the inputs already decide, and reading a name only where the expression's
value depends on it (expressions.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import yaml

from toto_actions.errors import UsageError
from toto_actions.workflows.environments import parse_environments, parse_spec
from toto_actions.workflows.expressions import (
    SET,
    UNKNOWN,
    Lookup,
    Value,
    condition,
    evaluate,
    expressions,
    references,
    render,
    truthy,
)

SECRET, VARIABLE = "secret", "variable"
REUSABLE, INLINE = "reusable", "inline"
_CALLED = re.compile(
    r"(?P<repository>[^/@\s]+/[^/@\s]+)/\.github/workflows/toto-(?P<kind>microservice|core)\.yml"
    r"@(?P<ref>\S+)"
)
# Secrets every job gets without anyone setting them.
_AUTOMATIC = frozenset({"GITHUB_TOKEN"})


@dataclass(frozen=True)
class Read:
    """A variable or secret a job reads. environment: the job's (None: it names none); shared:
    the repository's or an organization's serves too (a called job's secrets come only from its
    environment or its caller); core: a value of the core flow (read as TF_VAR_)."""

    kind: str
    name: str
    environment: str | None
    shared: bool
    core: bool = False


@dataclass(frozen=True)
class WorkspaceUse:
    """An HCP Terraform workspace a tf-apply step runs; organization None when only a run
    knows it (the TF_CLOUD_ORGANIZATION variable)."""

    name: str
    organization: str | None
    run_source: str  # upload or vcs


@dataclass(frozen=True)
class WorkflowNeeds:
    kind: str
    style: str
    called: str | None  # the caller's `uses:` (reusable style)
    environments: tuple[str, ...]
    plan_environments: frozenset[str]
    reads: tuple[Read, ...]
    workspaces: tuple[WorkspaceUse, ...]


def workflow_needs(text: str, kind: str, reusable: Callable[[str], str]) -> WorkflowNeeds:
    """What the workflow (the file a repository commits) needs; reusable(kind) is the text of
    the reusable workflow a caller of that kind calls."""
    document = _mapping(text, "the workflow")
    caller = _caller_job(document)
    if caller is None:
        return _needs(kind, None, document, _Style(INLINE, {}, frozenset()), [{}])
    called_by = _CALLED.fullmatch(str(caller["uses"]))
    if called_by is None or called_by["kind"] != kind:
        raise UsageError(f"the workflow calls {caller['uses']}, not toto-{kind}.yml of the toolkit")
    called = _mapping(reusable(kind), "the called workflow")
    inputs = _inputs(called, caller.get("with") or {})
    passed = frozenset(str(name) for name in caller.get("secrets") or {})
    spec = str(inputs.get("environments") or "")
    environments = parse_environments(parse_spec(spec))
    bindings = [_bindings(e.name, e.plan_name) for e in environments]
    return _needs(kind, str(caller["uses"]), called, _Style(REUSABLE, inputs, passed), bindings)


def _mapping(text: str, what: str) -> dict[Any, Any]:
    try:
        # libyaml's loader where PyYAML has it: a reusable workflow takes the pure-Python one
        # most of a second.
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as problem:
        raise UsageError(f"{what} is not valid YAML ({problem})".replace("\n", " ")) from problem
    if not isinstance(document, dict) or not isinstance(document.get("jobs"), dict):
        raise UsageError(f"{what} has no jobs")
    return document


def _caller_job(document: Mapping[Any, Any]) -> dict[Any, Any] | None:
    """The job that calls a reusable workflow (None: the jobs are inline)."""
    for job in document["jobs"].values():
        if isinstance(job, dict) and isinstance(job.get("uses"), str):
            return job
    return None


def _inputs(called: Mapping[Any, Any], given: Mapping[Any, Any]) -> dict[str, Value]:
    """The called workflow's inputs: the caller's values over the declared defaults."""
    triggers = called.get("on", called.get(True)) or {}
    declared = (triggers.get("workflow_call") or {}).get("inputs") or {}
    values: dict[str, Value] = {
        str(name): entry.get("default", "") for name, entry in declared.items()
    }
    values.update({str(name): value for name, value in given.items()})
    return values


def _bindings(environment: str, plan: str) -> dict[str, Value]:
    """What the routing job (or the drift matrix) gives the jobs serving one environment."""
    return {
        "needs.route.outputs.environment": environment,
        "needs.route.outputs.plan-environment": plan,
        "matrix.environment.name": environment,
        "matrix.environment.plan": plan,
    }


class _Style(NamedTuple):
    """How the jobs are committed: inline, or called with these inputs and passed secrets."""

    name: str
    inputs: Mapping[str, Value]
    passed: frozenset[str]


def _needs(
    kind: str,
    called: str | None,
    document: Mapping[Any, Any],
    style: _Style,
    bindings: list[dict[str, Value]],
) -> WorkflowNeeds:
    reads: dict[Read, None] = {}
    workspaces: dict[WorkspaceUse, None] = {}
    environments: dict[str, None] = {}
    for bound in bindings:
        for job in document["jobs"].values():
            reader = _JobReader(job, style, bound)
            if reader.skipped():
                continue
            if reader.environment is not None:
                environments[reader.environment] = None
            reads.update(dict.fromkeys(reader.reads()))
            workspaces.update(dict.fromkeys(reader.workspaces()))
    names = set(environments)
    # A workspace follows the VCS runs when any job does (the plans still upload speculative
    # configurations, which a VCS-connected workspace takes).
    following = {(w.name, w.organization) for w in workspaces if w.run_source == "vcs"}
    merged = {
        WorkspaceUse(
            w.name, w.organization, "vcs" if (w.name, w.organization) in following else w.run_source
        ): None
        for w in workspaces
    }
    return WorkflowNeeds(
        kind,
        style.name,
        called,
        tuple(environments),
        frozenset(name for name in names if name.endswith("-plan") and name[:-5] in names),
        tuple(reads),
        tuple(merged),
    )


class _JobReader:
    """One job, for one environment's bindings."""

    def __init__(self, job: Mapping[str, Any], style: _Style, bound: Mapping[str, Value]) -> None:
        self._job = job
        self._style = style
        self._bound = bound
        self._skipped_steps = {
            str(step["id"])
            for step in self._steps()
            if "id" in step and self._decided_false(step.get("if"))
        }
        self.environment = self._environment()

    def skipped(self) -> bool:
        return self._decided_false(self._job.get("if"))

    def reads(self) -> Iterator[Read]:
        outside = {key: value for key, value in self._job.items() if key != "steps"}
        yield from self._reads_in(outside, core=False)
        for step in self._steps():
            if self._decided_false(step.get("if")):
                continue
            ignored = self._ignored_by(step)
            for key, value in step.items():  # in the file's order
                if key != "env":
                    yield from self._reads_in(value, core=False)
                    continue
                for variable, text in (value or {}).items():
                    if variable not in ignored:
                        core = str(variable).startswith("TF_VAR_")
                        yield from self._reads_in(text, core=core)

    def workspaces(self) -> Iterator[WorkspaceUse]:
        for step in self._steps():
            if not _runs_tf_apply(step) or self._decided_false(step.get("if")):
                continue
            values = self._tf_apply_inputs(step)
            if values["engine"] != "cloud" or not values["workspace"]:
                continue
            yield WorkspaceUse(
                str(values["workspace"]),
                values["tfc-organization"] or None,
                values["run-source"] or "upload",
            )

    def _tf_apply_inputs(self, step: Mapping[str, Any]) -> dict[str, str | None]:
        given = step.get("with") or {}
        return {key: render(str(given.get(key, "")), self.lookup) for key in _TF_APPLY}

    def _ignored_by(self, step: Mapping[str, Any]) -> frozenset[str]:
        """The environment variables a tf-apply step passes that its engine does not read: the
        HCP Terraform token, with the cli engine."""
        if _runs_tf_apply(step) and self._tf_apply_inputs(step)["engine"] == "cli":
            return _CLOUD_ONLY
        return frozenset()

    def lookup(self, name: str, probe: tuple[str, Value] | None = None) -> Value:
        if probe is not None and name == probe[0]:
            return probe[1]
        if name in self._bound:
            return self._bound[name]
        if name.startswith("inputs."):
            return self._style.inputs.get(name.removeprefix("inputs."), UNKNOWN)
        if name.startswith("steps."):  # "" when the step is skipped, else set by the run
            return "" if name.split(".")[1] in self._skipped_steps else SET
        return UNKNOWN

    def _steps(self) -> list[dict[str, Any]]:
        return [step for step in self._job.get("steps") or [] if isinstance(step, dict)]

    def _decided_false(self, text: Any) -> bool:
        if text is None:
            return False
        return truthy(condition(str(text), self.lookup)) is False

    def _environment(self) -> str | None:
        named = self._job.get("environment")
        if isinstance(named, dict):
            named = named.get("name")
        return render(str(named), self.lookup) or None if named else None

    def _reads_in(self, node: Any, *, core: bool) -> Iterator[Read]:
        for text in _strings(node):
            for expression in expressions(text):
                for context, kind in (("vars", VARIABLE), ("secrets", SECRET)):
                    for name in references(expression, context):
                        if name not in _AUTOMATIC and self._depends(
                            expression, f"{context}.{name}"
                        ):
                            read = self._read(kind, name, core=core and kind == SECRET)
                            if read is not None:
                                yield read

    def _depends(self, expression: str, name: str) -> bool:
        """Whether the expression's value can change with the name's: unset against set."""
        unset = evaluate(expression, lambda n: self.lookup(n, (name, "")))
        given = evaluate(expression, lambda n: self.lookup(n, (name, SET)))
        return unset is UNKNOWN or unset != given

    def _read(self, kind: str, name: str, *, core: bool) -> Read | None:
        shared = kind == VARIABLE or self._style.name == INLINE or name in self._style.passed
        if self.environment is None and not shared:
            return None  # a called job with no environment never gets it
        return Read(kind, name, self.environment, shared, core)


_TF_APPLY = ("engine", "workspace", "tfc-organization", "run-source")
_CLOUD_ONLY = frozenset({"TF_API_TOKEN"})


def _runs_tf_apply(step: Mapping[str, Any]) -> bool:
    return bool(re.search(r"actions/tf-apply(@|\s|$)", str(step.get("uses") or "")))


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


__all__ = ["Lookup", "Read", "WorkflowNeeds", "WorkspaceUse", "workflow_needs"]
