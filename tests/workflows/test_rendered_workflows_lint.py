"""Rendered workflows are clean under the linters people run on workflows.

actionlint (no finding but one of its age, see testing/workflow_linters.py), zizmor (nothing but
`unpinned-uses` where actions are referred to by tag, as their own READMEs show; nothing at all,
even as an auditor, with --pin-actions and the toto actions at a commit) and GitHub's workflow
schema (SchemaStore's, as check-jsonschema vendors it), on several renders, each in both styles:
the inline workflow and the reusable style's caller (a render the reusable workflow cannot run
only inline). Each linter runs once on every file and its findings are checked file by file.
Each linter is first shown to fail on a broken workflow, so a linter that silently checks nothing
cannot pass this suite.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from testing.workflow_linters import (
    actionlint_files,
    schema_check,
    schema_errors,
    zizmor_files,
)
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
# Renders the reusable workflow cannot run (organization-scope secrets, core secrets other than
# the default ones): render-workflow refuses them in the reusable style, so only inline here.
INLINE_ONLY = frozenset(
    {
        "microservice-organization-secrets",
        "core-organization-secrets-app-dispatch",
        "core-organization-secrets-token",
        "core-organization-secrets-pinned",
        "odd-environment-names-no-core-secrets",
    }
)
STYLES = ("inline", "reusable")
ORGANIZATION_CONFIG = (
    "version: 1\nscope: organization\nrepositories: [acme/toto-ms-expenses, acme/toto-ms-games]\n"
    "secrets: {A: a}\n"
)
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


# What a finding is attributed to: a file beside the broken one, with nothing to find.
CLEAN_WORKFLOW = """\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo clean
"""


@pytest.fixture(scope="module")
def broken_and_clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("broken")
    broken, clean = directory / "broken.yml", directory / "clean.yml"
    broken.write_text(BROKEN_WORKFLOW, encoding="utf-8")
    clean.write_text(CLEAN_WORKFLOW, encoding="utf-8")
    return broken, clean


# The broken and the clean workflow are linted in the same run as the renders (the fixtures
# below): the run whose findings the renders are checked against finds them where they are.
def test_actionlint_catches_a_broken_workflow(
    broken_and_clean: tuple[Path, Path], actionlint_found: dict[Path, list[dict[str, object]]]
) -> None:
    broken, clean = broken_and_clean
    messages = [str(finding["message"]) for finding in actionlint_found[broken]]
    assert any('unexpected key "bogus-key"' in message for message in messages), messages
    assert actionlint_found[clean] == []


def test_zizmor_catches_a_broken_workflow(
    broken_and_clean: tuple[Path, Path], zizmor_found: dict[Path, list[Any]]
) -> None:
    broken, clean = broken_and_clean
    findings = [finding["ident"] for finding in zizmor_found[broken]]
    assert {"template-injection", "artipacked"} <= set(findings), findings
    assert zizmor_found[clean] == []


def test_the_schema_catches_a_broken_workflow(
    broken_and_clean: tuple[Path, Path], schema_found: dict[Path, list[str]]
) -> None:
    broken, clean = broken_and_clean
    assert schema_check(broken).returncode == 1
    assert schema_found[broken] == [
        "Additional properties are not allowed ('bogus-key' was unexpected) at $.jobs.build"
    ]
    assert schema_found[clean] == []


Render = tuple[str, str]  # (render name, style)


def in_both_styles(names: list[str]) -> list[Render]:
    return [
        (name, style)
        for name in sorted(names)
        for style in STYLES
        if style == "inline" or name not in INLINE_ONLY
    ]


EVERY_RENDER = in_both_styles([*RENDERS, *PINNED_RENDERS])
EVERY_PINNED_RENDER = in_both_styles(list(PINNED_RENDERS))


def render_id(render: Render) -> str:
    name, style = render
    return f"{style}-{name}"


def render_into(repository: Path, cli: CliRunner, arguments: list[str], style: str) -> Path:
    result = cli("render-workflow", "--output-dir", str(repository), "--style", style, *arguments)
    assert result.exit_code == 0, result.stderr
    (workflow,) = (repository / ".github" / "workflows").glob("*.yml")
    return workflow


@pytest.fixture(scope="module")
def cli_module(tmp_path_factory: pytest.TempPathFactory) -> CliRunner:
    return make_cli_runner(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(scope="module")
def workflows(
    tmp_path_factory: pytest.TempPathFactory, cli_module: CliRunner
) -> dict[Render, Path]:
    """Every render in each of its styles, each in a repository of its own."""
    rendered = {}
    for name, style in EVERY_RENDER:
        repository = tmp_path_factory.mktemp(render_id((name, style)))
        for file_name, content in FILES.get(name, {}).items():
            (repository / file_name).write_text(content, encoding="utf-8")
        arguments = {**RENDERS, **PINNED_RENDERS}[name]
        rendered[name, style] = render_into(repository, cli_module, arguments, style)
    return rendered


@pytest.fixture(scope="module")
def linted(workflows: dict[Render, Path], broken_and_clean: tuple[Path, Path]) -> list[Path]:
    """What each linter runs on at once: every render, the broken and the clean workflow."""
    return [*workflows.values(), *broken_and_clean]


@pytest.fixture(scope="module")
def actionlint_found(linted: list[Path]) -> dict[Path, list[dict[str, object]]]:
    return actionlint_files(linted)


@pytest.fixture(scope="module")
def zizmor_found(linted: list[Path]) -> dict[Path, list[Any]]:
    return zizmor_files(linted)


@pytest.fixture(scope="module")
def zizmor_auditor_found(workflows: dict[Render, Path]) -> dict[Path, list[Any]]:
    return zizmor_files([workflows[render] for render in EVERY_PINNED_RENDER], persona="auditor")


@pytest.fixture(scope="module")
def schema_found(linted: list[Path]) -> dict[Path, list[str]]:
    return schema_errors(linted)


@pytest.mark.parametrize("render", EVERY_RENDER, ids=render_id)
def test_actionlint_finds_nothing(
    render: Render,
    workflows: dict[Render, Path],
    actionlint_found: dict[Path, list[dict[str, object]]],
) -> None:
    path = workflows[render]
    assert actionlint_found[path] == [], path


@pytest.mark.parametrize("render", EVERY_RENDER, ids=render_id)
def test_zizmor_finds_nothing_but_unpinned_third_party_actions(
    render: Render, workflows: dict[Render, Path], zizmor_found: dict[Path, list[Any]]
) -> None:
    path = workflows[render]
    findings = [finding["ident"] for finding in zizmor_found[path]]
    assert set(findings) <= {"unpinned-uses"}, (path, findings)


@pytest.mark.parametrize("render", EVERY_PINNED_RENDER, ids=render_id)
def test_zizmor_finds_nothing_at_all_with_every_action_pinned(
    render: Render, workflows: dict[Render, Path], zizmor_auditor_found: dict[Path, list[Any]]
) -> None:
    name, style = render
    path = workflows[render]
    uses = re.findall(r"uses: (\S+)", path.read_text(encoding="utf-8"))
    if style == "inline":
        assert any(reference.startswith("actions/checkout@") for reference in uses), uses
    else:  # the caller runs no action: it names the reusable workflow, at the pinned ref
        arguments = PINNED_RENDERS[name]
        kind = arguments[arguments.index("--kind") + 1]
        assert uses == [f"toto/actions/.github/workflows/toto-{kind}.yml@{PINNED_REF}"]
    assert zizmor_auditor_found[path] == [], path


@pytest.fixture(scope="module")
def unpinned_found(
    tmp_path_factory: pytest.TempPathFactory, cli_module: CliRunner
) -> dict[str, list[Any]]:
    """zizmor's findings as an auditor on the pinned renders, inline, rendered without
    pin-actions (nor the files that set it), by render name."""
    unpinned = {}
    for name, arguments in PINNED_RENDERS.items():
        without_pins = [argument for argument in arguments if argument != "--pin-actions"]
        repository = tmp_path_factory.mktemp(f"unpinned-{name}")
        unpinned[name] = render_into(repository, cli_module, without_pins, "inline")
    found = zizmor_files(list(unpinned.values()), persona="auditor")
    return {name: found[path] for name, path in unpinned.items()}


@pytest.mark.parametrize("name", sorted(PINNED_RENDERS))
def test_without_the_pins_zizmor_flags_the_third_party_tags(
    name: str, unpinned_found: dict[str, list[Any]]
) -> None:
    """The same renders without pin-actions: proof that the clean result above is the pins'."""
    assert {finding["ident"] for finding in unpinned_found[name]} == {"unpinned-uses"}


