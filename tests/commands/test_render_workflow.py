"""`toto-actions render-workflow`, run as a user runs it: the console script in a subprocess."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import pytest
import yaml

from tests.conftest import CliRunner, snapshot, write_toto_yml
from toto_actions.workflows.action_pins import pin_table

MICROSERVICE = Path(".github/workflows/toto-microservice.yml")
CORE = Path(".github/workflows/toto-core.yml")


def load(path: Path) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def steps_by_uses(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The job's steps that use an action, by action (the first, when one is used twice)."""
    steps: dict[str, dict[str, Any]] = {}
    for step in job["steps"]:
        if "uses" in step:
            steps.setdefault(step["uses"].split("@")[0], step)
    return steps


def microservice_named(service: str) -> tuple[str, ...]:
    """The arguments that render the microservice workflow of the service so named."""
    return ("--kind", "microservice", "--service", service)


# What a core render without toto-secrets.yml warns (tests/commands/test_render_workflow_kept.py).
NO_SYNC_CONFIG = (
    "warning: toto-secrets.yml is missing: the first push's sync step will fail without it; "
    "start from the one below, saved as toto-secrets.yml beside toto.yml\n"
)


def besides_the_sync_warning(stderr: str) -> str:
    """stderr without the warning of a core render that finds no toto-secrets.yml."""
    return stderr.replace(NO_SYNC_CONFIG, "", 1)


# The workflow_dispatch input of a redeploy run (tests/commands/test_render_workflow_redeploy.py).
REDEPLOY_INPUT = {
    "description": "Apply again the commit the branch's environment runs now (what a core "
    "change starts), instead of building and deploying the branch's newest commit",
    "type": "boolean",
    "default": False,
}


def test_microservice_workflow(inline_cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "toto-ms-expenses"}', encoding="utf-8")
    result = inline_cli("render-workflow", "--kind", "microservice", "--aws-region", "eu-west-1")
    assert (result.exit_code, result.stderr) == (0, "")
    assert f"wrote {MICROSERVICE}" in result.stdout

    workflow = load(tmp_path / MICROSERVICE)
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    branches = ["feature/**", "main", "release/**"]
    assert workflow[True] == {
        "push": {"branches": branches},
        "pull_request": {"types": ["opened", "synchronize", "reopened"], "branches": branches},
        "schedule": [{"cron": "23 5 * * *"}],
        "workflow_dispatch": {"inputs": {"redeploy": REDEPLOY_INPUT}},
        "repository_dispatch": {"types": ["toto-core-changed"]},
    }
    assert workflow["permissions"] == {}
    assert list(workflow["jobs"]) == [
        "deploy-dev",
        "deploy-prod",
        "redeploy-dispatch",
        "redeploy-dev",
        "redeploy-prod",
        "plan-dev",
        "plan-prod",
        "drift-dev",
        "drift-prod",
    ]
    dev = workflow["jobs"]["deploy-dev"]
    assert dev["environment"] == "dev"
    assert dev["if"] == (
        "(github.event_name == 'push' || (github.event_name == 'workflow_dispatch' && "
        "inputs.redeploy != true)) && "
        "(startsWith(github.ref, 'refs/heads/feature/') || github.ref == 'refs/heads/main')"
    )
    assert dev["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "read",
        "actions": "read",  # the reviewed plan's run (GET .../actions/runs/{run_id})
    }
    assert dev["concurrency"] == {"group": "toto-ms-expenses-dev", "cancel-in-progress": False}
    steps = steps_by_uses(dev)
    assert list(steps) == [
        "actions/checkout",
        "aws-actions/configure-aws-credentials",
        "toto/actions/actions/build-push",
        "toto/actions/actions/tf-apply",
    ]
    assert steps["aws-actions/configure-aws-credentials"]["with"] == {
        "role-to-assume": "${{ vars.AWS_ROLE_ARN }}",
        "aws-region": "eu-west-1",
    }
    assert steps["toto/actions/actions/build-push"]["uses"].endswith("@v1")
    assert steps["toto/actions/actions/build-push"]["with"]["repository"] == (
        "toto-ms-expenses/dev"
    )
    apply = steps["toto/actions/actions/tf-apply"]
    assert apply["with"]["workspace"] == "toto-ms-expenses-dev"
    assert apply["with"]["var"] == (
        "image_tag=${{ steps.build.outputs.inputs-tag || steps.build.outputs.tag }}\n"
        "image=${{ steps.build.outputs.image }}\n"
    )
    assert apply["with"]["github-api-url"] == "${{ vars.TOTO_GITHUB_API_URL || github.api_url }}"
    assert "plan-only" not in apply["with"] and "run-source" not in apply["with"]
    assert apply["with"]["wait-for-services"] == "auto"
    assert apply["env"]["TF_VAR_ecs_subnet_1"] == "${{ secrets.ECS_SUBNET_1 }}"
    assert apply["env"]["TF_API_TOKEN"] == "${{ secrets.TF_API_TOKEN }}"
    prod = workflow["jobs"]["deploy-prod"]
    assert prod["if"] == (
        "(github.event_name == 'push' || (github.event_name == 'workflow_dispatch' && "
        "inputs.redeploy != true)) && (startsWith(github.ref, 'refs/heads/release/'))"
    )
    assert steps_by_uses(prod)["toto/actions/actions/tf-apply"]["with"]["workspace"] == (
        "toto-ms-expenses-prod"
    )


