"""`toto-actions deployed-commit` hardened against forged deployment records, against the stand-in
GitHub over real sockets: only a deployment whose commit a branch of the environment contains
counts, the job's branch must contain it, and the dispatch handler starts the workflow on that
branch.

Sources the stand-in follows (testing/github/branch_routes.py, deployment_routes.py):
- GitHub's OpenAPI description (npm @octokit/openapi, api.github.com.json):
  POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses, `auto_inactive`: "Adds a new
  `inactive` status to all prior non-transient, non-production environment deployments with the
  same repository and `environment` name as the created status's deployment. An `inactive` status
  is only added to deployments that had a `success` state. Default: `true`";
  GET /repos/{owner}/{repo}/compare/{basehead}: "equivalent to running the `git log BASE..HEAD`
  command", status one of diverged, ahead, behind, identical (base contains head: identical or
  behind); POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches: body `ref`
  ("a branch or tag name", required) and `inputs`, answered 204.
- github/docs src/github-apps/data/fpt-2022-11-28/server-to-server-permissions.json (vendored in
  testing/vendor/github-permissions.json): list-branches and compare-two-commits need Contents:
  read, create-a-workflow-dispatch-event Actions: write.
- PyGithub (github/Repository.py compare, get_branches; github/Workflow.py create_dispatch, which
  sends {"ref": ..., "inputs": ...}).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testing.github.server import GitHubServer
from testing.running_services import step_outputs
from tests.commands.conftest import job_env
from tests.conftest import CliResult, CliRunner

REPOSITORY = "acme/toto-ms-expenses"
# The redeploy job's token: deployments and branches, read only.
JOB = "ghs_redeploy_job_7f1c"
# The dispatch handler's token: the same, and Actions: write to start the workflow.
HANDLER = "ghs_redeploy_handler_2d9a"
# A writer's token: Deployments: write is all it takes to forge a record.
WRITER = "ghs_deployments_writer_0b3e"
WORKFLOW = "toto-microservice.yml"
DEV, PROD = "main,feature/**", "release/**"
COMPARE = "/repos/{owner}/{repo}/compare/{basehead}"
DISPATCHES = "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"
OUTPUTS = ("sha", "deployment-id", "ref", "branch")

# The commit graph: main m1 - m2; feature/login from m1: f1; release/2.0 from m2: r1, r2;
# experiment from m1: x1 (a branch no environment deploys); o1 is a commit on no branch.
M1, M2, F1, R1, R2, X1, O1 = (c * 40 for c in "1234567")


@pytest.fixture
def github() -> Iterator[GitHubServer]:
    with GitHubServer() as server:
        server.add_repository(REPOSITORY)
        read = {"deployments": "read", "contents": "read"}
        server.add_token(JOB, [REPOSITORY], read)
        server.add_token(HANDLER, [REPOSITORY], {**read, "actions": "write"})
        server.add_token(WRITER, [REPOSITORY], {"deployments": "write"})
        server.add_branch(REPOSITORY, "main", [M1, M2])
        server.add_branch(REPOSITORY, "feature/login", [F1], base=M1)
        server.add_branch(REPOSITORY, "release/2.0", [R1, R2], base="main")
        server.add_branch(REPOSITORY, "experiment", [X1], base=M1)
        yield server
        assert server.errors == []


def run(
    cli: CliRunner, github: GitHubServer, *arguments: str, token: str = JOB, branch: str = "main"
) -> tuple[CliResult, dict[str, str]]:
    """The command with the variables the runner sets; the outputs it printed."""
    result = cli("deployed-commit", *arguments, env=job_env(REPOSITORY, token, github.url, branch))
    return result, step_outputs(result.stdout, OUTPUTS)


def found(sha: str, deployment: int, branch: str) -> dict[str, str]:
    """The outputs of a lookup that found this deployment of sha, made from branch, on it."""
    return {"sha": sha, "deployment-id": str(deployment), "ref": branch, "branch": branch}


def errors(result: CliResult) -> list[str]:
    """The lines of stderr but the warnings (a skipped deployment's)."""
    return [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]


def test_a_forged_record_of_a_commit_on_no_environment_branch_is_skipped_with_a_warning(
    cli: CliRunner, github: GitHubServer
) -> None:
    """prod runs r2 (release/2.0); a writer then records deployments of x1 (on `experiment`,
    which prod's patterns do not match) and of o1 (on no branch): both skipped, named."""
    deployed = github.add_deployment(REPOSITORY, "prod", R2, ["success"], ref="release/2.0")
    forged = [github.add_deployment(REPOSITORY, "prod", sha, ["success"]) for sha in (X1, O1)]
    result, outputs = run(
        cli, github, "--environment", "prod", "--branches", PROD, branch="release/2.0"
    )
    assert result.exit_code == 0, result.stderr
    assert outputs == found(R2, deployed, "release/2.0")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2
    for deployment, sha, warning in zip(reversed(forged), (O1, X1), warnings, strict=True):
        assert f"skipped deployment {deployment} to prod of {sha}" in warning
        assert "no branch matching release/** contains that commit" in warning
    assert JOB not in result.stdout + result.stderr


def test_a_record_made_inactive_by_a_forged_newer_one_still_counts(
    cli: CliRunner, github: GitHubServer
) -> None:
    """auto_inactive as GitHub applies it: the writer's record of x1 with a `success` status
    (through the API, as --record makes it) adds `inactive` to r1's deployment."""
    failed = github.add_deployment(REPOSITORY, "prod", R2, ["failure"], ref="release/2.0")
    deployed = github.add_deployment(REPOSITORY, "prod", R1, ["success"], ref="release/2.0")
    dev = github.add_deployment(REPOSITORY, "dev", M2, ["success"])  # another environment's
    forge = ("--environment", "prod", "--record", X1)
    result, _ = run(cli, github, *forge, token=WRITER)
    assert result.exit_code == 0, result.stderr
    states = {d.id: [s.state for s in d.statuses] for d in github.deployments(REPOSITORY)}
    assert states[deployed] == ["success", "inactive"]
    # Only a deployment that had a success state, of the same environment, is made inactive.
    assert states[failed] == ["failure"]
    assert states[dev] == ["success"]
    result, outputs = run(
        cli, github, "--environment", "prod", "--branches", PROD, branch="release/2.0"
    )
    assert result.exit_code == 0, result.stderr
    assert (outputs["sha"], outputs["deployment-id"]) == (R1, str(deployed))


def test_a_feature_branch_commit_is_found_on_its_own_branch_first(
    cli: CliRunner, github: GitHubServer
) -> None:
    github.add_deployment(REPOSITORY, "dev", M2, ["success", "inactive"], ref="main")
    deployed = github.add_deployment(REPOSITORY, "dev", F1, ["success"], ref="feature/login")
    github.clear_requests()
    arguments = ("--environment", "dev", "--branches", DEV)
    result, outputs = run(cli, github, *arguments, branch="feature/login")
    assert result.exit_code == 0, result.stderr
    assert outputs == found(F1, deployed, "feature/login")
    # The deployment's own ref is compared first; then the job's branch.
    compared = [r.path.rpartition("/compare/")[2] for r in github.requests if r.route == COMPARE]
    assert compared == [f"feature/login...{F1}", f"feature/login...{F1}"]


@pytest.mark.parametrize(
    ("job_branch", "status", "contained"),
    [
        ("release/2.0", "identical", True),  # the branch's head is r2
        ("release/2.1", "behind", True),  # a newer release branch holds r2 and more
        ("main", "ahead", False),  # main is older than r2
        ("feature/login", "diverged", False),
    ],
)
def test_the_job_branch_must_contain_the_commit(
    cli: CliRunner, github: GitHubServer, job_branch: str, status: str, contained: bool
) -> None:
    github.add_branch(REPOSITORY, "release/2.1", ["8" * 40], base=R2)
    github.add_deployment(REPOSITORY, "prod", R2, ["success"], ref="release/2.0")
    arguments = ("--environment", "prod", "--branches", f"{PROD},main,feature/**")
    result, outputs = run(cli, github, *arguments, branch=job_branch)
    assert [r.status for r in github.requests if r.route == COMPARE][-1] == 200
    if contained:
        assert result.exit_code == 0, result.stderr
        assert outputs["sha"] == R2
        return
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: prod runs {R2}, which the job's branch {job_branch} does not contain: nothing "
        "applied (redeploy it from release/2.0)"
    ]
    assert outputs == {}
    assert github.writes() == []
    del status  # named for the test id: what GitHub's comparison answers