@pytest.mark.parametrize("render", EVERY_RENDER, ids=render_id)
def test_github_workflow_schema_accepts_it(
    render: Render, workflows: dict[Render, Path], schema_found: dict[Path, list[str]]
) -> None:
    path = workflows[render]
    assert schema_found[path] == [], path


@pytest.mark.parametrize("name", sorted(INLINE_ONLY))
def test_the_inline_only_renders_are_refused_in_the_reusable_style(
    name: str, tmp_path: Path, cli: CliRunner
) -> None:
    for file_name, content in FILES.get(name, {}).items():
        (tmp_path / file_name).write_text(content, encoding="utf-8")
    arguments = {**RENDERS, **PINNED_RENDERS}[name]
    result = cli("render-workflow", "--style", "reusable", *arguments)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --style reusable cannot run "), result.stderr


def test_toto_actions_pinned_to_a_commit_are_not_unpinned(
    workflows: dict[Render, Path], zizmor_found: dict[Path, list[Any]]
) -> None:
    inline = zizmor_found[workflows["microservice-pinned-fork", "inline"]]
    flagged = [location["concrete"]["feature"] for f in inline for location in f["locations"]]
    assert flagged, "the third-party actions are referred to by tag and should be flagged"
    assert not any("acme/toto-fork" in feature for feature in flagged)
    # The caller names the fork's reusable workflow at the commit, and nothing else.
    assert zizmor_found[workflows["microservice-pinned-fork", "reusable"]] == []