def test_core_workflow_syncs_with_an_app_token_scoped_to_the_services(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    result = inline_cli(
        "render-workflow",
        "--kind",
        "core",
        "--service",
        "toto-terra-aws",
        "--service-repositories",
        "acme/toto-ms-expenses, acme/toto-ms-games",
    )
    assert result.exit_code == 0, result.stderr
    workflow = load(tmp_path / CORE)
    assert workflow[True] == {
        "push": {"branches": ["main", "prod"]},
        "pull_request": {
            "types": ["opened", "synchronize", "reopened"],
            "branches": ["main", "prod"],
        },
        "schedule": [{"cron": "23 5 * * *"}],
    }
    dev = workflow["jobs"]["apply-dev"]
    assert dev["if"] == "github.event_name == 'push' && (github.ref == 'refs/heads/main')"
    # No AWS credentials on the cloud engine.
    assert dev["permissions"] == {"contents": "read", "pull-requests": "read", "actions": "read"}
    steps = steps_by_uses(dev)
    assert list(steps) == [
        "actions/checkout",
        "toto/actions/actions/tf-apply",
        "actions/create-github-app-token",
        "toto/actions/actions/sync-secrets",
    ]
    assert [step.get("with", {}).get("environment") for step in dev["steps"][-2:]] == [
        "dev",
        "dev-plan",
    ]
    token = steps["actions/create-github-app-token"]["with"]
    assert token["owner"] == "acme"
    assert token["repositories"] == "toto-ms-expenses\ntoto-ms-games\n"
    sync = steps["toto/actions/actions/sync-secrets"]["with"]
    assert sync["environment"] == "dev"
    assert sync["outputs"] == "${{ steps.apply.outputs.outputs-file }}"
    assert sync["github-token"] == "${{ steps.app-token.outputs.token }}"
    assert "dispatch" not in sync and "create-environments" not in sync
    # GitHub's pace by default; the repository's TOTO_WRITE_INTERVAL where limits are lifted.
    assert sync["write-interval"] == "${{ vars.TOTO_WRITE_INTERVAL || '1' }}"
    assert workflow["jobs"]["apply-prod"]["if"] == (
        "github.event_name == 'push' && (github.ref == 'refs/heads/prod')"
    )
    # Exactly what the sync into environments needs, under GitHub's keys.
    assert {key: value for key, value in token.items() if key.startswith("permission-")} == {
        "permission-actions": "read",
        "permission-actions-variables": "write",
        "permission-environments": "write",
        "permission-metadata": "read",
        "permission-secrets": "write",
    }


def test_dispatch_and_environment_creation_ask_for_their_permissions(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    write_toto_yml(
        tmp_path,
        "kind: core\nservice: toto-terra-aws\nservice-repositories: [acme/toto-ms-games]\n"
        "sync-dispatch: toto-core-changed\ncreate-environments: true\n",
    )
    assert inline_cli("render-workflow").exit_code == 0
    steps = steps_by_uses(load(tmp_path / CORE)["jobs"]["apply-dev"])
    sync = steps["toto/actions/actions/sync-secrets"]["with"]
    assert (sync["dispatch"], sync["create-environments"]) == ("toto-core-changed", True)
    token = steps["actions/create-github-app-token"]["with"]
    assert (token["permission-contents"], token["permission-administration"]) == ("write", "write")


def test_a_repository_scope_sync_asks_for_no_environment_permission(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    write_toto_yml(
        tmp_path,
        "version: 1\nscope: repository\nrepositories: [acme/toto-ms-games]\nsecrets: {A: a}\n",
        "toto-secrets.yml",
    )
    result = inline_cli(
        "render-workflow", "--kind=core", "--service-repositories=acme/toto-ms-games"
    )
    assert result.exit_code == 0, result.stderr
    token = steps_by_uses(load(tmp_path / CORE)["jobs"]["apply-dev"])[
        "actions/create-github-app-token"
    ]["with"]
    assert {key for key in token if key.startswith("permission-")} == {
        "permission-actions-variables",
        "permission-metadata",
        "permission-secrets",
    }


def test_core_workflow_with_a_token_secret_and_the_cli_engine(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    result = inline_cli(
        "render-workflow",
        "--kind",
        "core",
        "--sync-auth",
        "token",
        "--terraform-engine",
        "cli",
        cwd=_repository(tmp_path, "toto-terra-aws"),
    )
    assert result.exit_code == 0, result.stderr
    dev = load(tmp_path / "toto-terra-aws" / CORE)["jobs"]["apply-dev"]
    steps = steps_by_uses(dev)
    assert "actions/create-github-app-token" not in steps
    assert "hashicorp/setup-terraform" in steps
    assert dev["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "read",
        "actions": "read",  # the reviewed plan's run (GET .../actions/runs/{run_id})
    }
    assert steps["toto/actions/actions/tf-apply"]["with"]["engine"] == "cli"
    assert steps["toto/actions/actions/sync-secrets"]["with"]["github-token"] == (
        "${{ secrets.TOTO_SYNC_TOKEN }}"
    )


def _repository(parent: Path, name: str) -> Path:
    repository = parent / name
    repository.mkdir()
    return repository


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"package.json": '{"name": "toto-ms-from-node"}'}, "toto-ms-from-node"),
        ({"pyproject.toml": '[project]\nname = "toto-ms-from-python"\n'}, "toto-ms-from-python"),
        ({}, "toto-ms-from-directory"),
    ],
)
def test_the_service_name_is_discovered(
    inline_cli: CliRunner, tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    repository = _repository(tmp_path, "toto-ms-from-directory")
    for name, content in files.items():
        (repository / name).write_text(content, encoding="utf-8")
    assert inline_cli("render-workflow", "--kind", "microservice", cwd=repository).exit_code == 0
    assert load(repository / MICROSERVICE)["jobs"]["deploy-dev"]["concurrency"]["group"] == (
        f"{expected}-dev"
    )


def aws_region(repository: Path) -> str:
    job = load(repository / MICROSERVICE)["jobs"]["deploy-dev"]
    region: str = steps_by_uses(job)["aws-actions/configure-aws-credentials"]["with"]["aws-region"]
    return region


def test_a_flag_wins_over_its_input_variable_which_wins_over_toto_yml(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "toto.yml").write_text(
        "kind: microservice\nservice: toto-ms-x\naws-region: eu-west-1\n", encoding="utf-8"
    )
    assert inline_cli("render-workflow").exit_code == 0
    assert aws_region(tmp_path) == "eu-west-1"
    assert inline_cli("render-workflow", env={"INPUT_AWS-REGION": "us-east-2"}).exit_code == 0
    assert aws_region(tmp_path) == "us-east-2"
    assert (
        inline_cli(
            "render-workflow", "--aws-region", "ap-south-1", env={"INPUT_AWS-REGION": "us-east-2"}
        ).exit_code
        == 0
    )
    assert aws_region(tmp_path) == "ap-south-1"


def test_every_setting_can_come_from_input_variables(inline_cli: CliRunner, tmp_path: Path) -> None:
    repository = _repository(tmp_path, "target")
    result = inline_cli(
        "render-workflow",
        env={
            "INPUT_KIND": "microservice",
            "INPUT_OUTPUT-DIR": str(repository),
            "INPUT_SERVICE": "toto-ms-games",
            "INPUT_ENVIRONMENTS": "staging=develop",
            "INPUT_TERRAFORM-ENGINE": "cli",
            "INPUT_ACTIONS-REPO": "acme/toto-actions-fork",
            "INPUT_ACTIONS-REF": "0123456789abcdef0123456789abcdef01234567",
            "INPUT_CORE-SECRETS": "ECS_SUBNET_1,DB_HOST",
            "INPUT_TERRAFORM-DIR": "infra/service",
        },
    )
    assert result.exit_code == 0, result.stderr
    job = load(repository / MICROSERVICE)["jobs"]["deploy-staging"]
    steps = steps_by_uses(job)
    apply = steps["acme/toto-actions-fork/actions/tf-apply"]
    assert apply["uses"] == (
        "acme/toto-actions-fork/actions/tf-apply@0123456789abcdef0123456789abcdef01234567"
    )
    assert apply["with"]["working-directory"] == "infra/service"
    assert apply["with"]["workspace"] == "toto-ms-games-staging"
    assert apply["env"] == {
        "TF_VAR_ecs_subnet_1": "${{ secrets.ECS_SUBNET_1 }}",
        "TF_VAR_db_host": "${{ secrets.DB_HOST }}",
    }


def test_toto_yml_holds_lists_and_mappings(inline_cli: CliRunner, tmp_path: Path) -> None:
    write_toto_yml(
        tmp_path,
        "kind: core\nservice: toto-terra-aws\nservice-repositories: [toto-ms-a, toto-ms-b]\n"
        "environments:\n  dev: [main]\n  qa: qa\n  prod: [prod, hotfix/**]\n",
    )
    assert inline_cli("render-workflow").exit_code == 0
    workflow = load(tmp_path / CORE)
    assert [job for job in workflow["jobs"] if job.startswith("apply-")] == [
        "apply-dev",
        "apply-qa",
        "apply-prod",
    ]
    assert workflow[True]["push"]["branches"] == ["main", "qa", "prod", "hotfix/**"]


MS = microservice_named("ms")


class BadInput(NamedTuple):
    arguments: Sequence[str]
    message: str | None  # None: only the shape, one "error: " line, is checked
    files: Mapping[str, str] = MappingProxyType({})  # written into the repository first


BAD_INPUTS = [
    BadInput(
        [*MS, "--environments", "Dev=main;dev=release/**"],
        "environments 'Dev=main;dev=release/**': environment 'dev' is given twice",
    ),
    BadInput(
        ["--service", "ms"],
        "environment 'dev' has no branch",
        {"toto.yml": "kind: microservice\nenvironments: {dev: [], prod: p}\n"},
    ),
    BadInput(
        [*MS, "--core-secrets", "VPC_ID,vpc_id"],
        "core secret 'vpc_id' is given twice (secret names are case-insensitive)",
    ),
    BadInput(["--kind", "microservice"], None, {"package.json": '{"name": 3}'}),
    BadInput(microservice_named(""), "--service: an empty value; leave the option out instead"),
    BadInput(
        microservice_named("a"),
        "service name 'a' (from --service) is not a valid image repository name: lowercase letters "
        "and digits, with '.', '_' or '-' between them; pass --service NAME",
    ),
    BadInput(
        ["--kind", "core", "--sync-auth", "token", "--service", "c" * 87],
        f"workspace name {'c' * 87}-prod is longer than 90 characters: pass a shorter --service",
    ),
    BadInput([*MS, "--actions-repo", "toto/.."], "actions-repo 'toto/..' is not OWNER/REPO"),
    BadInput(
        [*MS, "--actions-ref", "release/"], "actions-ref 'release/' is not a tag, branch or commit"
    ),
    BadInput(
        [*MS, "--environments", "dev=main//x"],
        "branch pattern 'main//x' of environment 'dev' is not supported: use a branch name, or a "
        "prefix followed by a single * or ** (main, feature/**, release-*)",
    ),
    BadInput(
        ["--kind", "microservice", "--output-dir", "toto.yml"],
        "output directory 'toto.yml' is not a directory",
        {"toto.yml": ""},
    ),
    BadInput(
        ["--kind", "service"],
        "toto-actions render-workflow: argument --kind: invalid choice: 'service' "
        "(choose from 'microservice', 'core') (see --help)",
    ),
    BadInput(
        ["--kind", "microservice", "--bogus"],
        "toto-actions render-workflow: unrecognized arguments: --bogus (see --help)",
    ),
    BadInput([], "--kind is required (or kind in toto.yml): one of microservice, core"),
    BadInput(
        microservice_named("Toto MS"),
        "service name 'Toto MS' (from --service) is not a valid repository name; "
        "pass --service NAME",
    ),
    BadInput(
        microservice_named("Toto-MS"),
        "service name 'Toto-MS' (from --service) is not a valid image repository name: lowercase "
        "letters and digits, with '.', '_' or '-' between them; pass --service NAME",
    ),
    BadInput(
        [*MS, "--environments", "dev:main"],
        "environments 'dev:main': 'dev:main' is not ENV=BRANCH[,BRANCH...] "
        "(example: dev=main,feature/**;prod=release/**)",
    ),
    BadInput(
        [*MS, "--environments", "dev=main;prod=main"],
        "branch patterns 'main' (dev) and 'main' (prod) can match the same branch: a push must "
        "deploy to one environment",
    ),
    BadInput(
        ["--kind", "microservice", "--output-dir", "missing"],
        "output directory 'missing' does not exist",
    ),
    BadInput(
        [*MS, "--aws-region", "Europe"], "aws-region 'Europe' is not an AWS region (eu-west-1)"
    ),
    BadInput(
        [*MS, "--aws-role-arn", "toto-role"],
        "aws-role-arn 'toto-role' is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)",
    ),
    BadInput([*MS, "--actions-repo", "toto"], "actions-repo 'toto' is not OWNER/REPO"),
    BadInput([*MS, "--actions-ref", "../v1"], "actions-ref '../v1' is not a tag, branch or commit"),
    BadInput(
        [*MS, "--core-secrets", "GITHUB_TOKEN"],
        "core secret name 'GITHUB_TOKEN' is not a valid GitHub secret name: letters, digits and "
        "'_', not starting with a digit or GITHUB_",
    ),
    BadInput(
        [*MS, "--terraform-dir", "../elsewhere"],
        "terraform-dir '../elsewhere' must be a path inside the repository",
    ),
    BadInput(
        ["--kind", "core", "--service", "core", "--service-repositories", "acme/a,other/b"],
        "service repositories belong to several owners (acme, other): one GitHub App token "
        "serves one owner",
    ),
    BadInput(
        ["--service", "ms"],
        "toto.yml: unknown setting 'region' (known: kind, service, environments, environment, "
        "aws-region, "
        "aws-role-arn, aws-plan-role-arn, terraform-engine, tfc-organization, terraform-dir, "
        "core-secrets, platforms, image-repository, "
        "service-repositories, sync-auth, secrets-scope, sync-dispatch, create-environments, "
        "drift-schedule, run-source, require-reviewed-plan, style, runs-on, terraform-version, "
        "test-command, context, dockerfile, build-args, target, actions-repo, actions-ref, "
        "pin-actions)",
        {"toto.yml": "kind: microservice\nregion: eu-west-1\n"},
    ),
    BadInput(
        ["--service", "ms"],
        "toto.yml: expected a mapping of settings, found list",
        {"toto.yml": "- kind\n"},
    ),
    BadInput(["--service", "ms"], None, {"toto.yml": "kind: [microservice\n"}),
    BadInput(
        ["--kind", "microservice", "--service", "ms"],
        'toto.yml, line 2: key yes is read as True, not as a name (YAML 1.1): quote it, "yes"',
        {"toto.yml": "environments:\n  yes: [main]\n"},
    ),
    BadInput(
        ["--kind", "microservice", "--service", "ms"],
        'toto.yml, line 3: key off is read as False, not as a name (YAML 1.1): quote it, "off"',
        {"toto.yml": "environments:\n  dev: main\n  off: release/**\n"},
    ),
    BadInput(
        ["--kind", "core", "--service", "core", "--service-repositories", "x"],
        'toto.yml, line 1: key on is read as True, not as a name (YAML 1.1): quote it, "on"',
        {"toto.yml": "environments: {on: main}\n"},
    ),
    BadInput(
        ["--service", "ms"],
        "toto.yml, line 2: key 'kind' is given twice",
        {"toto.yml": "kind: core\nkind: microservice\n"},
    ),
    BadInput(
        ["--kind", "microservice", "--service", "ms"],
        "toto.yml, line 4: key 'dev' is given twice",
        {"toto.yml": "environments:\n  dev: main\n  prod: release/**\n  dev: feature/**\n"},
    ),
    BadInput(
        ["--kind", "microservice"],
        "service name 'Toto MS' (from toto.yml) is not a valid repository name; "
        "pass --service NAME",
        {"toto.yml": "service: Toto MS\n"},
    ),
    BadInput(
        ["--kind", "microservice"],
        "service name 3 (from toto.yml) is not a valid repository name; pass --service NAME",
        {"toto.yml": "service: 3\n"},
    ),
    BadInput(["--service", "ms"], "kind: expected a string, found 3", {"toto.yml": "kind: 3\n"}),
    BadInput(
        ["--kind", "core", "--service-repositories", "x", "--sync-dispatch", " padded"],
        "sync-dispatch ' padded' is not a repository_dispatch event type: 1 to 100 printable "
        "characters",
    ),
    BadInput(
        [*MS, "--create-environments"],
        "--create-environments is a setting of the core workflow: leave it out of a "
        "microservice render",
    ),
    BadInput(
        [*MS, "--sync-dispatch", "core\tchanged"],
        "sync-dispatch 'core\\tchanged' is not a repository_dispatch event type: 1 to 100 "
        "printable characters",
    ),
    BadInput(
        ["--kind", "core", "--service-repositories", "x"],
        "create-environments: expected true or false, found 'yes please'",
        {"toto.yml": "create-environments: yes please\n"},
    ),
    BadInput(
        [*MS],
        "pin-actions: expected true or false, found 'sha'",
        {"toto.yml": "pin-actions: sha\n"},
    ),
    BadInput(
        ["--kind", "core", "--service-repositories", "x"],
        None,
        {"toto-secrets.yml": "version: 1\nscope: everywhere\nrepositories: [a/b]\n"},
    ),
    BadInput(
        [*MS, "--drift-schedule", "61 5 * * *"],
        "drift-schedule '61 5 * * *' is not a 5-field cron (minute hour day-of-month month "
        "day-of-week), or none: minute '61' is not in 0-59",
    ),
    BadInput(
        [*MS, "--drift-schedule", "*/2 * * * *"],
        "drift-schedule '*/2 * * * *' runs more often than every 5 minutes, the shortest "
        "interval GitHub schedules",
    ),
    BadInput(
        [*MS],
        "drift-schedule: expected a cron or none, found 5",
        {"toto.yml": "drift-schedule: 5\n"},
    ),
    BadInput(
        [*MS, "--require-reviewed-plan", "prod,staging"],
        "require-reviewed-plan: 'staging' is not one of the environments (dev, prod)",
    ),
    BadInput(
        [*MS, "--run-source", "vcs"],
        "--run-source is a setting of the core workflow: leave it out of a microservice render",
    ),
    BadInput(
        ["--kind=core", "--service-repositories=x", "--terraform-engine=cli"],
        "run-source is a setting of the core workflow on the cloud engine",
        {"toto.yml": "run-source: upload\n"},
    ),
    BadInput(
        ["--kind=core", "--service-repositories=x"],
        "run-source 'git' is not one of upload, vcs",
        {"toto.yml": "run-source: git\n"},
    ),
]


@pytest.mark.parametrize(("arguments", "message", "files"), BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    inline_cli: CliRunner,
    tmp_path: Path,
    arguments: Sequence[str],
    message: str | None,
    files: dict[str, str],
) -> None:
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    before = snapshot(tmp_path)
    result = inline_cli("render-workflow", *arguments)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    if message is not None:
        assert result.stderr == f"error: {message}\n"
    assert "Traceback" not in result.stderr
    assert snapshot(tmp_path) == before


def _link(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


@pytest.mark.parametrize(
    ("link", "extra", "shown"),
    [
        (MICROSERVICE, ["--check"], f"{MICROSERVICE.as_posix()} is a symbolic link"),
        (MICROSERVICE, [], f"{MICROSERVICE.as_posix()} is a symbolic link"),
        (Path(".github/workflows"), ["--check"], ".github/workflows is a symbolic link"),
        (Path(".github"), [], ".github is a symbolic link"),
        (Path("toto.yml"), [], "toto.yml is a symbolic link"),
    ],
)
def test_a_symbolic_link_is_refused_and_its_target_never_shown(
    inline_cli: CliRunner, tmp_path: Path, link: Path, extra: list[str], shown: str
) -> None:
    """A workflow, its folders or toto.yml linked to a file elsewhere (here one with a secret):
    one line, exit 2, nothing of the linked file printed, nothing written through the link."""
    repository, elsewhere = _repository(tmp_path, "repo"), _repository(tmp_path, "elsewhere")
    secret = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG"
    (elsewhere / "credentials").write_text(f"{secret}\n", encoding="utf-8")
    (elsewhere / "workflows").mkdir()
    (elsewhere / "workflows" / MICROSERVICE.name).write_text(f"{secret}\n", encoding="utf-8")
    target = {
        MICROSERVICE: elsewhere / "credentials",
        Path(".github/workflows"): elsewhere / "workflows",
        Path(".github"): elsewhere,
        Path("toto.yml"): elsewhere / "credentials",
    }[link]
    _link(repository / link, target)
    before = snapshot(tmp_path)
    result = inline_cli("render-workflow", *microservice_named("toto-ms-x"), *extra, cwd=repository)
    assert (result.exit_code, result.stdout) == (2, "")
    kind = "file" if link in {MICROSERVICE, Path("toto.yml")} else "directory"
    assert result.stderr == (
        f"error: {shown}, which render-workflow does not follow: commit the {kind} itself\n"
    )
    assert snapshot(tmp_path) == before


def test_a_folder_named_toto_yml_is_refused(inline_cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "toto.yml").mkdir()
    result = inline_cli("render-workflow", *microservice_named("toto-ms-x"))
    assert (result.exit_code, result.stderr) == (2, "error: toto.yml is not a file\n")
    assert not (tmp_path / ".github").exists()


def test_quoted_yaml_words_are_environment_names(inline_cli: CliRunner, tmp_path: Path) -> None:
    write_toto_yml(
        tmp_path,
        "kind: microservice\nservice: toto-ms-x\nenvironments:\n  'on': main\n  \"off\": [x]\n",
    )
    result = inline_cli("render-workflow")
    assert result.exit_code == 0, result.stderr
    jobs = list(load(tmp_path / MICROSERVICE)["jobs"])
    assert jobs[:6] == [
        "deploy-on",
        "deploy-off",
        "redeploy-dispatch",
        "redeploy-on",
        "redeploy-off",
        "plan-on",
    ]


def test_bad_input_under_actions_is_one_error_annotation(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    result = inline_cli(
        "render-workflow", *microservice_named("Toto MS"), env={"GITHUB_ACTIONS": "true"}
    )
    assert result.exit_code == 2
    assert result.stdout == (
        "::error title=Bad usage or configuration::service name 'Toto MS' (from --service) is "
        "not a valid repository name; pass --service NAME\n"
    )
    assert result.stderr == ""


@pytest.mark.parametrize(("arguments", "env"), [(["--debug"], {}), ([], {"RUNNER_DEBUG": "1"})])
def test_debug_shows_the_traceback(
    inline_cli: CliRunner, arguments: list[str], env: dict[str, str]
) -> None:
    result = inline_cli("render-workflow", *arguments, *microservice_named("Bad!"), env=env)
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.endswith(
        "error: service name 'Bad!' (from --service) is not a valid "
        "repository name; pass --service NAME\n"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("toto.yml", "error: toto.yml: not valid YAML"),
        ("pyproject.toml", "error: pyproject.toml: cannot read its name"),
    ],
)
def test_undecodable_settings_files_are_usage_errors(
    inline_cli: CliRunner, tmp_path: Path, name: str, message: str
) -> None:
    (tmp_path / name).write_bytes(b"kind = \xff\xfe\n")
    result = inline_cli("render-workflow", "--kind", "microservice")
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr


def test_an_npm_scope_is_no_part_of_the_service_name(inline_cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "@acme/toto-ms-x"}', encoding="utf-8")
    assert inline_cli("render-workflow", "--kind", "microservice").exit_code == 0
    assert "group: toto-ms-x-dev" in (tmp_path / MICROSERVICE).read_text(encoding="utf-8")


def test_a_failed_write_leaves_no_temporary_file(inline_cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / MICROSERVICE).mkdir(parents=True)
    result = inline_cli("render-workflow", *microservice_named("ms"))
    assert result.exit_code == 1
    assert sorted(p.name for p in (tmp_path / MICROSERVICE).parent.iterdir()) == [MICROSERVICE.name]


def test_a_write_that_fails_is_exit_1(inline_cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / ".github").write_text("not a folder", encoding="utf-8")
    result = inline_cli("render-workflow", *microservice_named("ms"))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot write {MICROSERVICE}: ")
    assert "Traceback" not in result.stderr


def test_outputs_name_the_written_file(inline_cli: CliRunner, tmp_path: Path) -> None:
    output_file, summary_file = tmp_path / "github_output", tmp_path / "step_summary"
    output_file.touch()
    summary_file.touch()
    result = inline_cli(
        "render-workflow",
        *microservice_named("ms"),
        env={
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary_file),
        },
    )
    assert result.exit_code == 0
    assert summary_file.read_text(encoding="utf-8") == (
        f"Rendered `{MICROSERVICE}` (microservice, inline, environments dev, prod).\n\n"
    )
    assert "workflow-file<<ghadelimiter_" in output_file.read_text(encoding="utf-8")
    assert f"\n{MICROSERVICE}\n" in output_file.read_text(encoding="utf-8")


class TestCheck:
    ARGUMENTS = ("render-workflow", *microservice_named("toto-ms-x"))

    def test_a_current_workflow_passes(self, inline_cli: CliRunner, tmp_path: Path) -> None:
        assert inline_cli(*self.ARGUMENTS).exit_code == 0
        before = snapshot(tmp_path)
        result = inline_cli(*self.ARGUMENTS, "--check")
        assert (result.exit_code, result.stderr) == (0, "")
        assert result.stdout == f"{MICROSERVICE.as_posix()} is up to date\n"
        assert snapshot(tmp_path) == before

    def test_a_drifted_workflow_fails_naming_the_file_and_showing_the_difference(
        self, inline_cli: CliRunner, tmp_path: Path
    ) -> None:
        assert inline_cli(*self.ARGUMENTS).exit_code == 0
        workflow = tmp_path / MICROSERVICE
        workflow.write_text(
            workflow.read_text(encoding="utf-8").replace(
                "timeout-minutes: 150", "timeout-minutes: 5", 1
            ),
            encoding="utf-8",
        )
        before = snapshot(tmp_path)
        result = inline_cli(*self.ARGUMENTS, env={"INPUT_CHECK": "true"})
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: {MICROSERVICE.as_posix()} differs from what "
            "render-workflow writes: run toto-actions render-workflow to "
            "update it\n"
        )
        assert "-    timeout-minutes: 5\n+    timeout-minutes: 150" in result.stdout
        assert snapshot(tmp_path) == before

    def test_a_missing_workflow_fails(self, inline_cli: CliRunner, tmp_path: Path) -> None:
        result = inline_cli(*self.ARGUMENTS, "--check")
        assert result.exit_code == 1
        assert result.stderr == (
            f"error: {MICROSERVICE.as_posix()} is missing: run "
            "toto-actions render-workflow to write it\n"
        )
        assert snapshot(tmp_path) == {}

    def test_a_new_setting_is_drift(self, inline_cli: CliRunner) -> None:
        assert inline_cli(*self.ARGUMENTS).exit_code == 0
        assert inline_cli(*self.ARGUMENTS, "--aws-region", "eu-west-3", "--check").exit_code == 1


