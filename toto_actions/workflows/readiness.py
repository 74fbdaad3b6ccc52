"""What a repository still lacks for its workflow: the needs (requirements.py) against what the
repository holds, as the lines `toto-actions doctor` prints. Names only, never a value.

A job sees a variable of its environment, else of the repository, else of the organization (one
shared with the repository); a secret likewise, except that a called workflow's job gets only
its environment's and those its caller passes. The required names are reported apart from the
optional knobs, and a plan environment's credential that the repository level also holds is a
warning: a plan job whose environment lacks it would take the repository's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from toto_actions.workflows.requirements import SECRET, Read, WorkflowNeeds

MISSING, OPTIONAL, WARNING = "missing", "optional", "warning"


class Knob(NamedTuple):
    """A name the workflows read that may stay unset, and what setting it does."""

    name: str
    does: str


OPTIONAL_KNOBS = {
    knob.name: knob
    for knob in (
        Knob("TOTO_REGISTRY", "push to this v2 registry instead of the account's ECR registry"),
        Knob("TOTO_REGISTRY_USERNAME", "the user name of TOTO_REGISTRY, if it needs one"),
        Knob("TOTO_REGISTRY_PASSWORD", "the password of TOTO_REGISTRY, if it needs one"),
        Knob("TF_CLOUD_ADDRESS", "an HCP Terraform Enterprise address (default app.terraform.io)"),
        Knob("TOTO_BACKEND_CONFIG", "a file of backend settings for terraform init"),
        Knob("TOTO_GITHUB_API_URL", "another GitHub API (default: this repository's)"),
        Knob("TOTO_WRITE_INTERVAL", "seconds between two of the sync's writes (default 1)"),
        Knob(
            "TOTO_FINGERPRINT_KEY",
            "lets the sync skip unchanged secrets (without it every secret is written)",
        ),
    )
}
# Read by the plan jobs too and meant to be the same in every environment: the repository's
# value is no fallback to warn about.
SAME_EVERYWHERE = frozenset({"AWS_REGION", "TF_CLOUD_ORGANIZATION"})
_AT_REPOSITORY = "the repository (or its organization)"


@dataclass(frozen=True)
class RepositorySetup:
    """What a repository holds: its environments (case-folded, as GitHub compares them) and
    the secret and variable names of itself (key None), of each environment read (case-folded
    name) and of its organization (those shared with it)."""

    environments: frozenset[str]
    secrets: Mapping[str | None, frozenset[str]]
    variables: Mapping[str | None, frozenset[str]]
    organization_secrets: frozenset[str]
    organization_variables: frozenset[str]

    def holds(self, kind: str, name: str, environment: str | None) -> bool:
        """Whether that level holds the name: an environment, else the repository."""
        levels = self.secrets if kind == SECRET else self.variables
        key = environment.casefold() if environment is not None else None
        return name in levels.get(key, frozenset())

    def shared(self, kind: str, name: str) -> bool:
        """Whether the repository or its organization holds the name."""
        organization = self.organization_secrets if kind == SECRET else self.organization_variables
        return self.holds(kind, name, None) or name in organization


class Finding(NamedTuple):
    level: str  # MISSING, OPTIONAL or WARNING
    text: str


def findings(needs: WorkflowNeeds, setup: RepositorySetup) -> list[Finding]:
    """Every missing environment, then each name missing where a job reads it (required ones,
    then the optional knobs), then the plan environments' fallbacks."""
    found = [
        Finding(MISSING, f"environment {name}: create it in the repository's settings")
        for name in needs.environments
        if name.casefold() not in setup.environments
    ]
    # In the order the jobs first read each name, the core values last.
    unmet: dict[tuple[str, str], list[Read]] = {(r.kind, r.name): [] for r in needs.reads}
    for read in needs.reads:
        if not _met(read, setup):
            unmet[(read.kind, read.name)].append(read)
    groups = sorted((reads for reads in unmet.values() if reads), key=lambda reads: reads[0].core)
    found += [_missing(reads) for reads in groups if reads[0].name not in OPTIONAL_KNOBS]
    found += [_optional(reads) for reads in groups if reads[0].name in OPTIONAL_KNOBS]
    return found + _fallbacks(needs, setup)


