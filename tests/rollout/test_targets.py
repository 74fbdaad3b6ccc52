"""Which services the wait asks about, and how often (plain logic)."""

from __future__ import annotations

from typing import Any

import pytest

from toto_actions.rollout.targets import (
    NOTHING,
    ServiceRef,
    WaitRequest,
    batches,
    from_outputs,
    parse_request,
    poll_delays,
)

ARN = "arn:aws:ecs:eu-west-3:123456789012:service/toto-dev/api"


@pytest.mark.parametrize(
    ("raw", "request_"),
    [
        (None, NOTHING),
        ("none", NOTHING),
        ("auto", WaitRequest(True, ())),
        (
            f"{ARN}\n\n  toto-dev/web  \n{ARN}",
            WaitRequest(
                False,
                (
                    ServiceRef("toto-dev", "api", "eu-west-3", ARN),
                    ServiceRef("toto-dev", "web"),
                ),
            ),
        ),
        (
            "arn:aws-cn:ecs:cn-north-1:123456789012:service/c/s",
            WaitRequest(
                False,
                (
                    ServiceRef(
                        "c", "s", "cn-north-1", "arn:aws-cn:ecs:cn-north-1:123456789012:service/c/s"
                    ),
                ),
            ),
        ),
    ],
)
def test_a_request_is_read_into_services(raw: str | None, request_: WaitRequest) -> None:
    assert parse_request(raw) == (request_, [])


@pytest.mark.parametrize(
    "line",
    [
        "api",
        "a/b/c",
        "arn:aws:ecs:us-east-1:123456789012:task/toto-dev/abc",
        "arn:aws:ecs:us-east-1:1234:service/toto-dev/api",
    ],
)
def test_a_line_neither_an_arn_nor_cluster_service_is_a_problem(line: str) -> None:
    _, problems = parse_request(f"toto-dev/ok\n{line}")
    assert problems == [
        f"--wait-for-services line 2 {line!r}: expected an ECS service ARN "
        "(arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME) or CLUSTER/SERVICE"
    ]


def test_an_old_format_arn_line_is_told_to_name_its_cluster() -> None:
    short = "arn:aws:ecs:us-east-1:123456789012:service/api"
    assert parse_request(f"toto-dev/ok\n{short}") == (
        WaitRequest(False, (ServiceRef("toto-dev", "ok"),)),
        [
            f"--wait-for-services line 2 {short!r}: an old-format service ARN, without its "
            "cluster: write CLUSTER/api (in the runner's region), or use auto with the output "
            "ecs_cluster"
        ],
    )


SHORT = "arn:aws:ecs:eu-west-3:123456789012:service/api"
CLUSTER_ARN = "arn:aws:ecs:eu-west-3:123456789012:cluster/toto-dev"
NO_CLUSTER = (
    "output ecs_service_arn: an old-format service ARN, without its cluster: add the output "
    "ecs_cluster (the cluster's name or ARN)"
)


@pytest.mark.parametrize(
    ("outputs", "services", "problems"),
    [
        ({}, [], []),
        (
            {"ecs_service_arn": {"value": ARN}},
            [ServiceRef("toto-dev", "api", "eu-west-3", ARN)],
            [],
        ),
        (
            {"ecs_service_arn": {"value": ARN}, "ecs_service_arns": {"value": [ARN, 3]}},
            [ServiceRef("toto-dev", "api", "eu-west-3", ARN)],
            [
                "output ecs_service_arns item 2: not an ECS service ARN "
                "(arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME)"
            ],
        ),
        (
            {"ecs_service_arns": {"value": ARN}},
            [],
            ["output ecs_service_arns: not a list of ECS service ARNs"],
        ),
        # The old ARN format (arn:aws:ecs:REGION:ACCOUNT:service/NAME, the ECS developer guide's
        # "Amazon Resource Names (ARNs) and IDs"): its cluster is the output ecs_cluster.
        *(
            (
                {"ecs_service_arn": {"value": SHORT}, "ecs_cluster": {"value": cluster}},
                [ServiceRef("toto-dev", "api", "eu-west-3", SHORT)],
                [],
            )
            for cluster in ("toto-dev", CLUSTER_ARN)
        ),
        ({"ecs_service_arn": {"value": SHORT}}, [], [NO_CLUSTER]),
        (
            {"ecs_service_arn": {"value": SHORT}, "ecs_cluster": {"value": ["toto-dev"]}},
            [],
            ["output ecs_cluster: not an ECS cluster name or ARN"],
        ),
        # Needed only by an old-format ARN: any other value beside a long ARN is not read.
        (
            {"ecs_service_arn": {"value": ARN}, "ecs_cluster": {"value": {"id": 1}}},
            [ServiceRef("toto-dev", "api", "eu-west-3", ARN)],
            [],
        ),
    ],
)
def test_auto_reads_the_outputs_convention(
    outputs: dict[str, Any], services: list[ServiceRef], problems: list[str]
) -> None:
    assert from_outputs(outputs) == (services, problems)


def test_services_are_asked_for_by_region_and_cluster_ten_at_most() -> None:
    refs = [ServiceRef("a", f"s{n}", "us-east-1") for n in range(23)]
    refs += [ServiceRef("a", "x", "eu-west-1"), ServiceRef("b", "y", "us-east-1")]
    assert [(b.region, b.cluster, len(b.services)) for b in batches(refs)] == [
        ("us-east-1", "a", 10),
        ("us-east-1", "a", 10),
        ("us-east-1", "a", 3),
        ("eu-west-1", "a", 1),
        ("us-east-1", "b", 1),
    ]


@pytest.mark.parametrize("calls", [1, 2, 5])
def test_polls_keep_describe_services_under_30_calls_a_minute(calls: int) -> None:
    delays = poll_delays(calls)
    assert delays[0] == 2.0 * calls
    assert delays == sorted(delays)
    # The steady rate, and the first minute's, counting the poll at 0 s.
    assert 60 / delays[-1] * calls <= 30
    moments, moment = [0.0], 0.0
    while True:
        moment += delays[min(len(moments) - 1, len(delays) - 1)]
        if moment >= 60:
            break
        moments.append(moment)
    assert len(moments) * calls <= 30
