"""`toto-actions sync-secrets` against the stand-in GitHub server: what arrived at the other end."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from testing.github.server import GitHubServer, LoggedRequest
from testing.workflow_commands import masks, shown_lines
from tests.conftest import CLI, CliResult, CliRunner, clean_environment, snapshot
from toto_actions.github.sync_permissions import sync_endpoints, token_permissions

TOKEN = "ghs_sync-token-0123456789"
KEY = "fingerprint-key-of-the-core-repo"
REPOSITORIES = ("acme/toto-ms-expenses", "acme/toto-ms-games", "acme/toto-ms-supermarket")
DB_PASSWORD = "s3cr3t-db-password-never-logged"
CONFIG = """\
version: 1
owner: acme
repositories:
  - toto-ms-expenses
  - toto-ms-games
  - name: acme/toto-ms-supermarket
    secrets:
      SUPERMARKET_BUCKET: supermarket_bucket
secrets:
  ECS_SUBNET_1: ecs_subnet_1
  ECS_SUBNET_2: ecs_subnet_2
  ECS_SUBNETS: ecs_subnets
  DB_PASSWORD: db_password
variables:
  AWS_REGION: aws_region
"""
OUTPUTS: dict[str, dict[str, Any]] = {
    "ecs_subnet_1": {"value": "subnet-0aaa", "type": "string", "sensitive": False},
    "ecs_subnet_2": {"value": "subnet-0bbb", "type": "string", "sensitive": False},
    "ecs_subnets": {
        "value": ["subnet-0aaa", "subnet-0bbb"],
        "type": ["list", "string"],
        "sensitive": False,
    },
    "db_password": {"value": DB_PASSWORD, "type": "string", "sensitive": True},
    "aws_region": {"value": "eu-west-1", "type": "string", "sensitive": False},
    "supermarket_bucket": {"value": "toto-supermarket-dev", "type": "string", "sensitive": False},
    "unused": {"value": 42, "type": "number", "sensitive": False},
}


@contextmanager
def sync_github(*, dispatch: bool = False) -> Iterator[GitHubServer]:
    """The stand-in GitHub holding REPOSITORIES, each with a `dev` environment, and the sync's
    token granted what the rendered core workflow asks for (with --dispatch when dispatch); it
    must have seen no error by the end."""
    with GitHubServer() as server:
        for repository in REPOSITORIES:
            server.add_repository(repository)
            server.add_environment(repository, "dev")
        grant(server, dispatch=dispatch)
        yield server
        assert server.errors == []


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    # Exactly what the rendered core workflow asks for by default: the stand-in refuses what
    # these do not cover (tests that create environments or dispatch widen it: `grant`).
    with sync_github() as server:
        yield server


def grant(
    github: GitHubServer, *, create_environments: bool = False, dispatch: bool = False
) -> None:
    """Give the sync's token exactly the permissions a workflow rendered with these asks for."""
    permissions = token_permissions(
        "environment", create_environments=create_environments, dispatch=dispatch
    )
    github.add_token(TOKEN, permissions=permissions)


class Sync:
    """Runs sync-secrets in tmp_path with the config and outputs it holds."""

    def __init__(self, cli: CliRunner, tmp_path: Path, github: GitHubServer) -> None:
        self.cli, self.tmp_path, self.github = cli, tmp_path, github
        self.outputs = json.loads(json.dumps(OUTPUTS))
        self.write_config(CONFIG)

    def write_outputs(self) -> None:
        (self.tmp_path / "outputs.json").write_text(json.dumps(self.outputs), encoding="utf-8")

    def write_config(self, content: str) -> None:
        (self.tmp_path / "toto-secrets.yml").write_text(content, encoding="utf-8")

    def __call__(
        self, *arguments: str, key: str | None = KEY, env: dict[str, str] | None = None
    ) -> CliResult:
        return self.cli(
            *self.arguments(*arguments, key=key), env={"GITHUB_TOKEN": TOKEN, **(env or {})}
        )

    def arguments(self, *arguments: str, key: str | None = KEY) -> list[str]:
        """The command line of a sync (the outputs written first), after `toto-actions`."""
        self.write_outputs()
        options = [
            "--environment",
            "dev",
            "--outputs",
            "outputs.json",
            "--github-api-url",
            self.github.url,
            "--write-interval",
            "0",
            "--retry-base-delay",
            "0.01",
        ]
        if key:
            options += ["--fingerprint-key", key]
        return ["sync-secrets", *options, *arguments]


