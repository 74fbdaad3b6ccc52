"""`toto-actions sync-secrets` with `scope: organization` against the stand-in GitHub: the
organization secrets and variables that arrived, decrypted, with their selected repositories."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.github.server import GitHubServer
from testing.github.state import EntryKind
from tests.commands.test_sync_secrets import CONFIG as ENVIRONMENT_CONFIG
from tests.commands.test_sync_secrets import (
    DB_PASSWORD,
    KEY,
    REPOSITORIES,
    TOKEN,
    Sync,
    assert_a_pruning_sync_calls_what_its_token_covers,
    assert_a_sync_shows_none_of,
    outputs_of,
    sync_twice_unchanged,
)
from tests.conftest import CliRunner, snapshot
from toto_actions.github.sync_permissions import token_permissions

ORGANIZATION = "acme"
EVERY = sorted(REPOSITORIES)
# The environment scope's mapping, into organization secrets; the password allowed there.
CONFIG = ENVIRONMENT_CONFIG.replace(
    "owner: acme\n", "owner: acme\nscope: organization\nallow-sensitive: [db_password]\n"
)
MANIFEST = "TOTO_SYNC_STATE_DEV"
SECRETS_ROUTE = "/orgs/{org}/actions/secrets/{secret_name}"
SELECTION_ROUTES = (
    "/orgs/{org}/actions/secrets/{secret_name}/repositories",
    "/orgs/{org}/actions/variables/{name}/repositories",
)
# What an organization-scope sync's token needs, as the rendered core workflow asks for it
# (tests/github/test_sync_permissions.py pins the endpoints against GitHub's permission data).
PERMISSIONS = token_permissions("organization", create_environments=False, dispatch=False)


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        server.add_organization(ORGANIZATION)
        for repository in (*REPOSITORIES, "acme/toto-ms-auth", "other/toto-ms-x"):
            server.add_repository(repository)
        server.add_token(TOKEN, permissions=PERMISSIONS)
        yield server
        assert server.errors == []


@pytest.fixture
def sync(cli: CliRunner, tmp_path: Path, github: GitHubServer) -> Sync:
    organization_sync = Sync(cli, tmp_path, github)
    organization_sync.write_config(CONFIG)
    return organization_sync


EXPECTED_SECRETS = {
    "DEV_DB_PASSWORD": (DB_PASSWORD, "selected", EVERY),
    "DEV_ECS_SUBNETS": ('["subnet-0aaa","subnet-0bbb"]', "selected", EVERY),
    "DEV_ECS_SUBNET_1": ("subnet-0aaa", "selected", EVERY),
    "DEV_ECS_SUBNET_2": ("subnet-0bbb", "selected", EVERY),
    "DEV_SUPERMARKET_BUCKET": ("toto-supermarket-dev", "selected", ["acme/toto-ms-supermarket"]),
}


def grant_dispatch(github: GitHubServer) -> None:
    permissions = token_permissions("organization", create_environments=False, dispatch=True)
    github.add_token(TOKEN, permissions=permissions)


def writes_to(github: GitHubServer, *routes: str) -> list[str]:
    return [f"{w.method} {w.path}" for w in github.writes() if w.route in routes]


def test_a_first_sync_is_one_write_per_output_whatever_the_repositories(
    sync: Sync, github: GitHubServer
) -> None:
    result = sync()
    assert result.exit_code == 0, result.stderr
    assert github.organization_secrets(ORGANIZATION) == EXPECTED_SECRETS
    variables = github.organization_variables(ORGANIZATION)
    assert variables["DEV_AWS_REGION"] == ("eu-west-1", "selected", EVERY)
    manifest_text, visibility, selected = variables[MANIFEST]
    assert (visibility, selected) == ("selected", [])  # no workflow reads the state
    manifest = json.loads(manifest_text)
    assert set(manifest["secrets"]) == set(EXPECTED_SECRETS)
    assert "intents" not in manifest
    assert DB_PASSWORD not in manifest_text
    # Each secret written once, its selection in the same PUT; the variable; the state once.
    writes = [f"{w.method} {w.route}" for w in github.writes()]
    assert sorted(writes) == sorted(
        [f"PUT {SECRETS_ROUTE}"] * 5 + ["POST /orgs/{org}/actions/variables"] * 2
    )
    for repository in REPOSITORIES:
        assert github.secrets(repository) == {}
        assert github.variables(repository) == {}
    assert outputs_of(result) == {
        "created": "6",
        "updated": "0",
        "unchanged": "0",
        "deleted": "0",
        "changed-repositories": ",".join(EVERY),
    }


def test_a_sync_with_nothing_to_change_writes_nothing(sync: Sync) -> None:
    result = sync_twice_unchanged(sync)
    assert outputs_of(result)["unchanged"] == "6"


def test_one_changed_output_is_one_secret_write_and_one_state_write(
    sync: Sync, github: GitHubServer
) -> None:
    assert sync().exit_code == 0
    github.advance_clock(1)
    github.clear_requests()
    sync.outputs["ecs_subnet_1"]["value"] = "subnet-0ccc"
    grant_dispatch(github)
    result = sync("--dispatch", "toto-core-changed")
    assert result.exit_code == 0, result.stderr
    dispatches = "/repos/{owner}/{repo}/dispatches"
    assert [f"{w.method} {w.path}" for w in github.writes() if w.route != dispatches] == [
        "PUT /orgs/acme/actions/secrets/DEV_ECS_SUBNET_1",
        f"PATCH /orgs/acme/actions/variables/{MANIFEST}",
    ]
    assert github.organization_secrets(ORGANIZATION)["DEV_ECS_SUBNET_1"] == (
        "subnet-0ccc",
        "selected",
        EVERY,
    )
    for repository in REPOSITORIES:  # every repository the secret reaches redeploys
        assert [d["client_payload"] for d in github.dispatches(repository)] == [
            {"environment": "dev", "changed": ["DEV_ECS_SUBNET_1"]}
        ]


@pytest.mark.parametrize("change", ["add", "drop"])
def test_a_repository_added_or_dropped_changes_every_selection_and_nothing_else(
    sync: Sync, github: GitHubServer, change: str
) -> None:
    assert sync().exit_code == 0
    github.advance_clock(1)
    github.clear_requests()
    if change == "add":
        sync.write_config(
            CONFIG.replace("  - toto-ms-games\n", "  - toto-ms-games\n  - toto-ms-auth\n")
        )
        expected = sorted([*EVERY, "acme/toto-ms-auth"])
    else:
        sync.write_config(CONFIG.replace("  - toto-ms-games\n", ""))
        expected = ["acme/toto-ms-expenses", "acme/toto-ms-supermarket"]
    grant_dispatch(github)
    result = sync("--dispatch", "toto-core-changed")
    assert result.exit_code == 0, result.stderr
    shared = ("DEV_DB_PASSWORD", "DEV_ECS_SUBNETS", "DEV_ECS_SUBNET_1", "DEV_ECS_SUBNET_2")
    assert sorted(writes_to(github, *SELECTION_ROUTES)) == sorted(
        [f"PUT /orgs/acme/actions/secrets/{name}/repositories" for name in shared]
        + ["PUT /orgs/acme/actions/variables/DEV_AWS_REGION/repositories"]
    )
    assert len(github.writes()) == 5 + (1 if change == "add" else 0)  # the dispatch
    secrets = github.organization_secrets(ORGANIZATION)
    for name in shared:
        assert secrets[name][2] == expected
        assert secrets[name][0] == EXPECTED_SECRETS[name][0]
    assert secrets["DEV_SUPERMARKET_BUCKET"][2] == ["acme/toto-ms-supermarket"]
    assert github.organization_variables(ORGANIZATION)["DEV_AWS_REGION"][2] == expected
    if change == "add":  # only the repository that gained the secrets redeploys
        assert github.dispatches("acme/toto-ms-auth") != []
        assert github.dispatches("acme/toto-ms-games") == []
    assert outputs_of(result)["updated"] == "5"


def test_prune_deletes_only_what_this_environments_sync_wrote(
    sync: Sync, github: GitHubServer
) -> None:
    github.set_organization_entry(ORGANIZATION, "secrets", "DEV_HANDMADE", "x", repositories=EVERY)
    github.set_organization_entry(
        ORGANIZATION, "secrets", "PROD_ECS_SUBNET_2", "p", visibility="all"
    )
    assert sync().exit_code == 0
    sync.write_config(CONFIG.replace("  ECS_SUBNET_2: ecs_subnet_2\n", ""))
    github.clear_requests()
    result = sync("--prune")
    assert result.exit_code == 0, result.stderr
    secrets = github.organization_secrets(ORGANIZATION)
    assert "DEV_ECS_SUBNET_2" not in secrets
    assert secrets["DEV_HANDMADE"] == ("x", "selected", EVERY)
    assert secrets["PROD_ECS_SUBNET_2"] == ("p", "all", [])
    assert writes_to(github, SECRETS_ROUTE) == [
        "DELETE /orgs/acme/actions/secrets/DEV_ECS_SUBNET_2"
    ]
    manifest = json.loads(github.organization_variables(ORGANIZATION)[MANIFEST][0])
    assert "DEV_ECS_SUBNET_2" not in manifest["secrets"]


def test_what_changed_behind_the_syncs_back_is_put_right(sync: Sync, github: GitHubServer) -> None:
    assert sync().exit_code == 0
    github.advance_clock(1)
    # kind, name, value, visibility, selected repositories
    changed: list[tuple[EntryKind, str, str, str, list[str]]] = [
        ("secrets", "DEV_ECS_SUBNET_1", "tampered", "selected", EVERY),
        ("secrets", "DEV_ECS_SUBNET_2", "subnet-0bbb", "all", []),
        ("variables", "DEV_AWS_REGION", "eu-west-1", "selected", ["acme/toto-ms-auth"]),
    ]
    for kind, name, value, visibility, repositories in changed:
        github.set_organization_entry(
            ORGANIZATION, kind, name, value, visibility=visibility, repositories=repositories
        )
    github.clear_requests()
    result = sync()
    assert result.exit_code == 0, result.stderr
    assert github.organization_secrets(ORGANIZATION) == EXPECTED_SECRETS
    assert github.organization_variables(ORGANIZATION)["DEV_AWS_REGION"] == (
        "eu-west-1",
        "selected",
        EVERY,
    )
    assert sorted(writes_to(github, SECRETS_ROUTE, *SELECTION_ROUTES)) == [
        "PUT /orgs/acme/actions/secrets/DEV_ECS_SUBNET_1",
        "PUT /orgs/acme/actions/secrets/DEV_ECS_SUBNET_2",
        "PUT /orgs/acme/actions/variables/DEV_AWS_REGION/repositories",
    ]


def test_dry_run_writes_nothing_and_says_changes_are_pending(
    sync: Sync, github: GitHubServer
) -> None:
    result = sync("--dry-run", "--detailed-exitcode")
    assert result.exit_code == 3, result.stderr
    assert github.writes() == []
    assert "organization acme (dev)  secret    DEV_DB_PASSWORD" in result.stdout
    assert DB_PASSWORD not in result.stdout + result.stderr


def test_no_secret_reaches_the_logs_or_the_summary(sync: Sync, tmp_path: Path) -> None:
    assert_a_sync_shows_none_of(
        (TOKEN, KEY, DB_PASSWORD, "subnet-0aaa", "toto-supermarket-dev"),
        sync,
        tmp_path / "summary.md",
        "| organization acme (dev) | secret | `DEV_DB_PASSWORD` | create |",
    )


BAD_CONFIGS = [
    (
        CONFIG.replace("allow-sensitive: [db_password]\n", ""),
        "dev",
        [
            "organization acme (dev): secret DEV_DB_PASSWORD: output 'db_password' is "
            "sensitive, and an organization secret reaches every workflow of the selected "
            "repositories, pull requests included: list it under allow-sensitive in "
            "toto-secrets.yml to sync it anyway, or use scope environment"
        ],
    ),
    (
        CONFIG.replace(
            "  - toto-ms-games\n",
            "  - name: toto-ms-games\n    secrets:\n      ECS_SUBNET_1: ecs_subnet_2\n",
        ),
        "dev",
        [
            "toto-secrets.yml: secret ECS_SUBNET_1 is output 'ecs_subnet_2' for "
            "acme/toto-ms-games but 'ecs_subnet_1' for acme/toto-ms-expenses: an organization "
            "secret holds one value for every repository (scope organization)"
        ],
    ),
    (
        CONFIG,
        "dev-eu",
        [
            f"toto-secrets.yml: {kind} {name} in environment dev-eu: 'DEV-EU_{name}' is not a "
            "valid secret or variable name: letters, digits and '_', not starting with a digit"
            for kind, name in [
                ("secret", "ECS_SUBNET_1"),
                ("secret", "ECS_SUBNET_2"),
                ("secret", "ECS_SUBNETS"),
                ("secret", "DB_PASSWORD"),
                ("secret", "SUPERMARKET_BUCKET"),
                ("variable", "AWS_REGION"),
            ]
        ],
    ),
    (
        CONFIG.replace("  - toto-ms-games\n", "  - other/toto-ms-x\n"),
        "dev",
        [
            "toto-secrets.yml: scope organization writes one organization's secrets, but the "
            "repositories belong to acme, other"
        ],
    ),
    (
        CONFIG.replace(
            "allow-sensitive: [db_password]", "allow-sensitive: [db_password, db_pasword]"
        ),
        "dev",
        ["toto-secrets.yml: allow-sensitive: 'db_pasword' is not in the Terraform outputs"],
    ),
    (
        CONFIG.replace("  AWS_REGION: aws_region\n", "  SYNC_STATE_DEV: aws_region\n"),
        "toto",
        [
            "organization acme (toto): variable TOTO_SYNC_STATE_DEV: TOTO_SYNC_STATE_* are the "
            "syncs' own"
        ],
    ),
    (
        CONFIG.replace("  - toto-ms-games\n", "  - toto-ms-gone\n"),
        "dev",
        [
            "acme/toto-ms-gone: not found, or the token cannot see it (GET acme/toto-ms-gone: "
            "404 Not Found)"
        ],
    ),
]


@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_bad_input_is_a_line_per_problem_exit_2_and_nothing_written(
    sync: Sync, github: GitHubServer, tmp_path: Path, case: tuple[str, str, list[str]]
) -> None:
    config, environment, problems = case
    sync.write_config(config)
    sync.write_outputs()
    before = snapshot(tmp_path)
    arguments = sync.arguments()
    arguments[arguments.index("--environment") + 1] = environment
    result = sync.cli(*arguments, env={"GITHUB_TOKEN": TOKEN})
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {problem}" for problem in problems]
    assert github.writes() == []
    assert snapshot(tmp_path) == before
    assert "Traceback" not in result.stderr


def test_create_environments_has_no_meaning_at_organization_scope(
    sync: Sync, github: GitHubServer
) -> None:
    result = sync("--create-environments")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --create-environments: scope organization writes organization secrets, no "
        "GitHub environment\n",
    )
    assert github.requests == []


def test_a_token_without_the_organization_permissions_stops_before_any_write(
    sync: Sync, github: GitHubServer
) -> None:
    github.add_token(TOKEN, permissions={"metadata": "read", "secrets": "write"})
    result = sync()
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: organization acme (dev): not an organization, or the token may not read its "
        "secrets and variables (get the public key of organization acme (dev): 403"
    )
    assert "(the token needs organization_secrets=read)" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert github.writes() == []


def test_a_repository_reaching_more_than_100_organization_secrets_is_refused(
    sync: Sync, github: GitHubServer
) -> None:
    for number in range(94):  # with the sync's 5, the supermarket would reach 99 + 2 others
        github.set_organization_entry(
            ORGANIZATION, "secrets", f"SHARED_{number:02}", "v", visibility="all"
        )
    github.set_organization_entry(
        ORGANIZATION, "secrets", "PRIVATE_ONLY", "v", visibility="private"
    )
    github.set_organization_entry(
        ORGANIZATION, "secrets", "SUPERMARKET_ONLY", "v", repositories=["acme/toto-ms-supermarket"]
    )
    github.clear_requests()
    result = sync()
    assert (result.exit_code, result.stderr) == (
        2,
        "error: acme/toto-ms-supermarket: would reach 101 organization secrets; its workflows "
        "read only the first 100 by name, so some would be missing\n",
    )
    assert github.writes() == []
    github.set_organization_entry(ORGANIZATION, "secrets", "SUPERMARKET_ONLY", "v", repositories=[])
    assert sync().exit_code == 0  # 100 is the most a workflow reads: still all of them


def test_more_than_1000_organization_secrets_are_refused(sync: Sync, github: GitHubServer) -> None:
    for number in range(996):
        github.set_organization_entry(ORGANIZATION, "secrets", f"OTHER_{number:03}", "v")
    result = sync()
    assert (result.exit_code, result.stderr) == (
        2,
        "error: organization acme (dev): the organization would hold 1001 secrets, more than "
        "GitHub's 1000\n",
    )
    assert github.writes() == []


def test_every_call_of_the_sync_is_one_its_permissions_cover(
    sync: Sync, github: GitHubServer
) -> None:
    """Syncs that use every feature call exactly the endpoints the token is made for."""
    grant_dispatch(github)
    assert sync("--dispatch", "core").exit_code == 0
    sync.outputs["ecs_subnet_1"]["value"] = "subnet-0ccc"
    sync.write_config(
        CONFIG.replace("  - toto-ms-games\n", "  - toto-ms-games\n  - toto-ms-auth\n")
    )
    assert sync("--dispatch", "core").exit_code == 0
    assert_a_pruning_sync_calls_what_its_token_covers(
        sync, CONFIG, [], "organization", create_environments=False
    )


def test_a_renamed_repository_keeps_its_selection_and_a_warning_says_so(
    sync: Sync, github: GitHubServer
) -> None:
    """Selections hold ids, which a renamed repository keeps; GitHub redirects its old name."""
    assert sync().exit_code == 0
    github.rename_repository("acme/toto-ms-games", "acme/toto-ms-games-v2")
    github.clear_requests()
    result = sync()
    assert result.exit_code == 0, result.stderr
    assert github.writes() == []
    assert (
        "acme/toto-ms-games is acme/toto-ms-games-v2 now (renamed): update toto-secrets.yml"
        in result.stdout + result.stderr
    )
    renamed = sorted(["acme/toto-ms-expenses", "acme/toto-ms-games-v2", "acme/toto-ms-supermarket"])
    assert github.organization_secrets(ORGANIZATION)["DEV_ECS_SUBNET_1"][2] == renamed


def test_a_repository_transferred_to_another_owner_is_refused_before_any_write(
    sync: Sync, github: GitHubServer
) -> None:
    github.add_organization("other")
    github.rename_repository("acme/toto-ms-games", "other/toto-ms-games")
    result = sync()
    assert (result.exit_code, result.stderr) == (
        2,
        "error: acme/toto-ms-games: is other/toto-ms-games now, not a repository of acme: its "
        "secrets cannot select it (update toto-secrets.yml)\n",
    )
    assert github.writes() == []


OTHER_TEAM = """\
version: 1
owner: acme
scope: organization
state-name: team_b
repositories: [toto-ms-auth]
secrets:
  AUTH_BUCKET: supermarket_bucket
