"""`build-args` and `labels` as docker/build-push-action takes them: one item a line, a comma kept
in the value (src/context.ts: `Util.getInputList('build-args', {ignoreComma: true})`, the same for
`labels`); `tags` and `platforms` stay comma-separated, the cache specs and secrets one a line.
The inputs come as the action passes them, in INPUT_* variables."""

from __future__ import annotations

import pytest

from testing.actions_metadata import metadata
from testing.local_stack import Registry
from tests.commands.build_push.conftest import Service, outputs_of, registry_labels, registry_tags
from tests.conftest import REPO_ROOT
from toto_actions.commands.build_push import OPTIONS

DOCKERFILE = (
    "FROM scratch\nARG GREETING\nARG HOSTS\nLABEL greeting=$GREETING hosts=$HOSTS\n"
    "COPY app.txt /app.txt\n"
)


def test_each_line_is_one_build_arg_and_one_label_commas_kept(
    service: Service, registry: Registry
) -> None:
    (service.root / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    result = service(
        "--repository",
        "toto/list-inputs",
        "--registry",
        registry.host,
        env={
            "INPUT_BUILD-ARGS": "GREETING=hello\nHOSTS=a.test,b.test\n",
            "INPUT_LABELS": "team=games\nowners=ana,bo",
        },
    )
    assert result.exit_code == 0, result.stderr
    labels = registry_labels(registry, "toto/list-inputs", outputs_of(result)["tag"])
    assert {key: labels[key] for key in ("greeting", "hosts", "team", "owners")} == {
        "greeting": "hello",
        "hosts": "a.test,b.test",
        "team": "games",
        "owners": "ana,bo",
    }


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "INPUT_BUILD-ARGS",
            "GREETING=hello,HOSTS=a.test",
            '--build-args: the value of GREETING holds ",HOSTS=" (an ARG of the Dockerfile): '
            "give one NAME=VALUE a line; a comma stays inside a value",
        ),
        (
            "INPUT_LABELS",
            "team=games,owner=ana",
            '--labels: the value of team holds ",owner=": give one NAME=VALUE a line; a comma '
            "stays inside a value",
        ),
    ],
)
def test_a_comma_separated_list_of_the_old_form_is_refused_before_anything_is_written(
    service: Service, registry: Registry, variable: str, value: str, message: str
) -> None:
    """Today's comma users are told, not given one argument holding the rest of the list."""
    (service.root / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    result = service(
        "--repository", "toto/list-refused", "--registry", registry.host, env={variable: value}
    )
    assert (result.exit_code, result.stderr) == (2, f"error: {message}\n")
    assert registry_tags(registry, "toto/list-refused") == []


def readme_meanings(name: str) -> dict[str, str]:
    """input -> the meaning cell of the input table of the action's README."""
    readme = (REPO_ROOT / "actions" / name / "README.md").read_text(encoding="utf-8")
    table = readme.split("| input | type | default | meaning |", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip().strip("|").split(" | ") for line in table.splitlines()]
    return {row[0].strip().strip("`"): row[-1].strip() for row in rows if row[0].startswith(" `")}


# How each list input of build-push is split, as build-push-action splits it (src/context.ts);
# tags and platforms keep their commas (getInputList without ignoreComma).
ONE_A_LINE = ("build-args", "labels", "secrets", "secret-files", "ssh", "cache-from", "cache-to")
COMMA_SEPARATED = ("tags", "platforms")


@pytest.mark.parametrize("key", [*ONE_A_LINE, *COMMA_SEPARATED])
def test_the_option_the_action_and_the_readme_say_how_the_list_is_split(key: str) -> None:
    (option,) = [option for option in OPTIONS if option.key == key]
    texts = {
        "option": option.help,
        "action.yml": " ".join(metadata("build-push")["inputs"][key]["description"].split()),
        "README": readme_meanings("build-push")[key],
    }
    words = "a line" if key in ONE_A_LINE else "comma-separated"
    assert {where: words in text.lower() for where, text in texts.items()} == dict.fromkeys(
        texts, True
    )
    if key in ONE_A_LINE:
        assert {where: "comma-separated" in text for where, text in texts.items()} == dict.fromkeys(
            texts, False
        )
