"""The README's quick start works as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from tests.conftest import REPO_ROOT, CliRunner


def quick_start_commands() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_the_quick_start_is_install_render_and_the_test_command() -> None:
    commands = quick_start_commands()
    assert commands[0] == "python3 -m venv .venv && .venv/bin/pip install ."
    assert commands[1].startswith(".venv/bin/toto-actions render-workflow ")
    assert commands[2] == "scripts/test"
    assert "scripts/test" in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_quick_start_render_writes_the_service_workflow(cli: CliRunner, tmp_path: Path) -> None:
    render_command = shlex.split(quick_start_commands()[1])
    service = tmp_path / "toto-ms-expenses"
    service.mkdir()
    clone = tmp_path / "actions"
    clone.mkdir()
    result = cli(*render_command[1:], cwd=clone)
    assert result.exit_code == 0, result.stderr
    workflow = (service / ".github/workflows/toto-microservice.yml").read_text(encoding="utf-8")
    # A caller of the reusable workflow (the default style), with the service and the region.
    assert "    uses: toto/actions/.github/workflows/toto-microservice.yml@v1\n" in workflow
    assert "      service: toto-ms-expenses\n      aws-region: eu-west-1\n" in workflow


def test_the_sync_permission_table_is_what_the_workflow_asks_for() -> None:
    """Every row of the README's table (`Title (\\`key\\`) | access |`) is a permission the
    rendered token asks for, with its access; the optional ones only with their option."""
    from toto_actions.github.sync_permissions import TITLES, token_permissions

    section = _sync_permissions_section().split(_ORGANIZATION_HEADING, 1)[0]
    rows = _permission_rows(section)
    table = {key: (title, access) for title, key, access, _ in rows}
    everything = token_permissions("environment", create_environments=True, dispatch=True)
    assert table == {key: (TITLES[key], access) for key, access in everything.items()}
    base = token_permissions("environment", create_environments=False, dispatch=False)
    optional = {key: why for _, key, _, why in rows if why.startswith("only with")}
    assert set(optional) == set(everything) - set(base)
    assert "`--sync-dispatch`" in optional["contents"]
    assert "`--create-environments`" in optional["administration"]


_ORGANIZATION_HEADING = "#### Organization secrets (`scope: organization`)"


def _sync_permissions_section() -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("### Permissions of the sync", 1)[1].split("\n## ", 1)[0]


def _permission_rows(section: str) -> list[tuple[str, str, str, str]]:
    """The table rows `| Title (`key`) | access | why |` of section."""
    rows: list[tuple[str, str, str, str]] = re.findall(
        r"^\| ([\w ]+) \(`(\w+)`\) \| (read|write) \| (.*) \|$", section, re.MULTILINE
    )
    return rows


def test_the_organization_permission_table_is_what_the_workflow_asks_for() -> None:
    from toto_actions.github.sync_permissions import title, token_permissions

    section = _sync_permissions_section().split(_ORGANIZATION_HEADING, 1)[1]
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