@pytest.fixture
def sync(cli: CliRunner, tmp_path: Path, github: GitHubServer) -> Sync:
    return Sync(cli, tmp_path, github)


def secret_puts(requests: list[LoggedRequest]) -> list[str]:
    return [r.path for r in requests if r.method == "PUT" and "/secrets/" in r.path]


def outputs_of(result: CliResult) -> dict[str, str]:
    pairs = (line.partition("=") for line in result.stdout.splitlines() if "=" in line)
    return {
        name: value
        for name, _, value in pairs
        if name in {"created", "updated", "unchanged", "deleted", "changed-repositories"}
    }


EXPECTED_DEV_SECRETS = {
    "DB_PASSWORD": DB_PASSWORD,
    "ECS_SUBNETS": '["subnet-0aaa","subnet-0bbb"]',
    "ECS_SUBNET_1": "subnet-0aaa",
    "ECS_SUBNET_2": "subnet-0bbb",
}


def sync_twice_unchanged(sync: Sync) -> CliResult:
    """Sync, then sync again with nothing changed: the second sync succeeds and writes nothing
    (the stand-in's requests are the second sync's only); its result."""
    assert sync().exit_code == 0
    sync.github.clear_requests()
    result = sync()
    assert result.exit_code == 0, result.stderr
    assert sync.github.writes() == []
    return result


def test_a_first_sync_writes_every_secret_into_each_environment(
    sync: Sync, github: GitHubServer
) -> None:
    result = sync()
    assert result.exit_code == 0, result.stderr
    for repository in REPOSITORIES:
        extra = (
            {"SUPERMARKET_BUCKET": "toto-supermarket-dev"}
            if repository.endswith("supermarket")
            else {}
        )
        assert github.secrets(repository, "dev") == {**EXPECTED_DEV_SECRETS, **extra}
        variables = github.variables(repository, "dev")
        assert variables["AWS_REGION"] == "eu-west-1"
        assert set(json.loads(variables["TOTO_SYNC_STATE"])["secrets"]) == set(
            EXPECTED_DEV_SECRETS
        ) | set(extra)
        assert github.secrets(repository) == {}  # nothing at repository level
    public_keys = [r for r in github.requests if r.path.endswith("/secrets/public-key")]
    assert len(public_keys) == len(REPOSITORIES)  # one per target, not one per secret
    assert len(secret_puts(github.requests)) == 4 + 4 + 5
    assert outputs_of(result) == {
        "created": str(13 + 3),
        "updated": "0",
        "unchanged": "0",
        "deleted": "0",
        "changed-repositories": ",".join(REPOSITORIES),
    }


def test_skip_sensitive_leaves_out_what_terraform_marks_sensitive(
    sync: Sync, github: GitHubServer
) -> None:
    """What the plan environments get: the IDs, never a sensitive output."""
    result = sync("--skip-sensitive")
    assert result.exit_code == 0, result.stderr
    assert "left out (sensitive outputs): DB_PASSWORD" in result.stdout
    for repository in REPOSITORIES:
        written = github.secrets(repository, "dev")
        assert "DB_PASSWORD" not in written
        assert written["ECS_SUBNET_1"] == "subnet-0aaa"
    assert not [path for path in secret_puts(github.requests) if "DB_PASSWORD" in path]
    assert DB_PASSWORD not in result.stdout + result.stderr


def test_a_sync_with_nothing_to_change_writes_nothing(sync: Sync, github: GitHubServer) -> None:
    result = sync_twice_unchanged(sync)
    assert not any(r.path.endswith("/public-key") for r in github.requests)
    assert outputs_of(result)["unchanged"] == str(13 + 3)
    assert outputs_of(result)["changed-repositories"] == ""


def test_one_changed_output_is_one_secret_write_per_target(
    sync: Sync, github: GitHubServer
) -> None:
    assert sync().exit_code == 0
    github.clear_requests()
    sync.outputs["ecs_subnet_1"]["value"] = "subnet-0ccc"
    result = sync()
    assert result.exit_code == 0, result.stderr
    puts = secret_puts(github.requests)
    assert sorted(puts) == sorted(
        f"/repos/{r}/environments/dev/secrets/ECS_SUBNET_1" for r in REPOSITORIES
    )
    # Each target's manifest is written twice: the intent before the write, the record after.
    manifest_writes = [w for w in github.writes() if w.path.endswith("/TOTO_SYNC_STATE")]
    assert len(manifest_writes) == 2 * len(REPOSITORIES)
    assert len(github.writes()) == len(puts) + len(manifest_writes)
    for repository in REPOSITORIES:
        assert github.secrets(repository, "dev")["ECS_SUBNET_1"] == "subnet-0ccc"
    assert outputs_of(result)["updated"] == "3"


