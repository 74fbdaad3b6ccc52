"""toto-secrets.yml: the schema names the key path; names follow GitHub's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from toto_actions.errors import UsageError
from toto_actions.github.sync_config import RepositoryMapping, load_config

EXAMPLE = """\
version: 1
owner: acme
repositories:
  - toto-ms-expenses
  - other/toto-ms-supermarket
  - name: toto-ms-games
    secrets:
      games_bucket: games_bucket
      ECS_SUBNET_1: games_subnet
secrets:
  ECS_SUBNET_1: ecs_subnet_1
  DB_PASSWORD: db_password
variables:
  AWS_REGION: aws_region
"""


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "toto-secrets.yml"
    path.write_text(content, encoding="utf-8")
    return path


def test_the_example_config(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, EXAMPLE), default_owner=None)
    assert config.scope == "environment"
    shared = {"ECS_SUBNET_1": "ecs_subnet_1", "DB_PASSWORD": "db_password"}
    variables = {"AWS_REGION": "aws_region"}
    assert config.repositories == (
        RepositoryMapping("acme/toto-ms-expenses", shared, variables),
        RepositoryMapping("other/toto-ms-supermarket", shared, variables),
        RepositoryMapping(
            "acme/toto-ms-games",
            {
                "ECS_SUBNET_1": "games_subnet",
                "DB_PASSWORD": "db_password",
                "GAMES_BUCKET": "games_bucket",
            },
            variables,
        ),
    )


def test_the_default_owner_serves_when_the_config_has_none(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, "version: 1\nscope: repository\nrepositories: [a]\n"), default_owner="acme"
    )
    assert config.scope == "repository"
    assert [r.full_name for r in config.repositories] == ["acme/a"]


@pytest.mark.parametrize(
    ("content", "problems"),
    [
        ("version: 2\nrepositories: [a]\n", ["version: 1 was expected"]),
        (
            "version: 1\nowner: acme\nrepositories: []\nextra: 1\n",
            [
                "(top level): Additional properties are not allowed ('extra' was unexpected)",
                "repositories: [] should be non-empty",
            ],
        ),
        (
            "version: 1\nrepositories:\n  - name: a\n    secrets: {X: 3}\n",
            ["repositories[0].secrets.X: 3 is not of type 'string'"],
        ),
        (
            "version: 1\nrepositories:\n  - bad name\n",
            [
                "repositories[0]: 'bad name' does not match "
                "'^(?:[A-Za-z0-9][A-Za-z0-9-]{0,38}/)?[A-Za-z0-9._-]{1,100}$'"
            ],
        ),
        (
            "version: 1\nscope: org\nrepositories: [a/b]\n",
            ["scope: 'org' is not one of ['environment', 'repository', 'organization']"],
        ),
        (
            "version: 1\nrepositories: [a/b]\nallow-sensitive: [db_password]\n",
            ["allow-sensitive: a setting of scope organization only"],
        ),
        (
            "version: 1\nscope: repository\nrepositories: [a/b]\nstate-name: team_b\n",
            ["state-name: a setting of scope organization only"],
        ),
        (
            "version: 1\nscope: organization\nrepositories: [a/b]\nstate-name: team-b\n",
            ["state-name: 'team-b' does not match '^[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*$'"],
        ),
        (
            "version: 1\nscope: organization\nrepositories: [a/b]\nallow-sensitive: [x, x]\n",
            ["allow-sensitive: ['x', 'x'] has non-unique elements"],
        ),
        (
            "version: 1\nrepositories: [b]\n",
            ["repositories[0]: 'b' names no owner and the config has no `owner`"],
        ),
        ("version: 1\nrepositories: [a/b, A/B]\n", ["repositories[1]: A/B is listed twice"]),
        (
            "version: 1\nrepositories: [a/b]\nsecrets: {GITHUB_X: x, 1A: y, ok: z, OK: w}\n",
            [
                "secrets: 'GITHUB_X' starts with GITHUB_, which GitHub reserves",
                "secrets: '1A' is not a valid secret or variable name: letters, digits and '_', "
                "not starting with a digit",
                "secrets: 'OK' is given twice (names are case-insensitive)",
            ],
        ),
        ("[1, 2]\n", ["(top level): [1, 2] is not of type 'object'"]),
    ],
)
def test_every_problem_is_a_line_naming_its_key_path(
    tmp_path: Path, content: str, problems: list[str]
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(UsageError) as raised:
        load_config(path, default_owner=None)
    assert str(raised.value).splitlines() == [f"{path}: {problem}" for problem in problems]


def test_a_missing_config_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read it"):
        load_config(tmp_path / "absent.yml", default_owner=None)
