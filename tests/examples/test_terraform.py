"""examples/core and examples/service honour the workflows' contract: the core outputs every
default core secret, the service declares exactly what the service workflow passes and outputs
the ECS service the deploy waits for; both are formatted and valid against the AWS provider.

The provider cannot be downloaded here, so nothing is applied: `terraform validate` checks every
resource's arguments against the schema of the provider in the machine's filesystem mirror
(testing/terraform_configurations.py), named as a development override so no init is needed."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from testing.terraform_configurations import AWS_PROVIDER_MIRROR
from tests.conftest import REPO_ROOT
from tests.examples.layout import (
    CORE,
    EXAMPLES,
    SERVICE,
    configuration,
    labelled,
    resources,
)
from toto_actions.workflows.settings import DEFAULT_CORE_SECRETS

TERRAFORM = "/usr/local/bin/terraform"
CORE_VARIABLES = {secret.lower() for secret in DEFAULT_CORE_SECRETS}
TF_APPLY = "toto/actions/actions/tf-apply"


def test_examples_are_formatted() -> None:
    result = subprocess.run(
        [TERRAFORM, "fmt", "-check", "-recursive", "-diff", str(EXAMPLES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "")


def test_core_outputs_are_the_core_secrets() -> None:
    outputs = labelled(configuration(CORE)["output"])
    assert set(outputs) == CORE_VARIABLES


def test_core_listener_is_https_with_a_certificate_else_http() -> None:
    listeners = {name: body for kind, name, body in resources(CORE) if kind == "aws_lb_listener"}
    assert {name: body["protocol"] for name, body in listeners.items()} == {
        "https": "HTTPS",
        "http": "HTTP",
    }
    assert listeners["https"]["count"] == "${local.https ? 1 : 0}"
    output = labelled(configuration(CORE)["output"])["alb_listener_arn"]["value"]
    assert output == "${local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http.arn}"


def test_service_declares_what_every_workflow_job_passes(
    inline_service_workflow: dict[str, Any],
) -> None:
    declared = set(labelled(configuration(SERVICE)["variable"]))
    assert declared >= {"image_tag", "image"} | CORE_VARIABLES
    published = yaml.safe_load(
        (REPO_ROOT / ".github/workflows/toto-microservice.yml").read_text(encoding="utf-8")
    )
    passed = [*_passed_variables(inline_service_workflow), *_passed_variables(published)]
    # deploy, redeploy, plan and drift, of each environment, in both workflows
    assert len(passed) >= 8
    assert all(names == declared for names in passed), passed


def test_service_outputs_its_ecs_service_with_a_circuit_breaker() -> None:
    outputs = labelled(configuration(SERVICE)["output"])
    assert outputs == {"ecs_service_arn": {"value": "${aws_ecs_service.service.id}"}}
    (service,) = [body for kind, _, body in resources(SERVICE) if kind == "aws_ecs_service"]
    assert service["launch_type"] == "FARGATE"
    assert service["deployment_circuit_breaker"] == [{"enable": True, "rollback": True}]
    (task,) = [body for kind, _, body in resources(SERVICE) if kind == "aws_ecs_task_definition"]
    # The container runs the image the workflow passes (by digest), nothing else.
    assert ", image = var.image, " in task["container_definitions"]
    assert task["requires_compatibilities"] == ["FARGATE"]


def _passed_variables(workflow: dict[str, Any]) -> list[set[str]]:
    """For each tf-apply step that plans or applies: the variables it gives terraform, its
    `var` lines and its TF_VAR_ environment."""
    passed = []
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            inputs = step.get("with", {})
            if not step.get("uses", "").startswith(TF_APPLY) or inputs.get("outputs-only"):
                continue
            lines = str(inputs.get("var", "")).splitlines()
            names = {line.partition("=")[0].strip() for line in lines if line.strip()}
            names |= {
                name.removeprefix("TF_VAR_")
                for name in step.get("env", {})
                if name.startswith("TF_VAR_")
            }
            passed.append(names)
    return passed


def _validate(directory: Path, cli_config: Path) -> dict[str, Any]:
    result = subprocess.run(
        [TERRAFORM, "validate", "-json", "-no-color"],
        cwd=directory,
        env={"TF_CLI_CONFIG_FILE": str(cli_config), "CHECKPOINT_DISABLE": "1", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_examples_are_valid_for_the_aws_provider(tmp_path: Path) -> None:
    (provider,) = Path(AWS_PROVIDER_MIRROR).glob("registry.terraform.io/hashicorp/aws/*/linux_*")
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text(
        "provider_installation {\n  dev_overrides {\n"
        f'    "hashicorp/aws" = "{provider}"\n  }}\n  direct {{}}\n}}\n',
        encoding="utf-8",
    )
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda d: _validate(d, cli_config), (CORE, SERVICE)))
    for answer in answers:
        problems = [
            d["summary"]
            for d in answer["diagnostics"]
            if d["summary"] != "Provider development overrides are in effect"
        ]
        assert (answer["valid"], problems) == (True, [])
