"""The README is short and its quick start works as written; the permission tables of
docs/render-workflow.md and docs/organization-scope.md are what the rendered token asks for."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.conftest import REPO_ROOT, CliRunner

README_MAX_LINES = 250  # issue 30: what it is, the two flows, the order of setup, links


def quick_start_commands() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_the_readme_is_at_most_250_lines() -> None:
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES


def test_the_quick_start_installs_then_renders_the_core_before_the_service() -> None:
    commands = quick_start_commands()
    assert commands[0] == "python3 -m venv .venv && .venv/bin/pip install ."
    renders = [shlex.split(command) for command in commands[1:]]
    assert [words[:2] for words in renders] == [[".venv/bin/toto-actions", "render-workflow"]] * 2
    assert [words[words.index("--kind") + 1] for words in renders] == ["core", "microservice"]


def test_the_quick_start_renders_both_workflows(cli: CliRunner, tmp_path: Path) -> None:
    clone = tmp_path / "actions"
    clone.mkdir()
    written = {}
    for command in quick_start_commands()[1:]:
        arguments = shlex.split(command)[1:]
        target = (clone / arguments[arguments.index("--output-dir") + 1]).resolve()
        target.mkdir()
        result = cli(*arguments, cwd=clone)
        assert result.exit_code == 0, result.stderr
        (workflow,) = (target / ".github" / "workflows").iterdir()
        written[workflow.name] = workflow.read_text(encoding="utf-8")
    # Callers of the reusable workflows (the default style), with the service and the region.
    service = written["toto-microservice.yml"]
    assert "    uses: toto/actions/.github/workflows/toto-microservice.yml@v1\n" in service
    assert "      service: toto-ms-orders\n      aws-region: eu-west-1\n" in service
    assert "    uses: toto/actions/.github/workflows/toto-core.yml@v1\n" in written["toto-core.yml"]


def test_the_test_command_of_contributing_is_the_one_ci_runs() -> None:
    contributing = (REPO_ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert "```sh\nscripts/test\n```" in contributing
    assert "scripts/test" in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_sync_permission_table_is_what_the_workflow_asks_for() -> None:
    """Every row of the table (`Title (\\`key\\`) | access |`) is a permission the rendered
    token asks for, with its access; the optional ones only with their option."""
    from toto_actions.github.sync_permissions import TITLES, token_permissions

    rows = _permission_rows(_section("render-workflow.md", "## Permissions of the sync"))
    table = {key: (title, access) for title, key, access, _ in rows}
    everything = token_permissions("environment", create_environments=True, dispatch=True)
    assert table == {key: (TITLES[key], access) for key, access in everything.items()}
    base = token_permissions("environment", create_environments=False, dispatch=False)
    optional = {key: why for _, key, _, why in rows if why.startswith("only with")}
    assert set(optional) == set(everything) - set(base)
    assert "`--sync-dispatch`" in optional["contents"]
    assert "`--create-environments`" in optional["administration"]


def _section(document: str, heading: str) -> str:
    """The text under heading in docs/<document>, up to the next heading of its level."""
    text = (REPO_ROOT / "docs" / document).read_text(encoding="utf-8")
    level = heading.split(" ", 1)[0]
    return text.split(f"\n{heading}\n", 1)[1].split(f"\n{level} ", 1)[0]


def _permission_rows(section: str) -> list[tuple[str, str, str, str]]:
    """The table rows `| Title (`key`) | access | why |` of section."""
    rows: list[tuple[str, str, str, str]] = re.findall(
        r"^\| ([\w ]+) \(`(\w+)`\) \| (read|write) \| (.*) \|$", section, re.MULTILINE
    )
    return rows


def test_the_organization_permission_table_is_what_the_workflow_asks_for() -> None:
    from toto_actions.github.sync_permissions import title, token_permissions

    section = _section("organization-scope.md", "## Permissions")
    rows = _permission_rows(section)
    everything = token_permissions("organization", create_environments=False, dispatch=True)
    assert {key: (name, access) for name, key, access, _ in rows} == {
        key: (title(key), access) for key, access in everything.items()
    }
    base = token_permissions("organization", create_environments=False, dispatch=False)
    optional = {key for _, key, _, why in rows if why.startswith("only with")}
    assert optional == set(everything) - set(base) == {"contents"}
    # The input the pinned create-github-app-token does not declare, named as the runner does.
    assert "Unexpected input(s) 'permission-organization-actions-variables'" in section