def test_a_secret_changed_out_of_band_is_rewritten(sync: Sync, github: GitHubServer) -> None:
    assert sync().exit_code == 0
    github.advance_clock(1)  # GitHub counts whole seconds: a change within ours would not show
    github.set_secret("acme/toto-ms-games", "ECS_SUBNET_2", "tampered", "dev")
    github.delete_secret("acme/toto-ms-expenses", "ECS_SUBNET_1", "dev")
    github.clear_requests()
    assert sync().exit_code == 0
    assert sorted(secret_puts(github.requests)) == [
        "/repos/acme/toto-ms-expenses/environments/dev/secrets/ECS_SUBNET_1",
        "/repos/acme/toto-ms-games/environments/dev/secrets/ECS_SUBNET_2",
    ]
    assert github.secrets("acme/toto-ms-games", "dev")["ECS_SUBNET_2"] == "subnet-0bbb"
    assert github.secrets("acme/toto-ms-expenses", "dev")["ECS_SUBNET_1"] == "subnet-0aaa"


def test_an_existing_environment_keeps_its_protection(sync: Sync, github: GitHubServer) -> None:
    reviewers = [{"type": "Team", "id": 7}]
    for repository in REPOSITORIES:
        github.add_environment(repository, "prod", reviewers=reviewers, wait_timer=30)
    result = sync("--environment", "prod")
    assert result.exit_code == 0, result.stderr
    assert not [r for r in github.requests if r.method == "PUT" and r.path.endswith("/prod")]
    for repository in REPOSITORIES:
        environment = github.environment(repository, "prod")
        assert environment is not None
        assert (environment["reviewers"], environment["wait_timer"]) == (reviewers, 30)
        assert github.secrets(repository, "prod")["ECS_SUBNET_1"] == "subnet-0aaa"


def test_without_a_fingerprint_key_every_secret_is_written_and_the_log_says_so(
    sync: Sync, github: GitHubServer
) -> None:
    assert sync(key=None).exit_code == 0
    github.clear_requests()
    result = sync(key=None)
    assert result.exit_code == 0
    assert len(secret_puts(github.requests)) == 13
    assert "no --fingerprint-key: every secret is written" in result.stderr
    assert not [w for w in github.writes() if w.path.endswith("/TOTO_SYNC_STATE")]


def test_prune_deletes_what_is_no_longer_mapped_and_never_what_it_did_not_write(
    sync: Sync, github: GitHubServer
) -> None:
    github.add_environment("acme/toto-ms-games", "dev")
    github.set_secret("acme/toto-ms-games", "HAND_MADE", "keep me", "dev")
    assert sync().exit_code == 0
    sync.write_config(
        CONFIG.replace("  ECS_SUBNET_2: ecs_subnet_2\n", "").replace(
            "variables:\n  AWS_REGION: aws_region\n", ""
        )
    )
    assert sync().exit_code == 0  # without --prune nothing goes
    assert "ECS_SUBNET_2" in github.secrets("acme/toto-ms-games", "dev")
    result = sync("--prune")
    assert result.exit_code == 0, result.stderr
    games = github.secrets("acme/toto-ms-games", "dev")
    assert "ECS_SUBNET_2" not in games and games["HAND_MADE"] == "keep me"
    assert "AWS_REGION" not in github.variables("acme/toto-ms-games", "dev")
    assert outputs_of(result)["deleted"] == str(2 * len(REPOSITORIES))


def test_dry_run_writes_nothing_and_prints_the_plan(sync: Sync, github: GitHubServer) -> None:
    result = sync("--dry-run", "--detailed-exitcode")
    assert result.exit_code == 3, result.stderr
    assert github.writes() == []
    assert re.search(r"acme/toto-ms-games \(dev\) +secret +ECS_SUBNET_1 +create", result.stdout)
    assert sync("--dry-run", "--detailed-exitcode").exit_code == 3
    assert sync().exit_code == 0
    github.clear_requests()
    result = sync("--dry-run", "--detailed-exitcode")
    assert result.exit_code == 0
    assert github.writes() == []


