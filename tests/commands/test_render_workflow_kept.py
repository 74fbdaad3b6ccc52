"""render-workflow as a new user meets it: the options a render was given are kept in toto.yml,
the core's repositories come from toto-secrets.yml (or a starting one is printed), an option of
the other kind of workflow is refused, and environments may be given one at a time."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.commands.test_render_workflow import CORE, MICROSERVICE, NO_SYNC_CONFIG, load
from tests.conftest import CliRunner, snapshot, write_toto_yml
from toto_actions.commands.render_workflow import SETTING_OPTIONS
from toto_actions.github.sync_config import load_config, schema_problems
from toto_actions.options import CHOICE, SWITCH
from toto_actions.workflows.kind_settings import CORE_ONLY, MICROSERVICE_ONLY
from toto_actions.workflows.settings_file import settings_text

SHA = "0123456789abcdef0123456789abcdef01234567"
# A value other than the default for each text option (a choice takes its last, a switch true).
SAMPLES = {
    "service": "toto-ms-other",
    "environments": "dev=develop;prod=release/**",
    "environment": "dev=develop",
    "aws-region": "eu-west-3",
    "aws-role-arn": "arn:aws:iam::123456789012:role/deploy",
    "aws-plan-role-arn": "arn:aws:iam::123456789012:role/plan",
    "tfc-organization": "acme",
    "terraform-dir": "infra",
    "core-secrets": "ECS_SUBNET_1,DB_HOST",
    "platforms": "linux/amd64,linux/arm64",
    "service-repositories": "acme/toto-ms-b",
    "style": "reusable",  # the renders here are inline (INPUT_STYLE), to show every setting
    "sync-dispatch": "core-changed",
    "drift-schedule": "5 4 * * 1",
    "require-reviewed-plan": "prod",
    "runs-on": "self-hosted",
    "terraform-version": "1.9.8",
    "test-command": "npm test",
    "context": "app",
    "dockerfile": "app/Dockerfile",
    "build-args": "A=1\nB=2",
    "target": "runtime",
    "actions-repo": "acme/toto-actions",
    "actions-ref": SHA,
}
BASE = {
    "microservice": ["--service", "toto-ms-x"],
    "core": ["--service", "core", "--sync-auth=app"],
}


def kind_for(key: str) -> str:
    return "core" if key in CORE_ONLY else "microservice"


def sample(key: str) -> str:
    option = next(option for option in SETTING_OPTIONS if option.key == key)
    if key in SAMPLES:
        return SAMPLES[key]
    return "true" if option.kind == SWITCH else option.choices[-1]


def base_arguments(kind: str, key: str) -> list[str]:
    arguments = ["--kind", kind, *BASE[kind]]
    if kind == "core" and key != "service-repositories":
        arguments += ["--service-repositories", "acme/toto-ms-a"]
    if key == "terraform-version":  # what the cli engine installs
        arguments.append("--terraform-engine=cli")
    return arguments


SETTING_KEYS = [option.key for option in SETTING_OPTIONS if option.key != "kind"]


@pytest.fixture(scope="module")
def defaults(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Each kind's workflow rendered with the base arguments only."""
    from testing.cli import make_cli_runner

    rendered = {}
    for kind, path in (("microservice", MICROSERVICE), ("core", CORE)):
        directory = tmp_path_factory.mktemp(kind)
        cli = make_cli_runner(directory, {"INPUT_STYLE": "inline"})
        assert cli("render-workflow", *base_arguments(kind, "")).exit_code == 0
        rendered[kind] = (directory / path).read_bytes()
    return rendered


def test_every_setting_has_a_sample() -> None:
    texts = {o.key for o in SETTING_OPTIONS if o.kind not in (SWITCH, CHOICE)} - {"kind"}
    assert texts | {"style"} == set(SAMPLES)


