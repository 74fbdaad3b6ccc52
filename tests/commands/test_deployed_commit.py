"""`toto-actions deployed-commit` against the stand-in GitHub over real sockets: the commit of an
environment's latest successful deployment, found through the deployments API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.github.server import GitHubServer
from testing.running_services import step_outputs
from tests.commands.conftest import job_env
from tests.conftest import CliResult, CliRunner

REPOSITORY = "acme/toto-ms-expenses"
TOKEN = "ghs_deployments_reader_5b2e"
WRITER = "ghs_deployments_writer_91c4"
RUN_URL = "https://github.com/acme/toto-ms-expenses/actions/runs/4242"
DEPLOYMENTS = "/repos/{owner}/{repo}/deployments"
STATUSES = "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"
SHA = {name: character * 40 for name, character in zip("abcdef", "abcdef", strict=True)}


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        server.add_repository(REPOSITORY)
        # The redeploy job's token: Deployments read and nothing else that this needs.
        # (and Contents read, for the branches that must contain the deployed commit).
        server.add_token(TOKEN, [REPOSITORY], {"deployments": "read", "contents": "read"})
        # The redeploy job's token once it records what it applied: Deployments write.
        server.add_token(WRITER, [REPOSITORY], {"deployments": "write", "contents": "read"})
        # Every commit here is on main (tests/commands/test_deployed_commit_branches.py
        # covers the commits on no branch of the environment).
        server.add_branch(REPOSITORY, "main", list(SHA.values()))
        yield server
        assert server.errors == []


OUTPUTS = ("sha", "deployment-id", "ref")
BRANCHES = ("--branches", "main,release/**")


def lookup(
    cli: CliRunner, github: GitHubServer, tmp_path: Path, *arguments: str, token: str = TOKEN
) -> tuple[CliResult, dict[str, str]]:
    """Run the command with the variables the runner sets (the job on main), and a lookup with
    the branch patterns render passes; the outputs it prints."""
    patterns = () if any(a.startswith("--record") for a in arguments) else BRANCHES
    env = job_env(REPOSITORY, token, github.url, "main")
    result = cli("deployed-commit", *arguments, *patterns, env=env)
    return result, step_outputs(result.stdout, OUTPUTS)


def test_the_newest_successful_deployment_wins_over_newer_failed_or_running_ones(
    cli: CliRunner, github: GitHubServer, tmp_path: Path
) -> None:
    github.add_deployment(REPOSITORY, "dev", SHA["a"], ["queued", "in_progress", "success"])
    github.advance_clock(60)
    # A newer success turns the older one's success inactive, as GitHub does.
    deployed = github.add_deployment(REPOSITORY, "dev", SHA["b"], ["in_progress", "success"])
    github.add_deployment(REPOSITORY, "dev", SHA["c"], ["in_progress", "failure"])
    github.add_deployment(REPOSITORY, "dev", SHA["d"], ["queued", "in_progress"])
    github.add_deployment(REPOSITORY, "dev", SHA["e"], ["in_progress", "error"])
    github.add_deployment(REPOSITORY, "prod", SHA["f"], ["in_progress", "success"])  # elsewhere
    result, outputs = lookup(cli, github, tmp_path, "--environment", "dev")
    assert result.exit_code == 0, result.stderr
    assert outputs == {"sha": SHA["b"], "deployment-id": str(deployed), "ref": "main"}
    # The branches, one list of dev's deployments, the newest status of each until the success,
    # then whether main contains it (the deployment's branch, then the job's).
    assert [(r.route, r.query) for r in github.requests] == [
        ("/repos/{owner}/{repo}/branches", "per_page=100"),
        (DEPLOYMENTS, "environment=dev&per_page=100"),
        *[(STATUSES, "per_page=100")] * 4,
        *[("/repos/{owner}/{repo}/compare/{basehead}", "page=1&per_page=100")] * 2,
    ]
    assert TOKEN not in result.stdout + result.stderr


def test_an_older_success_made_inactive_is_not_what_runs(
    cli: CliRunner, github: GitHubServer, tmp_path: Path
) -> None:
    github.add_deployment(REPOSITORY, "prod", SHA["a"], ["success", "inactive"])
    github.add_deployment(REPOSITORY, "prod", SHA["b"], ["success"], ref="release/2.0")
    github.add_deployment(REPOSITORY, "prod", SHA["c"], ["in_progress", "failure"])
    result, outputs = lookup(cli, github, tmp_path, "--environment", "prod")
    assert result.exit_code == 0, result.stderr
    assert (outputs["sha"], outputs["ref"]) == (SHA["b"], "release/2.0")


def test_the_lookup_follows_the_pages_of_deployments(
    cli: CliRunner, github: GitHubServer, tmp_path: Path
) -> None:
    github.add_deployment(REPOSITORY, "dev", SHA["a"], ["success"])
    for _ in range(120):
        github.add_deployment(REPOSITORY, "dev", SHA["b"], ["in_progress", "failure"])
    result, outputs = lookup(cli, github, tmp_path, "--environment", "dev")
    assert result.exit_code == 0, result.stderr
    assert outputs["sha"] == SHA["a"]
    lists = [r.query for r in github.requests if r.route == DEPLOYMENTS]
    assert lists == ["environment=dev&per_page=100", "environment=dev&page=2&per_page=100"]


@pytest.mark.parametrize(
    "statuses",
    # A success made inactive by a newer one still counts (issue 28: a forged newer record must
    # not hide it; test_deployed_commit_branches.py); an inactive one that never succeeded not.
    [None, ["in_progress", "failure"], ["in_progress", "inactive"], []],
    ids=["never-deployed", "only-failed", "only-inactive", "no-status"],
)
def test_no_successful_deployment_is_exit_1_in_one_line(
    cli: CliRunner, github: GitHubServer, tmp_path: Path, statuses: list[str] | None
) -> None:
    if statuses is not None:
        github.add_deployment(REPOSITORY, "dev", SHA["a"], statuses)
    github.add_deployment(REPOSITORY, "prod", SHA["b"], ["success"])  # another environment's
    result, outputs = lookup(cli, github, tmp_path, "--environment", "dev")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {REPOSITORY} has no successful deployment to dev of a commit on its branches "
        "(main, release/**): nothing to redeploy (deploy it once with a push)"
    ]
    assert outputs == {}


def test_a_token_without_deployments_read_is_exit_1_naming_the_refusal(
    cli: CliRunner, github: GitHubServer, tmp_path: Path
) -> None:
    github.add_token("ghs_contents_only", [REPOSITORY], {"contents": "read"})
    github.add_deployment(REPOSITORY, "dev", SHA["a"], ["success"])
    result, _ = lookup(cli, github, tmp_path, "--environment", "dev", token="ghs_contents_only")
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: the deployments of {REPOSITORY} to dev: GitHub answered 403"), (
        line
    )
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("arguments", "line"),
    [
        (
            [],
            "--environment is required: the GitHub environment whose latest successful "
            "deployment is looked up",
        ),
        (
            ["--environment", " dev"],
            "environment ' dev' is not a GitHub environment name: 1 to "
            "255 printable characters, no surrounding spaces",
        ),
        (
            ["--environment", "x" * 256],
            f"environment {'x' * 256!r} is not a GitHub environment "
            "name: 1 to 255 printable characters, no surrounding spaces",
        ),
        (["--environment", "dev", "--repository", "acme"], "repository 'acme' is not OWNER/NAME"),
        (["--environment", "dev", "--repository", "a/b/c"], "repository 'a/b/c' is not OWNER/NAME"),
        (
            ["--environment", "dev", "--github-api-url", "ftp://x"],
            "--github-api-url 'ftp://x': expected an http or https URL with a host",
        ),
    ],
)
def test_bad_input_is_exit_2_in_one_line_before_any_request(
    cli: CliRunner, github: GitHubServer, tmp_path: Path, arguments: list[str], line: str
) -> None:
    github.add_deployment(REPOSITORY, "dev", SHA["a"], ["success"])
    result, outputs = lookup(cli, github, tmp_path, *arguments)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {line}"]
    assert github.requests == [] and outputs == {}


def test_a_missing_token_is_exit_2(cli: CliRunner, github: GitHubServer, tmp_path: Path) -> None:
    result = cli(
        "deployed-commit",
        "--environment",
        "dev",
        "--repository",
        REPOSITORY,
        "--github-api-url",
        github.url,
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --github-token is required (or set GITHUB_TOKEN)"
    assert github.requests == []


def test_record_makes_a_deployment_of_the_sha_with_a_success_status_that_the_next_lookup_finds(
    cli: CliRunner, github: GitHubServer, tmp_path: Path
) -> None:
    """The redeploy of dev: dev ran a; GitHub recorded the redeploy job as a deployment of the
    run's commit b when it started; the job applied a and records it; then GitHub marks the job's
    deployment success. The next lookup must answer a, not b."""
    github.add_deployment(REPOSITORY, "dev", SHA["a"], ["queued", "in_progress", "success"])
    job = github.add_deployment(REPOSITORY, "dev", SHA["b"], ["queued", "in_progress"])
    github.add_deployment(REPOSITORY, "prod", SHA["c"], ["success"])  # another environment's
    github.advance_clock(60)
    github.clear_requests()
    arguments = ("--environment", "dev", "--record", SHA["a"], "--log-url", RUN_URL)
    result, outputs = lookup(cli, github, tmp_path, *arguments, token=WRITER)
    assert result.exit_code == 0, result.stderr
    assert [(r.method, r.route, r.status) for r in github.requests] == [
        ("POST", DEPLOYMENTS, 201),
        ("POST", STATUSES, 201),
    ]
    made, status = (r.body for r in github.requests)
    description = "toto-actions redeploy: the commit the environment ran, applied again"
    assert made == {
        "ref": SHA["a"],
        "environment": "dev",
        "auto_merge": False,
        "required_contexts": [],
        "description": description,
    }
    assert status == {"state": "success", "log_url": RUN_URL, "description": description}
    record = github.deployments(REPOSITORY)[-1]
    assert (record.sha, record.ref, record.environment) == (SHA["a"], SHA["a"], "dev")
    assert [(s.state, s.log_url) for s in record.statuses] == [("success", RUN_URL)]
    assert outputs == {"sha": SHA["a"], "deployment-id": str(record.id), "ref": SHA["a"]}
    assert WRITER not in result.stdout + result.stderr
    # The job ends: GitHub marks its own deployment (of b, created before the record) success.
    github.add_deployment_status(REPOSITORY, job, "success")
    result, outputs = lookup(cli, github, tmp_path, "--environment", "dev")
    assert result.exit_code == 0, result.stderr
    assert outputs == {"sha": SHA["a"], "deployment-id": str(record.id), "ref": SHA["a"]}


def test_record_without_log_url_sends_none(
    cli: CliRunner, github: GitHubServer, tmp_path: Path
) -> None:
    arguments = ("--environment", "qa", "--record", SHA["d"])
    result, _ = lookup(cli, github, tmp_path, *arguments, token=WRITER)
    assert result.exit_code == 0, result.stderr
    [_, status] = github.requests
    assert status.body == {
        "state": "success",
        "description": "toto-actions redeploy: the commit the environment ran, applied again",
    }


def test_record_with_a_read_only_token_is_exit_1_naming_the_refusal(
    cli: CliRunner, github: GitHubServer, tmp_path: Path
) -> None:
    result, outputs = lookup(cli, github, tmp_path, "--environment", "dev", "--record", SHA["a"])
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"error: recording {SHA['a']} as deployed to dev in {REPOSITORY}: GitHub answered 403"
    ), line
    assert github.deployments(REPOSITORY) == [] and outputs == {}


@pytest.mark.parametrize("sha", ["main", "A" * 40, "a" * 39, "a" * 64])
def test_record_of_anything_but_a_commit_sha_is_exit_2_before_any_request(
    cli: CliRunner, github: GitHubServer, tmp_path: Path, sha: str
) -> None:
    arguments = ("--environment", "dev", f"--record={sha}")
    result, outputs = lookup(cli, github, tmp_path, *arguments, token=WRITER)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: --record {sha!r} is not a commit SHA (40 lowercase hexadecimal digits)"
    ]
    assert github.requests == [] and outputs == {}