def test_dispatch_goes_to_the_repositories_that_changed(sync: Sync, github: GitHubServer) -> None:
    assert sync().exit_code == 0
    sync.outputs["supermarket_bucket"]["value"] = "toto-supermarket-dev-2"
    grant(github, dispatch=True)
    result = sync("--dispatch", "toto-core-changed")
    assert result.exit_code == 0, result.stderr
    assert github.dispatches("acme/toto-ms-supermarket") == [
        {
            "event_type": "toto-core-changed",
            "client_payload": {"environment": "dev", "changed": ["SUPERMARKET_BUCKET"]},
        }
    ]
    assert github.dispatches("acme/toto-ms-games") == []
    assert outputs_of(result)["changed-repositories"] == "acme/toto-ms-supermarket"


def test_repository_scope_writes_repository_secrets(sync: Sync, github: GitHubServer) -> None:
    sync.write_config(
        "version: 1\nscope: repository\nrepositories: [acme/toto-ms-games]\n"
        "secrets: {ECS_SUBNET_1: ecs_subnet_1}\n"
    )
    result = sync("--environment", "")
    assert result.exit_code == 2  # an empty flag is refused...
    result = sync.cli(
        "sync-secrets",
        "--outputs",
        "outputs.json",
        "--github-api-url",
        github.url,
        "--fingerprint-key",
        KEY,
        "--write-interval",
        "0",
        env={"GITHUB_TOKEN": TOKEN},
    )  # ...and no environment is needed
    assert result.exit_code == 0, result.stderr
    assert github.secrets("acme/toto-ms-games") == {"ECS_SUBNET_1": "subnet-0aaa"}
    assert github.secrets("acme/toto-ms-games", "dev") == {}


def test_names_are_url_encoded_in_paths(sync: Sync, github: GitHubServer) -> None:
    grant(github, create_environments=True)
    result = sync("--environment", "qa eu/1", "--create-environments")
    assert result.exit_code == 0, result.stderr
    assert "qa eu/1" in github.environment_names("acme/toto-ms-games")
    assert github.secrets("acme/toto-ms-games", "qa eu/1")["ECS_SUBNET_1"] == "subnet-0aaa"
    assert any(
        r.path.startswith("/repos/acme/toto-ms-games/environments/qa%20eu%2F1/secrets/")
        for r in github.requests
    )


def test_it_converges_when_a_fifth_of_requests_fail(sync: Sync, github: GitHubServer) -> None:
    github.inject_faults(0.2, seed=8, retry_after="0")
    result = sync("--max-concurrency", "3")
    assert result.exit_code == 0, result.stderr
    failed = [r for r in github.requests if r.status >= 400]
    assert len(failed) >= 5
    github.clear_faults()
    for repository in REPOSITORIES:
        assert github.secrets(repository, "dev")["DB_PASSWORD"] == DB_PASSWORD
    github.clear_requests()
    assert sync().exit_code == 0
    assert github.writes() == []


def test_a_failing_target_does_not_stop_the_others_and_a_rerun_finishes_it(
    sync: Sync, github: GitHubServer
) -> None:
    github.fail_path(
        r"/toto-ms-games/environments/dev/secrets/DB_PASSWORD$", 502, times=None, method="PUT"
    )
    result = sync()
    assert result.exit_code == 1
    assert (
        "acme/toto-ms-games (dev): write secret DB_PASSWORD of acme/toto-ms-games (dev): "
        "502" in result.stderr
    )
    assert github.secrets("acme/toto-ms-expenses", "dev")["DB_PASSWORD"] == DB_PASSWORD
    assert "DB_PASSWORD" not in github.secrets("acme/toto-ms-games", "dev")
    github.clear_faults()
    github.clear_requests()
    result = sync()
    assert result.exit_code == 0, result.stderr
    assert secret_puts(github.requests) == [
        "/repos/acme/toto-ms-games/environments/dev/secrets/DB_PASSWORD"
    ]