@pytest.mark.parametrize("key", SETTING_KEYS)
def test_a_check_without_options_reproduces_a_render_given_any_setting(
    inline_cli: CliRunner, tmp_path: Path, key: str, defaults: dict[str, bytes]
) -> None:
    cli = inline_cli
    kind = kind_for(key)
    value = sample(key)
    arguments = [*base_arguments(kind, key), f"--{key}", value]
    rendered = cli("render-workflow", *arguments)
    assert rendered.exit_code == 0, rendered.stderr
    path = tmp_path / (CORE if kind == "core" else MICROSERVICE)
    assert path.read_bytes() != defaults[kind], f"--{key} {value} changed nothing"
    kept = yaml.safe_load((tmp_path / "toto.yml").read_text(encoding="utf-8"))
    expected = {"true": True}.get(value, value)
    assert kept[key] == ([expected] if key == "environment" else expected)
    before = snapshot(tmp_path)
    checked = cli("render-workflow", "--check", env={"INPUT_STYLE": ""})  # no option at all
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    assert snapshot(tmp_path) == before


def test_an_option_changes_only_its_own_line_of_toto_yml(cli: CliRunner, tmp_path: Path) -> None:
    owned = "# our settings\nkind: microservice  # a service\nservice: toto-ms-x\n\n# the end\n"
    write_toto_yml(tmp_path, owned)
    assert cli("render-workflow", "--aws-region", "eu-west-1").exit_code == 0
    assert (tmp_path / "toto.yml").read_text(encoding="utf-8") == (
        f"{owned}aws-region: eu-west-1\n"
    )
    assert (
        cli("render-workflow", "--service", "toto-ms-y", "--environment", "dev=main").exit_code == 0
    )
    assert (tmp_path / "toto.yml").read_text(encoding="utf-8") == (
        "# our settings\nkind: microservice  # a service\nservice: toto-ms-y\n\n# the end\n"
        "aws-region: eu-west-1\nenvironment:\n- dev=main\n"
    )
    # The other spelling replaces it: toto.yml never holds both.
    assert cli("render-workflow", "--environments", "dev=main;prod=prod").exit_code == 0
    kept = yaml.safe_load((tmp_path / "toto.yml").read_text(encoding="utf-8"))
    assert (kept["environments"], "environment" in kept) == ("dev=main;prod=prod", False)


@pytest.mark.parametrize(
    ("text", "changes", "expected"),
    [
        ("a: 1\nb:\n  - x\n\n# c\nd: 2\n", {"b": "y"}, "a: 1\nb: y\n\n# c\nd: 2\n"),
        ("a: 1\nb: 2", {"a": None}, "b: 2"),
        ("{a: 1}", {"b": "on"}, "a: 1\nb: 'on'\n"),
        ("", {"build-args": "A=1\nB=2\n"}, "build-args: |\n  A=1\n  B=2\n"),
    ],
)
def test_settings_text(text: str, changes: dict[str, object], expected: str) -> None:
    assert settings_text(text, changes) == expected


def test_environments_one_at_a_time(cli: CliRunner, tmp_path: Path) -> None:
    each = ["dev=develop,feature/**", "qa=main", "prod=release/**"]
    flags = [f"--environment={environment}" for environment in each]
    result = cli("render-workflow", "--kind=microservice", "--service=toto-ms-x", *flags)
    assert result.exit_code == 0, result.stderr
    workflow = load(tmp_path / MICROSERVICE)
    assert workflow[True]["push"]["branches"] == ["develop", "feature/**", "main", "release/**"]
    assert cli("render-workflow", "--check").exit_code == 0


def test_toto_yml_takes_environment_too(inline_cli: CliRunner, tmp_path: Path) -> None:
    write_toto_yml(
        tmp_path, "kind: core\nservice: core\nservice-repositories: a\nenvironment: [dev=main]\n"
    )
    assert inline_cli("render-workflow").exit_code == 0
    assert list(load(tmp_path / CORE)["jobs"])[:1] == ["apply-dev"]
    assert "apply-prod" not in load(tmp_path / CORE)["jobs"]