def test_rendering_again_leaves_a_current_file_alone(inline_cli: CliRunner, tmp_path: Path) -> None:
    arguments = ("render-workflow", *microservice_named("toto-ms-x"))
    assert inline_cli(*arguments).exit_code == 0
    workflow = tmp_path / MICROSERVICE
    first_write = workflow.stat().st_mtime_ns
    result = inline_cli(*arguments)
    assert result.exit_code == 0
    assert f"{MICROSERVICE} is up to date" in result.stdout
    assert workflow.stat().st_mtime_ns == first_write
    assert json.dumps(sorted(p.name for p in workflow.parent.iterdir())) == (
        '["toto-microservice.yml"]'
    )


def test_platforms_set_up_qemu_and_buildx_before_the_build(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    write_toto_yml(
        tmp_path,
        "kind: microservice\nservice: toto-ms-x\nplatforms: [linux/amd64, linux/arm64]\n",
    )
    assert inline_cli("render-workflow").exit_code == 0
    steps = steps_by_uses(load(tmp_path / MICROSERVICE)["jobs"]["deploy-dev"])
    uses = list(steps)
    assert uses.index("docker/setup-qemu-action") < uses.index("toto/actions/actions/build-push")
    assert uses.index("docker/setup-buildx-action") < uses.index("toto/actions/actions/build-push")
    assert steps["docker/setup-qemu-action"]["with"] == {"platforms": "linux/amd64,linux/arm64"}
    build = steps["toto/actions/actions/build-push"]["with"]
    assert build["platforms"] == "linux/amd64,linux/arm64"


def test_without_platforms_neither_qemu_nor_buildx(inline_cli: CliRunner, tmp_path: Path) -> None:
    assert (
        inline_cli("render-workflow", "--kind=microservice", "--service=toto-ms-x").exit_code == 0
    )
    steps = steps_by_uses(load(tmp_path / MICROSERVICE)["jobs"]["deploy-dev"])
    assert "docker/setup-qemu-action" not in steps and "docker/setup-buildx-action" not in steps
    assert "platforms" not in steps["toto/actions/actions/build-push"]["with"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--kind=microservice", "--service=ms", "--platforms=linux/amd64,linux/sparc"],
            "platforms: 'linux/sparc' is not a platform: OS/ARCH[/VARIANT], e.g. linux/amd64, "
            "linux/arm64, linux/arm/v7",
        ),
        (
            ["--kind=core", "--service-repositories=x", "--platforms=linux/arm64"],
            "--platforms is a setting of the microservice workflow: leave it out of a core render",
        ),
    ],
)
def test_bad_platforms_are_refused(
    inline_cli: CliRunner, tmp_path: Path, arguments: list[str], message: str
) -> None:
    result = inline_cli("render-workflow", *arguments)
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")
    assert not (tmp_path / ".github").exists()


