"""toto-secrets.yml may not sync a secret or variable the rendered workflows read as their own
setting (issue 28, point 11): in an environment it would take the place of the one the user set,
since GitHub reads an environment's secret or variable before the repository's and the
organization's ("If a secret with the same name exists at multiple levels, the secret at the
lowest level takes precedence": docs.github.com, "Using secrets in GitHub Actions"; the same for
variables, "Store information in variables"). Secrets and variables are refused in both kinds
(the safe reading: GitHub keeps them apart, a reader does not). AWS_REGION stays syncable: the
README documents it as the region the core gives each service's environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import CliRunner
from toto_actions.errors import UsageError
from toto_actions.github.sync_config import SYNCED_WORKFLOW_NAMES, WORKFLOW_NAMES, load_config

TEMPLATES = Path(__file__).resolve().parents[2] / "workflows-templates"
# `secrets.NAME` and `vars.NAME` in a template: a name the rendered workflow reads by itself (the
# synced ones it reads are written `secrets.[[ ... ]]`, not matched here).
_READ = re.compile(r"(?<![\w.-])(?:secrets|vars)\.([A-Za-z_][A-Za-z0-9_]*)")


def names_the_templates_read() -> set[str]:
    return {
        name
        for path in TEMPLATES.glob("*.j2")
        for name in _READ.findall(path.read_text(encoding="utf-8"))
    }


def test_the_list_is_exactly_what_the_templates_read() -> None:
    assert names_the_templates_read() == WORKFLOW_NAMES
    assert SYNCED_WORKFLOW_NAMES <= WORKFLOW_NAMES


def config(tmp_path: Path, kind: str, name: str) -> Path:
    path = tmp_path / "toto-secrets.yml"
    path.write_text(
        f"version: 1\nowner: acme\nrepositories:\n  - toto-ms-a\n{kind}:\n  {name}: some_output\n",
        encoding="utf-8",
    )
    return path


REFUSED = sorted(WORKFLOW_NAMES - SYNCED_WORKFLOW_NAMES)


@pytest.mark.parametrize("kind", ["secrets", "variables"])
@pytest.mark.parametrize("name", [*REFUSED, "tf_cloud_address"])
def test_a_name_the_workflows_read_is_refused(tmp_path: Path, kind: str, name: str) -> None:
    path = config(tmp_path, kind, name)
    with pytest.raises(UsageError) as raised:
        load_config(path, None)
    assert str(raised.value) == (
        f"{path}: {kind}: {name!r} is a name the rendered workflows read (their own "
        "setting): a synced value would take its place; choose another name"
    )


@pytest.mark.parametrize("name", ["AWS_REGION", "TOTO_DB_URL", "TF_CLOUD_WORKSPACE"])
def test_other_names_are_kept(tmp_path: Path, name: str) -> None:
    loaded = load_config(config(tmp_path, "variables", name), None)
    assert dict(loaded.repositories[0].variables) == {name: "some_output"}


def test_sync_secrets_refuses_it_before_any_request(cli: CliRunner, tmp_path: Path) -> None:
    """Exit 2 with the one line, where a request would have failed (exit 1): nothing listens
    at the API address."""
    config(tmp_path, "variables", "TF_CLOUD_ADDRESS")
    (tmp_path / "outputs.json").write_text(
        '{"some_output": {"value": "http://evil.example", "type": "string"}}', encoding="utf-8"
    )
    result = cli(
        "sync-secrets",
        "--environment",
        "dev",
        "--outputs",
        "outputs.json",
        "--github-api-url",
        "http://127.0.0.1:1",
        env={"GITHUB_TOKEN": "t0ken"},
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "error: toto-secrets.yml: variables: 'TF_CLOUD_ADDRESS' is a name the "
        "rendered workflows read (their own setting): a synced value would take its place; "
        "choose another name\n",
    )