SECRETS_CONFIG = "version: 1\nowner: acme\nrepositories: [toto-ms-a, {name: toto-ms-b}]\n"


def test_the_core_takes_the_repositories_toto_secrets_yml_lists(
    inline_cli: CliRunner, tmp_path: Path
) -> None:
    cli = inline_cli
    write_toto_yml(tmp_path, SECRETS_CONFIG, "toto-secrets.yml")
    result = cli("render-workflow", "--kind=core", "--service=core")
    assert (result.exit_code, result.stderr) == (0, "")
    token = next(
        step["with"]
        for step in load(tmp_path / CORE)["jobs"]["apply-dev"]["steps"]
        if step.get("uses", "").startswith("actions/create-github-app-token")
    )
    assert (token["owner"], token["repositories"]) == ("acme", "toto-ms-a\ntoto-ms-b\n")
    same = cli("render-workflow", "--service-repositories=TOTO-MS-B,acme/toto-ms-a")
    assert same.exit_code == 0, same.stderr


def test_a_core_without_toto_secrets_yml_is_warned_and_given_a_valid_one(
    cli: CliRunner, tmp_path: Path
) -> None:
    arguments = ["--kind=core", "--service=core", "--service-repositories=acme/toto-ms-a,toto-ms-b"]
    result = cli("render-workflow", *arguments)
    assert (result.exit_code, result.stderr) == (0, NO_SYNC_CONFIG)
    printed = result.stdout.split("wrote toto.yml\n", 1)[1].split("workflow-file=")[0]
    document = yaml.safe_load(printed)
    assert schema_problems(document) == []
    assert document["repositories"] == ["toto-ms-a", "toto-ms-b"]
    assert document["secrets"]["ECS_SUBNET_1"] == "ecs_subnet_1"
    write_toto_yml(tmp_path, printed, "toto-secrets.yml")
    config = load_config(tmp_path / "toto-secrets.yml", None)
    assert [r.full_name for r in config.repositories] == ["acme/toto-ms-a", "acme/toto-ms-b"]
    again = cli("render-workflow")
    assert (again.exit_code, again.stderr) == (0, "")


def test_a_starting_one_for_a_token_sync_names_a_placeholder(
    cli: CliRunner, tmp_path: Path
) -> None:
    result = cli(
        "render-workflow", "--kind=core", "--service=core", "--sync-auth=token", "--core-secrets=A"
    )
    assert result.exit_code == 0
    document = yaml.safe_load(result.stdout.split("wrote toto.yml\n", 1)[1].split("workflow-")[0])
    assert schema_problems(document) == []
    assert document["secrets"] == {"A": "a"}


def test_a_first_core_render_without_repositories_is_refused_with_a_file_to_start_from(
    cli: CliRunner, tmp_path: Path
) -> None:
    result = cli("render-workflow", "--kind=core", "--service=core")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: the core workflow needs the service repositories its GitHub App token is scoped "
        "to: list them in toto-secrets.yml (or --service-repositories a,b,c); the one above is "
        "one to start from\n"
    )
    document = yaml.safe_load(result.stdout)
    assert schema_problems(document) == []
    assert document["repositories"] == ["toto-ms-example"]
    assert sorted(tmp_path.iterdir()) == []  # nothing written
    # (The row of the bad-input table: with the file, its own problem is the one line.)
    (tmp_path / "toto-secrets.yml").write_text("version: 1\nsecrets: {}\n", encoding="utf-8")
    listed_none = cli("render-workflow", "--kind=core", "--service=core")
    assert (listed_none.exit_code, listed_none.stdout, listed_none.stderr) == (
        2,
        "",
        "error: toto-secrets.yml: (top level): 'repositories' is a required property\n",
    )


OTHER_KIND = [(key, "microservice") for key in CORE_ONLY] + [
    (key, "core") for key in MICROSERVICE_ONLY
]


