"""Rendered workflows are clean under the linters people run on workflows.

actionlint (no finding but one of its age, below), zizmor (nothing but `unpinned-uses` where
actions are referred to by tag, as their own READMEs show; nothing at all, even as an auditor,
with --pin-actions and the toto actions at a commit) and GitHub's workflow schema (SchemaStore's,
as check-jsonschema vendors it), on several renders. Each linter is first shown to fail on a broken
workflow, so a linter that silently checks nothing cannot pass this suite.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from testing.workflow_linters import TOOLS_BIN, actionlint, schema_check, zizmor_findings
from tests.conftest import CliRunner, make_cli_runner

PINNED_REF = "0123456789abcdef0123456789abcdef01234567"

RENDERS = {
    "microservice-cloud": ["--kind", "microservice", "--service", "toto-ms-expenses"],
    "microservice-cli-custom-environments": [
        "--kind",
        "microservice",
        "--service",
        "toto-ms-games",
        "--terraform-engine",
        "cli",
        "--aws-region",
        "eu-central-1",
        "--aws-role-arn",
        "arn:aws:iam::123456789012:role/deploy",
        "--environments",
        "dev=develop,feature/**;staging=main;prod=release-*,hotfix/**",
        "--require-reviewed-plan",
        "staging,prod",
    ],
    "microservice-pinned-fork": [
        "--kind",
        "microservice",
        "--service",
        "toto-ms-x",
        "--actions-repo",
        "acme/toto-fork",
        "--actions-ref",
        PINNED_REF,
        "--tfc-organization",
        "acme",
    ],
    "core-cloud-app": [
        "--kind",
        "core",
        "--service",
        "toto-terra-aws",
        "--tfc-organization",
        "acme",
        "--service-repositories",
        "toto-ms-expenses,toto-ms-games,toto-ms-supermarket",
    ],
    "microservice-multi-platform": [
        "--kind",
        "microservice",
        "--service",
        "toto-ms-arm",
        "--platforms",
        "linux/amd64,linux/arm64,linux/arm/v7",
    ],
    "core-app-dispatch-create-environments": [
        "--kind",
        "core",
        "--service",
        "toto-terra-aws",
        "--service-repositories",
        "acme/toto-ms-expenses",
        "--sync-dispatch",
        "toto-core: changed",
        "--create-environments",
    ],
    "microservice-odd-dispatch-event": [
        "--kind",
        "microservice",
        "--service",
        "toto-ms-z",
        "--sync-dispatch",
        "toto-core: changed, 'again'",
    ],
    "microservice-no-dispatch": [
        "--kind",
        "microservice",
        "--service",
        "toto-ms-z",
        "--sync-dispatch",
        "none",
    ],
    "odd-environment-names-no-core-secrets": [
        "--kind",
        "microservice",
        "--service",
        "toto-ms-y",
        "--terraform-engine",
        "cli",
        "--environments",
        "null=main;True=release/**;on=hotfix-*",
    ],
    "core-cli-token": [
        "--kind",
        "core",
        "--service",
        "toto-terra-aws",
        "--terraform-engine",
        "cli",
        "--sync-auth",
        "token",
        "--environments",
        "dev=main;qa=qa;prod=prod",
    ],
    "core-cloud-vcs-weekday-drift": [
        "--kind",
        "core",
        "--service",
        "toto-terra-aws",
        "--service-repositories",
        "toto-ms-expenses",
        "--run-source",
        "vcs",
        "--drift-schedule",
        "*/30 6-18 * JAN-DEC mon-fri",
    ],
    "microservice-organization-secrets": [
        "--kind",
        "microservice",
        "--service",
        "toto-ms-org",
        "--secrets-scope",
        "organization",
        "--environments",
        "dev=main;qa_eu=qa;prod=release/**",
    ],
    "core-organization-secrets-app-dispatch": [
        "--kind",
        "core",
        "--service",
        "toto-terra-aws",
        "--service-repositories",
        "acme/toto-ms-expenses,acme/toto-ms-games",
        "--sync-dispatch",
        "toto-core-changed",
    ],
    "core-organization-secrets-token": [
        "--kind",
        "core",
        "--service",
        "toto-terra-aws",
        "--sync-auth",
        "token",
        "--secrets-scope",
        "organization",
    ],
    "microservice-cli-no-drift": [
        "--kind",
        "microservice",
        "--service",
        "toto-ms-quiet",
        "--terraform-engine",
        "cli",
        "--drift-schedule",
        "none",
    ],
}

# Every third-party action by commit SHA, the toto actions at a commit: nothing for zizmor to find.
PINNED_RENDERS = {
    "microservice-pinned-everything": [
        "--kind",
        "microservice",
        "--service",
        "toto-ms-pinned",
        "--terraform-engine",
        "cli",
        "--platforms",
        "linux/amd64,linux/arm64",
        "--actions-ref",
        PINNED_REF,
        "--pin-actions",
    ],
    "core-cloud-app-pinned": [
        *RENDERS["core-cloud-app"],
        "--actions-ref",
        PINNED_REF,
        "--pin-actions",
    ],
    "core-cli-token-pinned-from-toto-yml": [
        *RENDERS["core-cli-token"],
        "--actions-ref",
        PINNED_REF,
    ],
    "core-organization-secrets-pinned": [
        *RENDERS["core-organization-secrets-app-dispatch"],
        "--secrets-scope",  # agrees with toto-secrets.yml; the render without the file takes it
        "organization",
        "--actions-ref",
        PINNED_REF,
        "--pin-actions",
    ],
    "core-cloud-vcs-pinned": [
        *RENDERS["core-cloud-vcs-weekday-drift"],
        "--actions-ref",
        PINNED_REF,
        "--pin-actions",
    ],
}
ORGANIZATION_CONFIG = "version: 1\nscope: organization\nrepositories: [acme/a]\nsecrets: {A: a}\n"
# Written into the repository before the render, by render name: file name -> content.
FILES = {
    "odd-environment-names-no-core-secrets": {"toto.yml": "core-secrets: []\n"},
    "core-cli-token-pinned-from-toto-yml": {"toto.yml": "pin-actions: true\n"},
    "core-organization-secrets-app-dispatch": {"toto-secrets.yml": ORGANIZATION_CONFIG},
    "core-organization-secrets-pinned": {"toto-secrets.yml": ORGANIZATION_CONFIG},
}

BROKEN_WORKFLOW = """\
on: push
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-latest
    bogus-key: 1
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.head_commit.message }}"
"""


@pytest.fixture(scope="module")
def broken_workflow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("broken") / "broken.yml"
    path.write_text(BROKEN_WORKFLOW, encoding="utf-8")
    return path


def test_actionlint_catches_a_broken_workflow(broken_workflow: Path) -> None:
    messages = [str(finding["message"]) for finding in actionlint(broken_workflow)]
    assert any('unexpected key "bogus-key"' in message for message in messages), messages


def test_zizmor_catches_a_broken_workflow(broken_workflow: Path) -> None:
    findings = zizmor_findings(broken_workflow)
    assert {"template-injection", "artipacked"} <= set(findings), findings


def test_the_schema_catches_a_broken_workflow(broken_workflow: Path) -> None:
    assert schema_check(broken_workflow).returncode == 1


def render_into(tmp_path_factory: pytest.TempPathFactory, cli: CliRunner, name: str) -> Path:
    repository = tmp_path_factory.mktemp(name)
    for file_name, content in FILES.get(name, {}).items():
        (repository / file_name).write_text(content, encoding="utf-8")
    arguments = {**RENDERS, **PINNED_RENDERS}[name]
    result = cli("render-workflow", "--output-dir", str(repository), *arguments)
    assert result.exit_code == 0, result.stderr
    (workflow,) = (repository / ".github" / "workflows").glob("*.yml")
    return workflow


@pytest.fixture(scope="module", params=sorted(RENDERS) + sorted(PINNED_RENDERS))
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_into(tmp_path_factory, request.getfixturevalue("cli_module"), request.param)


@pytest.fixture(scope="module", params=sorted(PINNED_RENDERS))
def pinned(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_into(tmp_path_factory, request.getfixturevalue("cli_module"), request.param)


@pytest.fixture(scope="module")
def cli_module(tmp_path_factory: pytest.TempPathFactory) -> CliRunner:
    return make_cli_runner(tmp_path_factory.mktemp("cwd"))


def test_actionlint_finds_nothing(rendered: Path) -> None:
    assert actionlint(rendered) == []


def test_zizmor_finds_nothing_but_unpinned_third_party_actions(rendered: Path) -> None:
    findings = zizmor_findings(rendered)
    assert set(findings) <= {"unpinned-uses"}, findings


def test_zizmor_finds_nothing_at_all_with_every_action_pinned(pinned: Path) -> None:
    uses = re.findall(r"uses: (\S+)", pinned.read_text(encoding="utf-8"))
    assert any(reference.startswith("actions/checkout@") for reference in uses), uses
    assert zizmor_findings(pinned, persona="auditor") == []


@pytest.mark.parametrize("name", sorted(PINNED_RENDERS))
def test_without_the_pins_zizmor_flags_the_third_party_tags(
    name: str, tmp_path: Path, cli: CliRunner
) -> None:
    """The same renders without pin-actions: proof that the clean result above is the pins'."""
    arguments = [argument for argument in PINNED_RENDERS[name] if argument != "--pin-actions"]
    assert cli("render-workflow", *arguments).exit_code == 0
    (workflow,) = (tmp_path / ".github" / "workflows").glob("*.yml")
    assert set(zizmor_findings(workflow, persona="auditor")) == {"unpinned-uses"}


def test_github_workflow_schema_accepts_it(rendered: Path) -> None:
    result = schema_check(rendered)
    assert result.returncode == 0, result.stdout + result.stderr


def test_toto_actions_pinned_to_a_commit_are_not_unpinned(tmp_path: Path, cli: CliRunner) -> None:
    assert cli("render-workflow", *RENDERS["microservice-pinned-fork"]).exit_code == 0
    workflow = tmp_path / ".github" / "workflows" / "toto-microservice.yml"
    completed = subprocess.run(
        [
            str(TOOLS_BIN / "zizmor"),
            "--offline",
            "--no-progress",
            "--format",
            "json",
            str(workflow),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    flagged = [
        location["concrete"]["feature"]
        for finding in json.loads(completed.stdout)
        for location in finding["locations"]
    ]
    assert flagged, "the third-party actions are referred to by tag and should be flagged"
    assert not any("acme/toto-fork" in feature for feature in flagged)