USES_LINE = re.compile(r"^ +uses: (?P<action>[\w./-]+)@(?P<ref>\S+)(?P<comment> #.*)?$", re.M)


def uses_lines(workflow: Path) -> list[tuple[str, str, str]]:
    """(action, ref, comment) of every `uses:` line of a rendered workflow, as written."""
    text = workflow.read_text(encoding="utf-8")
    return [(m["action"], m["ref"], m["comment"] or "") for m in USES_LINE.finditer(text)]


@pytest.mark.parametrize(
    ("arguments", "toto_yml", "workflow"),
    [
        (["--kind=microservice", "--pin-actions", "--platforms=linux/arm64"], "", MICROSERVICE),
        (["--terraform-engine=cli"], "kind: core\nsync-auth: token\npin-actions: true\n", CORE),
        (["--kind=core", "--pin-actions=true", "--service-repositories=a"], "", CORE),
    ],
)
def test_pin_actions_names_each_third_party_action_by_its_commit_with_its_release(
    inline_cli: CliRunner, tmp_path: Path, arguments: list[str], toto_yml: str, workflow: Path
) -> None:
    """`uses: actions/checkout@<sha> # v4.x.y`, from the vendored table; the toto actions keep
    --actions-ref."""
    write_toto_yml(tmp_path, toto_yml)
    result = inline_cli("render-workflow", "--service=toto-x", *arguments)
    assert result.exit_code == 0, result.stderr
    table = pin_table().pins
    third_party = []
    for action, ref, comment in uses_lines(tmp_path / workflow):
        if action.startswith("toto/actions/"):
            assert (ref, comment) == ("v1", "")
            continue
        (pin,) = [pin for pin in table.values() if pin.action == action]
        assert (ref, comment) == (pin.sha, f" # {pin.version}")
        third_party.append(action)
    assert "actions/checkout" in third_party and len(third_party) >= 3, third_party


def test_without_pin_actions_third_party_actions_are_named_by_their_major_tag(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    arguments = ("--kind=microservice", "--service=toto-x", "--platforms=linux/arm64")
    assert inline_cli("render-workflow", *arguments, "--pin-actions=false").exit_code == 0
    refs = {action: ref for action, ref, _ in uses_lines(tmp_path / MICROSERVICE)}
    assert refs["actions/checkout"] == "v4"
    assert refs["docker/setup-buildx-action"] == "v3"
    assert all(re.fullmatch(r"v\d+", ref) for ref in refs.values()), refs