def test_the_handler_starts_the_workflow_on_the_branch_with_redeploy_true(
    cli: CliRunner, github: GitHubServer
) -> None:
    deployed = github.add_deployment(REPOSITORY, "prod", R1, ["success"], ref="release/2.0")
    github.add_deployment(REPOSITORY, "prod", O1, ["success"])  # forged: skipped
    arguments = ("--environment", "prod", "--branches", PROD, "--dispatch-workflow", WORKFLOW)
    # A repository_dispatch run is on the default branch, which need not contain the commit.
    result, outputs = run(cli, github, *arguments, token=HANDLER, branch="main")
    assert result.exit_code == 0, result.stderr
    assert github.workflow_dispatches(REPOSITORY) == [
        {"workflow_id": WORKFLOW, "ref": "release/2.0", "inputs": {"redeploy": "true"}}
    ]
    [dispatch] = [r for r in github.requests if r.route == DISPATCHES]
    assert (dispatch.status, dispatch.body) == (
        204,
        {"ref": "release/2.0", "inputs": {"redeploy": "true"}},
    )
    assert outputs == found(R1, deployed, "release/2.0")


@pytest.mark.parametrize(
    "records",
    [[], [(X1, ["success"])], [(O1, ["success"])], [(R1, ["in_progress", "failure"])]],
    ids=["never-deployed", "off-branch", "no-branch", "failed"],
)
def test_nothing_is_dispatched_when_no_record_holds(
    cli: CliRunner, github: GitHubServer, records: list[tuple[str, list[str]]]
) -> None:
    for sha, statuses in records:
        github.add_deployment(REPOSITORY, "prod", sha, statuses)
    arguments = ("--environment", "prod", "--branches", PROD, "--dispatch-workflow", WORKFLOW)
    result, outputs = run(cli, github, *arguments, token=HANDLER)
    assert result.exit_code == 1
    assert errors(result) == [
        f"error: {REPOSITORY} has no successful deployment to prod of a commit on its branches "
        "(release/**): nothing to redeploy (deploy it once with a push)"
    ]
    assert github.workflow_dispatches(REPOSITORY) == [] and github.writes() == []
    assert outputs == {}