def _met(read: Read, setup: RepositorySetup) -> bool:
    if read.environment is not None and setup.holds(read.kind, read.name, read.environment):
        return True
    return read.shared and setup.shared(read.kind, read.name)


def _places(reads: list[Read]) -> str:
    """Where a name can be set for these jobs: their environments, or once for all of them."""
    environments = sorted({read.environment for read in reads if read.environment is not None})
    listed = f"environment{'s' if len(environments) > 1 else ''} {', '.join(environments)}"
    if not environments:
        return _AT_REPOSITORY
    if all(read.shared for read in reads):
        return f"{listed}, or once in {_AT_REPOSITORY}"
    return listed


def _missing(reads: list[Read]) -> Finding:
    first = reads[0]
    if first.core:
        return Finding(
            MISSING,
            f"{first.kind} {first.name}: missing in {_places(reads)}; the core flow's sync writes "
            "it: run the core flow first (its toto-secrets.yml must list this repository)",
        )
    return Finding(MISSING, f"{first.kind} {first.name}: set it in {_places(reads)}")


def _optional(reads: list[Read]) -> Finding:
    first = reads[0]
    knob = OPTIONAL_KNOBS[first.name]
    return Finding(
        OPTIONAL, f"{first.kind} {first.name} is not set ({knob.does}); set in {_places(reads)}"
    )


def _fallbacks(needs: WorkflowNeeds, setup: RepositorySetup) -> list[Finding]:
    """A required name a plan job reads that the repository level holds: where the plan
    environment lacks it (or comes to), the plan job takes the repository's, which is meant for
    the apply jobs."""
    warned: dict[tuple[str, str], list[str]] = {}
    for read in needs.reads:
        if (
            read.environment is not None
            and read.environment in needs.plan_environments
            and read.shared
            and read.name not in OPTIONAL_KNOBS
            and read.name not in SAME_EVERYWHERE
            and setup.holds(read.kind, read.name, None)
        ):
            warned.setdefault((read.kind, read.name), []).append(read.environment)
    return [
        Finding(
            WARNING,
            f"repository {kind} {name} is read by the plan jobs wherever "
            f"{', '.join(sorted(set(environments)))} lacks it: set it in each environment and "
            "delete the repository's",
        )
        for (kind, name), environments in warned.items()
    ]


class WorkspaceState(NamedTuple):
    """What HCP Terraform answers of a workspace for a token: whether it may queue a plan
    (permissions.can-queue-run) and whether a VCS repository is connected (vcs-repo)."""

    can_queue_run: bool
    vcs_connected: bool


def workspace_findings(
    needs: WorkflowNeeds, organization: str, states: Mapping[str, WorkspaceState | None]
) -> list[Finding]:
    """Each workspace the workflow runs: it exists, the token may queue a plan on it, and its
    VCS connection matches the run source (vcs follows the runs a connection starts; an upload
    to a connected workspace would run beside the runs its pushes start)."""
    return [
        Finding(MISSING, f"workspace {organization}/{use.name}: {problem}")
        for use in needs.workspaces
        for problem in _workspace_problems(needs.kind, use.run_source, states[use.name])
    ]


def _workspace_problems(kind: str, run_source: str, state: WorkspaceState | None) -> list[str]:
    if state is None:
        return ["not found (create it, or give the token's team access to it)"]
    problems = []
    if not state.can_queue_run:
        problems.append(
            "the token cannot queue a plan (permissions.can-queue-run): give its team the plan "
            "permission"
        )
    if run_source == "vcs" and not state.vcs_connected:
        problems.append("run-source is vcs but no VCS repository is connected to it")
    if run_source != "vcs" and state.vcs_connected:
        how = (
            "render with --run-source vcs, or disconnect it" if kind == "core" else "disconnect it"
        )
        problems.append(
            f"a VCS repository is connected to it, whose pushes start runs beside the uploaded "
            f"ones: {how}"
        )
    return problems