@pytest.mark.parametrize(
    ("config", "problems"),
    [
        (
            CONFIG.replace("ecs_subnet_2\n", "ecs_subnet_9\n"),
            [
                f"{r} (dev): secret ECS_SUBNET_2: output 'ecs_subnet_9' is not in the "
                "Terraform outputs"
                for r in REPOSITORIES
            ],
        ),
        (
            CONFIG.replace("AWS_REGION: aws_region", "DB: db_password"),
            [
                f"{r} (dev): variable DB: output 'db_password' is sensitive and may not "
                "become a plain variable; map it under `secrets`"
                for r in REPOSITORIES
            ],
        ),
        (
            CONFIG.replace("  - toto-ms-games\n", "  - toto-ms-hidden\n"),
            [
                "acme/toto-ms-hidden: not found, or the token cannot see it "
                "(GET acme/toto-ms-hidden: 404 Not Found)"
            ],
        ),
        (
            CONFIG.replace("version: 1", "version: 1\nbogus: 1"),
            [
                "toto-secrets.yml: (top level): Additional properties are not allowed ('bogus' was "
                "unexpected)"
            ],
        ),
    ],
)
def test_bad_input_is_a_line_per_problem_exit_2_and_nothing_written(
    sync: Sync, github: GitHubServer, tmp_path: Path, config: str, problems: list[str]
) -> None:
    sync.write_config(config)
    sync.write_outputs()
    before = snapshot(tmp_path)
    result = sync()
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {problem}" for problem in problems]
    assert github.writes() == []
    assert snapshot(tmp_path) == before
    assert "Traceback" not in result.stderr


def test_usage_errors_need_no_network(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("sync-secrets", "--outputs", "outputs.json", env={"GITHUB_TOKEN": TOKEN})
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --outputs outputs.json: cannot read it (No such file or directory)\n",
    )
    result = cli("sync-secrets", "--outputs", "-")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --github-token is required: a token that can write the repositories' secrets "
        "(or set GITHUB_TOKEN)\n",
    )
    result = cli(
        "sync-secrets", "--outputs", "-", "--max-concurrency", "0", env={"GITHUB_TOKEN": TOKEN}
    )
    assert result.stderr == "error: --max-concurrency '0': expected a whole number from 1 to 32\n"
    result = cli("sync-secrets", "--outputs", "-", "--github-api-url", "htp:/bad")
    assert (result.exit_code, result.stderr.splitlines()) == (
        2,
        [
            "error: --github-token is required: a token that can write the repositories' "
            "secrets (or set GITHUB_TOKEN)",
            "error: --github-api-url 'htp:/bad': expected an http or https URL with a host",
        ],
    )
    result = cli(
        "sync-secrets",
        "--outputs",
        "-",
        "--write-interval",
        "inf",
        "--dry-run=maybe",
        env={"GITHUB_TOKEN": TOKEN},
    )
    assert result.stderr.splitlines() == [
        "error: --dry-run 'maybe': expected true or false",
        "error: --write-interval 'inf': expected a number of seconds from 0 to 60",
    ]


def test_no_secret_reaches_the_logs_or_the_summary(sync: Sync, tmp_path: Path) -> None:
    result = assert_a_sync_shows_none_of(
        (TOKEN, KEY, DB_PASSWORD, "subnet-0aaa", "subnet-0bbb", "toto-supermarket-dev"),
        sync,
        tmp_path / "summary.md",
        "| acme/toto-ms-games (dev) | secret | `DB_PASSWORD` | create |",
    )
    assert {TOKEN, KEY, DB_PASSWORD, "subnet-0aaa"} <= masks(result.stdout)


def assert_a_sync_shows_none_of(
    values: tuple[str, ...], sync: Sync, summary_path: Path, summary_row: str
) -> CliResult:
    """Sync as in Actions, with a step summary: none of values stands in what it logged (its
    `::add-mask::` lines aside) or in the summary, whose table holds summary_row; its result."""
    summary_path.touch()
    result = sync(env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary_path)})
    assert result.exit_code == 0, result.stderr
    logged = "\n".join(shown_lines(result.stdout)) + result.stderr
    summary = summary_path.read_text(encoding="utf-8")
    for value in values:
        assert value not in logged
        assert value not in summary
    assert summary_row in summary
    return result