@pytest.mark.parametrize(
    ("key", "kind", "where"),
    [(key, kind, "option") for key, kind in OTHER_KIND]
    + [(key, kind, "toto.yml") for key, kind in (OTHER_KIND[0], OTHER_KIND[-1])],
)
def test_a_setting_of_the_other_kind_is_one_line_exit_2_and_writes_nothing(
    cli: CliRunner, tmp_path: Path, key: str, kind: str, where: str
) -> None:
    arguments = ["--kind", kind, *BASE[kind]]
    if kind == "core":
        arguments.append("--service-repositories=a")
    value = sample(key)
    if where == "option":
        arguments += [f"--{key}", value]
    else:
        write_toto_yml(tmp_path, yaml.safe_dump({key: {"true": True}.get(value, value)}))
    before = snapshot(tmp_path)
    result = cli("render-workflow", *arguments)
    shown = f"--{key}" if where == "option" else f"{key} (toto.yml)"
    other = "core" if kind == "microservice" else "microservice"
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        f"error: {shown} is a setting of the {other} workflow: leave it out of a {kind} render\n",
    )
    assert snapshot(tmp_path) == before


BAD_INPUTS = [
    (
        ["--kind=core", "--service=core", "--service-repositories=acme/toto-ms-c"],
        {"toto-secrets.yml": SECRETS_CONFIG},
        "service-repositories toto-ms-c differ from the repositories toto-secrets.yml lists "
        "(toto-ms-a, toto-ms-b): leave service-repositories out, toto-secrets.yml names them",
    ),
    (
        ["--kind=core", "--service=core", "--service-repositories=other/toto-ms-a,toto-ms-b"],
        {"toto-secrets.yml": SECRETS_CONFIG},
        "service-repositories toto-ms-a, toto-ms-b differ from the repositories toto-secrets.yml "
        "lists (toto-ms-a, toto-ms-b): leave service-repositories out, toto-secrets.yml names them",
    ),
    (
        ["--kind=core", "--service=core"],
        {"toto-secrets.yml": SECRETS_CONFIG, "toto.yml": "service-repositories: [toto-ms-a]\n"},
        "service-repositories toto-ms-a differ from the repositories toto-secrets.yml lists "
        "(toto-ms-a, toto-ms-b): leave service-repositories out, toto-secrets.yml names them",
    ),
    (
        ["--kind=microservice", "--environments=dev=main", "--environment=prod=release/**"],
        {},
        "--environments and --environment give the environments twice: keep one of them",
    ),
    (
        ["--kind=microservice"],
        {"toto.yml": "environments: {dev: main}\nenvironment: [prod=release/**]\n"},
        "environments and environment in toto.yml give the environments twice: keep one of them",
    ),
    (
        ["--kind=microservice", "--environment=dev=main", "--environment=dev=develop"],
        {},
        "environment 'dev' is given twice",
    ),
    (
        ["--kind=microservice"],
        {"toto.yml": "environment: [dev]\n"},
        "environment 'dev' is not ENV=BRANCH[,BRANCH...] (dev=main)",
    ),
    (
        ["--kind=microservice", "--environment=prod"],
        {},
        "--environment: line 1 is not NAME=VALUE",
    ),
    (
        ["--knd=microservice"],
        {},
        "toto-actions render-workflow: unrecognized arguments: --knd; did you mean --kind? "
        "(see --help)",
    ),
]


@pytest.mark.parametrize(("arguments", "files", "message"), BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    cli: CliRunner, tmp_path: Path, arguments: list[str], files: dict[str, str], message: str
) -> None:
    for name, content in files.items():
        write_toto_yml(tmp_path, content, name)
    before = snapshot(tmp_path)
    result = cli("render-workflow", "--service=toto-ms-x", *arguments)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"error: {message}\n")
    assert snapshot(tmp_path) == before
