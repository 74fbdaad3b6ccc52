"""`toto-actions tf-apply --wait-for-services` as the tests run it: the step on a configuration
that outputs an ECS service's ARN (the cli engine, local state), the services it waits for made
on moto through boto3, and the `services` output it reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from testing.cli import CliRunner
from testing.ecs import TARGET_PREFIX, EcsStandIn
from testing.local_stack import MotoServer
from testing.terraform_configurations import ECS_SERVICE_CONFIG
from testing.tf_apply_step import TfApplyStep

CLUSTER = "toto-dev"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}

# ECS_SERVICE_CONFIG and the cluster output beside the ARN that an old-format service ARN
# (arn:aws:ecs:REGION:ACCOUNT:service/NAME) needs.
ECS_SERVICE_AND_CLUSTER_CONFIG = (
    ECS_SERVICE_CONFIG
    + """
variable "cluster" {
  type = string
}

output "ecs_cluster" {
  value = var.cluster
}
"""
)


def seed_moto_service(
    moto: MotoServer,
    name: str,
    desired: int,
    controller: str = "ECS",
    short_arn: bool = False,
    *,
    images: tuple[str, ...] = (),
    cluster: str = CLUSTER,
) -> str:
    """A Fargate service on moto, with its VPC, subnet, security group, cluster and task
    definition, all made through boto3; its ARN. controller: its deploymentController type;
    short_arn: made with the account setting serviceLongArnFormat disabled (the old format);
    images: its containers' images, the first essential (default: one image of the name)."""
    ec2, ecs = moto.boto3_client("ec2"), moto.boto3_client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"{name}-sg", Description="x", VpcId=vpc)
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family=name,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": f"c{number}", "image": image, "essential": number == 0}
            for number, image in enumerate(images or (f"repo/{name}:abc1234",))
        ],
    )
    if short_arn:
        ecs.put_account_setting(name="serviceLongArnFormat", value="disabled")
    try:
        service = ecs.create_service(
            cluster=cluster,
            serviceName=name,
            taskDefinition=name,
            desiredCount=desired,
            launchType="FARGATE",
            deploymentController={"type": controller},
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group["GroupId"]]}
            },
        )
    finally:
        if short_arn:
            ecs.put_account_setting(name="serviceLongArnFormat", value="enabled")
    arn: str = service["service"]["serviceArn"]
    return arn


class Deploy(TfApplyStep):
    """The cli engine on ECS_SERVICE_CONFIG (local state), boto3 pointed at env's endpoint."""

    def __init__(self, root: Path, cli: CliRunner, env: dict[str, str]) -> None:
        (root / "main.tf").write_text(ECS_SERVICE_CONFIG, encoding="utf-8")
        (root / "terraformrc").write_text("", encoding="utf-8")
        self.summary = root.parent / "summary.md"
        self.summary.touch()
        env = {
            **CREDENTIALS,
            **env,
            "TF_CLI_CONFIG_FILE": str(root / "terraformrc"),
            "CHECKPOINT_DISABLE": "1",
            "GITHUB_STEP_SUMMARY": str(self.summary),
        }
        super().__init__(cli, root, "cli", env)


def services_output(stdout: str) -> list[dict[str, Any]]:
    """The step's `services` output, from the lines `name=value` it printed."""
    pairs = (line.partition("=") for line in stdout.splitlines())
    [value] = [value for name, _, value in pairs if name == "services"]
    document: list[dict[str, Any]] = json.loads(value)
    return document


def assert_stopped_tasks_listed_once(ecs: EcsStandIn, service: str) -> None:
    """The step asked the stand-in ECS once for service's stopped tasks in CLUSTER: the latest
    five (whose reasons it reports)."""
    [listed] = ecs.requests_to(TARGET_PREFIX + "ListTasks")
    assert listed.body == {
        "cluster": CLUSTER,
        "serviceName": service,
        "desiredStatus": "STOPPED",
        "maxResults": 5,
    }