def test_outputs_can_come_from_standard_input(
    cli: CliRunner, tmp_path: Path, github: GitHubServer
) -> None:
    import subprocess

    from tests.conftest import CLI, clean_environment

    (tmp_path / "toto-secrets.yml").write_text(
        "version: 1\nrepositories: [acme/toto-ms-games]\nsecrets: {A: ecs_subnet_1}\n",
        encoding="utf-8",
    )
    completed = subprocess.run(
        [
            str(CLI),
            "sync-secrets",
            "--outputs",
            "-",
            "--environment",
            "dev",
            "--github-api-url",
            github.url,
            "--write-interval",
            "0",
        ],
        input=json.dumps(OUTPUTS),
        cwd=tmp_path,
        env=clean_environment({"GITHUB_TOKEN": TOKEN}),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert github.secrets("acme/toto-ms-games", "dev") == {"A": "subnet-0aaa"}


def test_a_token_that_may_not_read_a_target_stops_the_sync_before_any_write(
    sync: Sync, github: GitHubServer
) -> None:
    github.fail_path(
        r"/toto-ms-games/environments/dev$",
        403,
        times=None,
        method="GET",
        message="Resource not accessible by integration",
        retry_after=None,
    )
    result = sync()
    assert result.exit_code == 2
    assert result.stderr == (
        "error: acme/toto-ms-games (dev): the token may not read it (get environment "
        "acme/toto-ms-games (dev): 403 Resource not accessible by integration)\n"
    )
    assert github.writes() == []


def test_a_rotated_public_key_is_fetched_again_once(sync: Sync, github: GitHubServer) -> None:
    github.fail_path(
        r"/toto-ms-games/environments/dev/secrets/ECS_SUBNET_1$", 422, times=1, method="PUT"
    )
    result = sync()
    assert result.exit_code == 0, result.stderr
    games_keys = [
        r
        for r in github.requests
        if r.path.endswith("toto-ms-games/environments/dev/secrets/public-key")
    ]
    assert len(games_keys) == 2
    assert github.secrets("acme/toto-ms-games", "dev")["ECS_SUBNET_1"] == "subnet-0aaa"


def test_writes_within_the_same_second_as_the_last_are_not_failures(
    sync: Sync, github: GitHubServer
) -> None:
    """GitHub's `updated_at` counts whole seconds: a rewrite within the second of the previous
    write keeps its `updated_at`. GitHub acknowledged it (204): it landed."""
    github.freeze_clock()
    assert sync().exit_code == 0
    sync.outputs["db_password"]["value"] = "rotated-db-password"
    github.clear_requests()
    result = sync()
    assert result.exit_code == 0, result.stderr
    assert "not confirmed" not in result.stderr
    assert len(secret_puts(github.requests)) == len(REPOSITORIES)
    for repository in REPOSITORIES:
        assert github.secrets(repository, "dev")["DB_PASSWORD"] == "rotated-db-password"
    assert outputs_of(result)["updated"] == str(len(REPOSITORIES))
    github.clear_requests()
    assert sync().exit_code == 0  # and the manifest vouches for them: nothing to write
    assert github.writes() == []


def test_a_missing_environment_is_refused_before_anything_is_written(
    sync: Sync, github: GitHubServer
) -> None:
    """Creating an environment needs Administration: write, which the token has only when the
    workflow was rendered with create-environments."""
    github.add_environment("acme/toto-ms-games", "staging")
    result = sync("--environment", "staging")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: create environment staging in acme/toto-ms-expenses and "
        "acme/toto-ms-supermarket (or pass --create-environments, whose token needs "
        "Administration: write)\n"
    )
    assert github.writes() == []
    assert github.environment_names("acme/toto-ms-expenses") == ["dev"]


def test_a_permission_the_token_lacks_is_named(sync: Sync, github: GitHubServer) -> None:
    without_actions = token_permissions("environment", create_environments=False, dispatch=False)
    del without_actions["actions"]
    github.add_token(TOKEN, permissions=without_actions)
    result = sync()
    assert result.exit_code == 2
    assert "403 Resource not accessible by integration (the token needs actions=read)" in (
        result.stderr
    )
    assert github.writes() == []


def test_every_call_of_the_sync_is_one_its_permissions_cover(
    sync: Sync, github: GitHubServer
) -> None:
    """A sync that uses every feature calls exactly the endpoints its token is made for: none
    the permissions miss (the stand-in would refuse it), none they cover needlessly."""
    grant(github, create_environments=True, dispatch=True)
    assert sync("--environment", "qa", "--create-environments", "--dispatch", "core").exit_code == 0
    sync.outputs["ecs_subnet_1"]["value"] = "subnet-0ccc"
    assert_a_pruning_sync_calls_what_its_token_covers(
        sync, CONFIG, ["--environment", "qa"], "environment", create_environments=True
    )


