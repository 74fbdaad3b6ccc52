"""The doctor's plain logic, without a server: GitHub expressions evaluated as far as a workflow
tells (expressions.py), and what a caller's inputs make the reusable workflow's jobs read
(requirements.py)."""

from __future__ import annotations

import functools

import pytest

from toto_actions.errors import UsageError
from toto_actions.workflows.expressions import SET, UNKNOWN, Value, evaluate, render
from toto_actions.workflows.readiness import MISSING, Finding, WorkspaceState, workspace_findings
from toto_actions.workflows.render import render_reusable
from toto_actions.workflows.requirements import SECRET, VARIABLE, WorkflowNeeds, workflow_needs

KNOWN: dict[str, Value] = {
    "inputs.engine": "cloud",
    "inputs.organization": "",
    "inputs.flag": True,
    "steps.token.outputs.value": SET,
}


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("inputs.engine == 'CLOUD'", True),  # GitHub compares strings ignoring case
        ("inputs.engine != 'cloud' && vars.X || ''", ""),
        ("inputs.engine == 'cloud' && (inputs.organization || 'acme') || ''", "acme"),
        ("inputs.organization || vars.X", UNKNOWN),
        ("!inputs.flag", False),
        ("steps.token.outputs.value || secrets.TOKEN", SET),
        ("steps.token.outputs.value == 'x'", UNKNOWN),  # set by the run: not known
        ("startsWith(github.ref, 'refs/heads/') && 'push'", UNKNOWN),
        ("fromJSON(inputs.engine)[0]", UNKNOWN),
        ("'it''s'", "it's"),
        ("1 == 1", True),
        ("null || false", False),
        ("inputs.engine ==", UNKNOWN),  # not an expression it can read
    ],
)
def test_expressions_evaluate_as_far_as_the_text_tells(expression: str, value: Value) -> None:
    assert evaluate(expression, lambda name: KNOWN.get(name, UNKNOWN)) == value


def test_a_template_renders_only_when_each_expression_is_known() -> None:
    lookup = functools.partial(KNOWN.get)
    assert render("ws-${{ inputs.engine }}-${{ inputs.flag }}", lambda n: lookup(n, UNKNOWN)) == (
        "ws-cloud-true"
    )
    assert render("${{ github.ref }}", lambda name: UNKNOWN) is None


def caller(kind: str, inputs: dict[str, str], secrets: tuple[str, ...] = ()) -> str:
    lines = [
        "jobs:",
        "  toto:",
        f"    uses: toto/actions/.github/workflows/toto-{kind}.yml@v1",
        "    with:",
        *[f"      {name}: {value!r}" for name, value in inputs.items()],
    ]
    if secrets:
        lines += ["    secrets:", *[f"      {s}: ${{{{ secrets.{s} }}}}" for s in secrets]]
    return "\n".join(lines) + "\n"


def needs_of(kind: str, inputs: dict[str, str], secrets: tuple[str, ...] = ()) -> WorkflowNeeds:
    return workflow_needs(caller(kind, inputs, secrets), kind, reusable)


def reusable(kind: str) -> str:
    return render_reusable(kind).content


def names(needs: WorkflowNeeds, kind: str, environment: str | None) -> set[str]:
    return {r.name for r in needs.reads if r.kind == kind and r.environment == environment}


def test_the_cli_engine_reads_its_backend_and_role_and_no_hcp_token() -> None:
    needs = needs_of("microservice", {"service": "svc", "terraform-engine": "cli"})
    assert names(needs, SECRET, "dev") == {"TOTO_REGISTRY_PASSWORD", *core_values()}
    assert {"TOTO_BACKEND_CONFIG", "AWS_ROLE_ARN", "AWS_REGION"} <= names(needs, VARIABLE, "dev")
    assert "TF_CLOUD_ORGANIZATION" not in names(needs, VARIABLE, "dev")
    assert needs.workspaces == ()  # no HCP Terraform workspace to check


def test_the_cloud_engine_runs_a_workspace_per_environment() -> None:
    needs = needs_of(
        "microservice", {"service": "svc", "environments": "qa=main", "tfc-organization": "acme"}
    )
    assert needs.environments == ("qa", "qa-plan")
    assert needs.plan_environments == {"qa-plan"}
    assert [(w.name, w.organization, w.run_source) for w in needs.workspaces] == [
        ("svc-qa", "acme", "upload")
    ]
    assert "TF_CLOUD_ORGANIZATION" not in names(needs, VARIABLE, "qa")
    assert "TF_API_TOKEN" in names(needs, SECRET, "qa-plan")


@pytest.mark.parametrize(
    ("auth", "read", "not_read"),
    [
        ("app", {"TOTO_APP_PRIVATE_KEY"}, {"TOTO_SYNC_TOKEN"}),
        ("token", {"TOTO_SYNC_TOKEN"}, {"TOTO_APP_PRIVATE_KEY"}),
    ],
)
def test_the_core_sync_reads_the_credentials_of_its_auth_in_apply_environments_only(
    auth: str, read: set[str], not_read: set[str]
) -> None:
    needs = needs_of("core", {"service": "core", "sync-auth": auth, "run-source": "vcs"})
    assert read <= names(needs, SECRET, "dev")
    assert not (not_read & names(needs, SECRET, "dev"))
    assert not ((read | {"TOTO_FINGERPRINT_KEY"}) & names(needs, SECRET, "dev-plan"))
    assert {w.run_source for w in needs.workspaces} == {"vcs"}


def test_a_job_without_environment_never_gets_a_secret_the_caller_does_not_pass() -> None:
    needs = needs_of("microservice", {"service": "svc"}, ("TOTO_REGISTRY_PASSWORD",))
    assert not any(r.environment is None and r.kind == SECRET for r in needs.reads)
    passed = {r.name for r in needs.reads if r.kind == SECRET and r.shared}
    assert passed == {"TOTO_REGISTRY_PASSWORD"}


def test_a_caller_of_another_workflow_is_refused() -> None:
    text = "jobs:\n  x:\n    uses: someone/else/.github/workflows/deploy.yml@v1\n"
    with pytest.raises(UsageError, match=r"calls someone/else/\.github/workflows/deploy\.yml@v1"):
        workflow_needs(text, "microservice", reusable)


def core_values() -> set[str]:
    from toto_actions.workflows.settings import DEFAULT_CORE_SECRETS

    return set(DEFAULT_CORE_SECRETS)


@pytest.mark.parametrize(
    ("run_source", "state", "problems"),
    [
        ("vcs", WorkspaceState(can_queue_run=True, vcs_connected=True), []),
        ("upload", WorkspaceState(can_queue_run=True, vcs_connected=False), []),
        (
            "vcs",
            WorkspaceState(can_queue_run=True, vcs_connected=False),
            ["run-source is vcs but no VCS repository is connected to it"],
        ),
        (
            "vcs",
            WorkspaceState(can_queue_run=False, vcs_connected=True),
            [
                "the token cannot queue a plan (permissions.can-queue-run): give its team the "
                "plan permission"
            ],
        ),
        ("upload", None, ["not found (create it, or give the token's team access to it)"]),
    ],
)
def test_a_core_workspace_matches_its_run_source(
    run_source: str, state: WorkspaceState | None, problems: list[str]
) -> None:
    needs = needs_of(
        "core", {"service": "core", "environments": "dev=main", "run-source": run_source}
    )
    found = workspace_findings(needs, "acme", {"core-dev": state})
    assert found == [Finding(MISSING, f"workspace acme/core-dev: {p}") for p in problems]