def test_no_branch_matching_the_patterns_is_exit_1(cli: CliRunner, github: GitHubServer) -> None:
    github.add_deployment(REPOSITORY, "qa", M2, ["success"])
    result, _ = run(
        cli,
        github,
        "--environment",
        "qa",
        "--branches",
        "qa/**",
        "--dispatch-workflow",
        WORKFLOW,
        token=HANDLER,
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {REPOSITORY} has no branch matching qa/** (qa's branches): nothing to redeploy"
    ]
    assert github.writes() == []


def test_the_dispatch_needs_actions_write(cli: CliRunner, github: GitHubServer) -> None:
    """The job token of the redeploy job (no Actions: write) cannot start a workflow: GitHub's
    403, named in one line."""
    github.add_deployment(REPOSITORY, "prod", R1, ["success"], ref="release/2.0")
    arguments = ("--environment", "prod", "--branches", PROD, "--dispatch-workflow", WORKFLOW)
    result, _ = run(cli, github, *arguments, token=JOB)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"error: starting {WORKFLOW} on release/2.0 of {REPOSITORY}: GitHub answered 403"
    ), line
    assert github.workflow_dispatches(REPOSITORY) == []


@pytest.mark.parametrize(
    ("arguments", "line"),
    [
        (
            ["--environment", "prod"],
            "--branches is required: the environment's branch patterns, comma-separated "
            "(main,feature/**)",
        ),
        (
            ["--environment", "prod", "--branches", " , "],
            "environment 'prod' has no branch pattern: give them comma-separated, as render "
            "writes them (main,feature/**)",
        ),
        (
            ["--environment", "prod", "--branches", "release/[0-9]*"],
            "branch pattern 'release/[0-9]*' of environment 'prod' is not supported: use a "
            "branch name, or a prefix followed by a single * or ** (main, feature/**, release-*)",
        ),
        (
            ["--environment", "prod", "--branches", PROD, "--dispatch-workflow", "../x.yml"],
            "--dispatch-workflow '../x.yml' is not a workflow file name (toto-microservice.yml)",
        ),
    ],
)
def test_bad_input_is_exit_2_before_any_request(
    cli: CliRunner, github: GitHubServer, arguments: list[str], line: str
) -> None:
    result, outputs = run(cli, github, *arguments)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {line}"]
    assert github.requests == [] and outputs == {}


def test_a_lookup_without_the_job_branch_is_exit_2(cli: CliRunner, github: GitHubServer) -> None:
    result = cli(
        "deployed-commit",
        "--environment=prod",
        f"--branches={PROD}",
        f"--repository={REPOSITORY}",
        f"--github-api-url={github.url}",
        env={"GITHUB_TOKEN": JOB},
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --job-branch is required (or set GITHUB_REF_NAME)"
    ]
    assert github.requests == []