def assert_a_pruning_sync_calls_what_its_token_covers(
    sync: Sync, config: str, arguments: list[str], scope: str, *, create_environments: bool
) -> None:
    """Drop a secret and the variables from config, sync with --prune and --dispatch: every
    endpoint the stand-in saw called since it started is one the scope's token is made for
    (with those options), and each of them was called."""
    sync.write_config(
        config.replace("  ECS_SUBNET_2: ecs_subnet_2\n", "").replace(
            "variables:\n  AWS_REGION: aws_region\n", ""
        )
    )
    result = sync(*arguments, "--prune", "--dispatch", "core")
    assert result.exit_code == 0, result.stderr
    endpoints = sync_endpoints(scope, create_environments=create_environments, dispatch=True)
    covered = {(endpoint.method, endpoint.template) for endpoint in endpoints}
    assert {(r.method, r.route) for r in sync.github.requests} == covered


def test_a_dispatch_whose_answer_was_lost_is_not_sent_again(
    sync: Sync, github: GitHubServer
) -> None:
    """A 502 can come after GitHub acted on the POST: sending it again would trigger the
    services' workflows twice. The sync reports the dispatch as failed, and says why."""
    assert sync().exit_code == 0
    sync.outputs["supermarket_bucket"]["value"] = "toto-supermarket-dev-2"
    grant(github, dispatch=True)
    github.fail_after_serving(r"/toto-ms-supermarket/dispatches$", 502, times=1, method="POST")
    result = sync("--dispatch", "toto-core-changed")
    assert result.exit_code == 1
    assert len(github.requests_to("/repos/{owner}/{repo}/dispatches", "POST")) == 1
    assert len(github.dispatches("acme/toto-ms-supermarket")) == 1
    assert result.stderr.splitlines()[-1] == (
        "error: acme/toto-ms-supermarket: dispatch toto-core-changed to "
        "acme/toto-ms-supermarket: 502 Bad Gateway (not sent again: GitHub may have acted on it)"
    )
    assert github.secrets("acme/toto-ms-supermarket", "dev")["SUPERMARKET_BUCKET"] == (
        "toto-supermarket-dev-2"
    )


def test_a_dispatch_refused_by_a_rate_limit_is_sent_again(sync: Sync, github: GitHubServer) -> None:
    """A rate limit refuses the request before GitHub acts on it: waiting and sending again is
    safe, and GitHub asks for it."""
    sync.outputs["supermarket_bucket"]["value"] = "toto-supermarket-dev-2"
    grant(github, dispatch=True)
    github.fail_path(r"/dispatches$", 429, times=1, method="POST", retry_after="0")
    result = sync("--dispatch", "toto-core-changed")
    assert result.exit_code == 0, result.stderr
    statuses = [r.status for r in github.requests_to("/repos/{owner}/{repo}/dispatches")]
    assert statuses.count(429) == 1 and statuses.count(204) == len(REPOSITORIES)
    for repository in REPOSITORIES:
        assert len(github.dispatches(repository)) == 1