"""


def test_configs_sharing_an_organization_keep_their_own_state_and_names(
    sync: Sync, github: GitHubServer
) -> None:
    """Another core repository's config, with its state-name: its prune never touches this
    one's secrets, and a name this one keeps is refused."""
    assert sync().exit_code == 0
    sync.write_config(OTHER_TEAM + "  ECS_SUBNET_1: ecs_subnet_1\n")
    github.clear_requests()
    result = sync("--prune")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: organization acme (dev): DEV_ECS_SUBNET_1 is kept by another sync (its state "
        f"is {MANIFEST}: another environment or config); rename one of them\n",
    )
    assert github.writes() == []
    sync.write_config(OTHER_TEAM)
    result = sync("--prune")
    assert result.exit_code == 0, result.stderr
    secrets = github.organization_secrets(ORGANIZATION)
    assert {name: secrets[name] for name in EXPECTED_SECRETS} == EXPECTED_SECRETS
    assert secrets["DEV_AUTH_BUCKET"] == ("toto-supermarket-dev", "selected", ["acme/toto-ms-auth"])
    variables = github.organization_variables(ORGANIZATION)
    assert set(json.loads(variables["TOTO_SYNC_STATE_TEAM_B__DEV"][0])["secrets"]) == {
        "DEV_AUTH_BUCKET"
    }
    assert set(json.loads(variables[MANIFEST][0])["secrets"]) == set(EXPECTED_SECRETS)