def manifest_of(github: GitHubServer, repository: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(github.variables(repository, "dev")["TOTO_SYNC_STATE"])
    return document


def test_equal_values_in_two_targets_have_different_fingerprints(
    sync: Sync, github: GitHubServer
) -> None:
    assert sync().exit_code == 0
    prints = {
        manifest_of(github, repository)["secrets"]["ECS_SUBNET_1"]["hmac"]
        for repository in REPOSITORIES
    }
    assert len(prints) == len(REPOSITORIES)


def test_a_manifest_of_the_old_fingerprint_scheme_is_rewritten_not_an_error(
    sync: Sync, github: GitHubServer
) -> None:
    """Version 1 fingerprinted `name\\nvalue` for every target: those fingerprints are not
    trusted, so each secret is written once more and fingerprinted the new way."""
    assert sync().exit_code == 0
    for repository in REPOSITORIES:
        manifest = manifest_of(github, repository)
        for name, entry in manifest["secrets"].items():
            value = github.secrets(repository, "dev")[name]
            message = f"{name}\n{value}".encode()
            entry["hmac"] = hmac.new(KEY.encode(), message, hashlib.sha256).hexdigest()
        manifest["version"] = 1
        github.set_variable(repository, "TOTO_SYNC_STATE", json.dumps(manifest), "dev")
    github.clear_requests()
    result = sync()
    assert result.exit_code == 0, result.stderr
    assert len(secret_puts(github.requests)) == 13
    assert {manifest_of(github, r)["version"] for r in REPOSITORIES} == {2}
    github.clear_requests()
    assert sync().exit_code == 0
    assert github.writes() == []


@pytest.mark.parametrize(("key", "size"), [("short-key", 9), ("k" * 31, 31), ("é" * 15 + "k", 31)])
def test_a_fingerprint_key_shorter_than_32_bytes_is_refused(
    sync: Sync, github: GitHubServer, key: str, size: int
) -> None:
    result = sync(key=key)
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: --fingerprint-key is {size} bytes long; it must be at least 32 (for example "
        "`openssl rand -hex 32`)\n",
    )
    assert github.requests == []
    assert key not in result.stdout + result.stderr


def test_a_secret_too_short_to_mask_is_written_not_masked_and_named(
    sync: Sync, github: GitHubServer
) -> None:
    """The one masking rule: values of 4 characters or more are masked; a shorter one would
    hide every occurrence of its characters in the log, so it is not masked, and the log says
    which output that is (never its value)."""
    sync.outputs["db_password"]["value"] = "1"
    sync.outputs["ecs_subnet_2"]["value"] = "abcd"
    result = sync(env={"GITHUB_ACTIONS": "true"})
    assert result.exit_code == 0, result.stderr
    masked = [line for line in result.stdout.splitlines() if line.startswith("::add-mask::")]
    assert "::add-mask::abcd" in masked
    assert "::add-mask::1" not in masked
    warnings = [line for line in result.stdout.splitlines() if line.startswith("::warning")]
    assert warnings == [
        "::warning::output 'db_password' is shorter than 4 characters: too short to be "
        "masked in logs; the sync writes it and never prints it"
    ]
    assert github.secrets("acme/toto-ms-games", "dev")["DB_PASSWORD"] == "1"


SECRET_PUT_ROUTE = "/repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}"


def landed_secret_puts(github: GitHubServer) -> list[str]:
    return [r.path for r in github.requests_to(SECRET_PUT_ROUTE, "PUT") if 200 <= r.status < 300]


def test_a_sync_killed_halfway_converges_and_writes_nothing_twice(
    sync: Sync, github: GitHubServer, tmp_path: Path
) -> None:
    """kill -9 once the stand-in has received some of the secret writes, then run again: the
    second run writes exactly the secrets the first did not (the manifest's intents, recorded
    before the writes, tell which landed), and every secret ends with its value."""
    sync.outputs["db_password"]["value"] = "first-db-password"
    assert sync().exit_code == 0
    github.advance_clock(1)
    sync.outputs["db_password"]["value"] = DB_PASSWORD  # an update in each target...
    sync.outputs["ecs_subnet_1"]["value"] = "subnet-0ccc"  # ...two of them
    sync.write_config(CONFIG.replace("ECS_SUBNETS: ecs_subnets", "ECS_SUBNETS_2: ecs_subnets"))
    expected = {**EXPECTED_DEV_SECRETS, "ECS_SUBNET_1": "subnet-0ccc"}
    expected["ECS_SUBNETS_2"] = expected.pop("ECS_SUBNETS")  # ...and a create
    github.clear_requests()
    process = subprocess.Popen(
        [str(CLI), *sync.arguments("--write-interval", "0.2", "--max-concurrency", "3")],
        cwd=tmp_path,
        env=clean_environment({"GITHUB_TOKEN": TOKEN}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert github.wait_for_writes(4, SECRET_PUT_ROUTE, timeout=60)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        assert process.wait(timeout=30) == -signal.SIGKILL
    first = landed_secret_puts(github)
    assert 4 <= len(first) < 3 * 3  # it died halfway: 3 writes in each of 3 targets
    github.advance_clock(1)
    github.clear_requests()
    result = sync()
    assert result.exit_code == 0, result.stderr
    second = landed_secret_puts(github)
    everything = {
        f"/repos/{repository}/environments/dev/secrets/{name}"
        for repository in REPOSITORIES
        for name in ("DB_PASSWORD", "ECS_SUBNET_1", "ECS_SUBNETS_2")
    }
    assert sorted(second) == sorted(everything - set(first))  # nothing twice, nothing left
    for repository in REPOSITORIES:
        held = github.secrets(repository, "dev")
        assert {name: held[name] for name in expected} == expected
        assert "intents" not in manifest_of(github, repository)
    github.clear_requests()
    assert sync().exit_code == 0
    assert github.writes() == []