def test_two_environments_whose_names_meet_once_prefixed_are_refused(
    sync: Sync, github: GitHubServer
) -> None:
    """`dev` with EU_SUBNET and `dev_eu` with SUBNET would both write DEV_EU_SUBNET."""
    sync.write_config(CONFIG.replace("\nsecrets:\n", "\nsecrets:\n  EU_SUBNET: ecs_subnet_1\n"))
    assert sync().exit_code == 0
    sync.write_config(CONFIG.replace("\nsecrets:\n", "\nsecrets:\n  SUBNET: ecs_subnet_2\n"))
    arguments = sync.arguments()
    arguments[arguments.index("--environment") + 1] = "dev_eu"
    github.clear_requests()
    result = sync.cli(*arguments, env={"GITHUB_TOKEN": TOKEN})
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: organization acme (dev_eu): DEV_EU_SUBNET is kept by another sync (its state is "
        f"{MANIFEST}: another environment or config); rename one of them"
    ]
    assert github.writes() == []


def test_a_state_that_would_outgrow_a_variable_is_refused(sync: Sync, github: GitHubServer) -> None:
    names = "".join(f"  SUBNET_{number:03}: ecs_subnet_1\n" for number in range(400))
    sync.write_config(CONFIG.replace("\nsecrets:\n", "\nsecrets:\n" + names))
    result = sync()
    assert result.exit_code == 2
    assert (
        "error: organization acme (dev): its state would outgrow GitHub's 48 KB for the "
        f"variable {MANIFEST}: split the config (each with its own state-name)"
    ) in result.stderr.splitlines()
    assert github.writes() == []


def test_selections_of_more_than_a_page_of_repositories_are_read_whole(
    sync: Sync, github: GitHubServer
) -> None:
    """GitHub pages a selection 100 at a time: a sync that read only the first page would
    select the others again on every run."""
    many = [f"acme/toto-ms-{number:03}" for number in range(130)]
    for repository in many:
        github.add_repository(repository)
    sync.write_config(CONFIG.replace("  - toto-ms-games\n", "".join(f"  - {r}\n" for r in many)))
    assert sync().exit_code == 0
    assert len(github.organization_secrets(ORGANIZATION)["DEV_ECS_SUBNET_1"][2]) == 132
    github.clear_requests()
    result = sync()
    assert result.exit_code == 0, result.stderr
    assert github.writes() == []
    pages = github.requests_to(SELECTION_ROUTES[0], "GET")
    assert len(pages) == 4 * 2 + 1  # two pages for each shared secret, one for the bucket
