"""Which ECS services tf-apply waits for: the `wait-for-services` input read into plain values,
and `auto` resolved from the applied outputs `ecs_service_arn` (a string) and `ecs_service_arns`
(a list), with `ecs_cluster` for an old-format ARN, which names no cluster. Plain logic: no SDK."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

AUTO = "auto"
NONE = "none"
ARN_OUTPUT = "ecs_service_arn"
ARNS_OUTPUT = "ecs_service_arns"
CLUSTER_OUTPUT = "ecs_cluster"
BATCH_SIZE = 10  # DescribeServices takes up to 10 services per call

_ARN_PREFIX = r"arn:(?P<partition>aws[a-z-]*):ecs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
_NAME = r"[A-Za-z0-9_-]{1,255}"
# arn:PARTITION:ecs:REGION:ACCOUNT:service/CLUSTER/NAME: the long ARN format, the default since
# 2021. A service made before its account opted in keeps the old one, service/NAME, which has
# no cluster to ask DescribeServices in: that comes from elsewhere.
_SERVICE_ARN = re.compile(_ARN_PREFIX + rf"service/(?P<cluster>{_NAME})/(?P<name>{_NAME})")
_OLD_SERVICE_ARN = re.compile(_ARN_PREFIX + rf"service/(?P<name>{_NAME})")
_CLUSTER_ARN = re.compile(_ARN_PREFIX + rf"cluster/(?P<name>{_NAME})")
ARN_FORM = "arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME"
OLD_ARN = "an old-format service ARN, without its cluster"
_CLUSTER_SERVICE = re.compile(rf"(?P<cluster>{_NAME})/(?P<name>{_NAME})")


class ServiceRef(NamedTuple):
    """One service to wait for: its cluster and name, and the region its ARN names (None: the
    runner's default region)."""

    cluster: str
    name: str
    region: str | None = None
    arn: str | None = None

    @property
    def label(self) -> str:
        """How messages name it: `cluster/service`."""
        return f"{self.cluster}/{self.name}"


class WaitRequest(NamedTuple):
    """What `wait-for-services` asks: nothing, the outputs' services (auto), or these."""

    auto: bool
    services: tuple[ServiceRef, ...]

    @property
    def wanted(self) -> bool:
        return self.auto or bool(self.services)


NOTHING = WaitRequest(False, ())


def service_ref(text: str) -> ServiceRef | None:
    """A service ARN or `cluster/service` as a ServiceRef; None when it is neither."""
    text = text.strip()
    arn = _SERVICE_ARN.fullmatch(text)
    if arn:
        return ServiceRef(arn["cluster"], arn["name"], arn["region"], text)
    pair = _CLUSTER_SERVICE.fullmatch(text)
    return ServiceRef(pair["cluster"], pair["name"]) if pair else None


def parse_request(raw: str | None) -> tuple[WaitRequest, list[str]]:
    """The input's request and its problems (one line each, naming the line by number)."""
    lines = [line.strip() for line in (raw or "").splitlines() if line.strip()]
    if not lines or lines == [NONE]:
        return NOTHING, []
    if AUTO in lines or NONE in lines:
        if lines == [AUTO]:
            return WaitRequest(True, ()), []
        return NOTHING, ["--wait-for-services: auto and none stand alone, not among service lines"]
    problems, services = [], []
    for number, line in enumerate(lines, start=1):
        ref = service_ref(line)
        old = _OLD_SERVICE_ARN.fullmatch(line)
        if old:
            problems.append(
                f"--wait-for-services line {number} {line!r}: {OLD_ARN}: write "
                f"CLUSTER/{old['name']} (in the runner's region), or use {AUTO} with the output "
                f"{CLUSTER_OUTPUT}"
            )
        elif ref is None:
            problems.append(
                f"--wait-for-services line {number} {line!r}: expected an ECS service ARN "
                f"({ARN_FORM}) or CLUSTER/SERVICE"
            )
        elif ref not in services:
            services.append(ref)
    return WaitRequest(False, tuple(services)), problems


def from_outputs(outputs: Mapping[str, Any]) -> tuple[list[ServiceRef], list[str]]:
    """The services the applied outputs name (`terraform output -json` form), and the problems
    with them: an output of the wrong type, a value that is not a service ARN, an old-format
    ARN without the output ecs_cluster (a cluster name or ARN; read only for such an ARN)."""
    named: list[tuple[str, object]] = []  # (where, value): messages never show a value (masked)
    problems: list[str] = []
    if ARN_OUTPUT in outputs:
        named.append((f"output {ARN_OUTPUT}", outputs[ARN_OUTPUT].get("value")))
    if ARNS_OUTPUT in outputs:
        listed = outputs[ARNS_OUTPUT].get("value")
        if isinstance(listed, list):
            named += [(f"output {ARNS_OUTPUT} item {n}", v) for n, v in enumerate(listed, 1)]
        else:
            problems.append(f"output {ARNS_OUTPUT}: not a list of ECS service ARNs")
    services: list[ServiceRef] = []
    for where, value in named:
        ref, problem = _named_service(where, value, outputs)
        if problem is not None and problem not in problems:  # ecs_cluster's: said once
            problems.append(problem)
        elif ref is not None and ref not in services:
            services.append(ref)
    return services, problems


def _named_service(
    where: str, value: object, outputs: Mapping[str, Any]
) -> tuple[ServiceRef | None, str | None]:
    """The service an output's value names, or the problem with it."""
    text = value.strip() if isinstance(value, str) else ""
    old = _OLD_SERVICE_ARN.fullmatch(text)
    if old is None:
        ref = service_ref(text)
        if ref is None or ref.arn is None:
            return None, f"{where}: not an ECS service ARN ({ARN_FORM})"
        return ref, None
    cluster, problem = _output_cluster(outputs)
    if cluster is None:
        no_cluster = (
            f"{where}: {OLD_ARN}: add the output {CLUSTER_OUTPUT} (the cluster's name or ARN)"
        )
        return None, problem or no_cluster
    return ServiceRef(cluster, old["name"], old["region"], text), None


def _output_cluster(outputs: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The cluster name the output ecs_cluster gives (a name or a cluster ARN), or the problem
    with it; (None, None) when there is no such output."""
    if CLUSTER_OUTPUT not in outputs:
        return None, None
    value = outputs[CLUSTER_OUTPUT].get("value")
    text = value.strip() if isinstance(value, str) else ""
    found = _CLUSTER_ARN.fullmatch(text) or re.fullmatch(rf"(?P<name>{_NAME})", text)
    if found is None:
        return None, f"output {CLUSTER_OUTPUT}: not an ECS cluster name or ARN"
    return found["name"], None


class Batch(NamedTuple):
    """Services one DescribeServices call asks for: one region, one cluster, up to 10."""

    region: str | None
    cluster: str
    services: tuple[ServiceRef, ...]


def batches(services: Iterable[ServiceRef]) -> list[Batch]:
    """The services grouped by region and cluster, in calls of up to BATCH_SIZE."""
    groups: dict[tuple[str | None, str], list[ServiceRef]] = {}
    for ref in services:
        groups.setdefault((ref.region, ref.cluster), []).append(ref)
    return [
        Batch(region, cluster, tuple(refs[start : start + BATCH_SIZE]))
        for (region, cluster), refs in groups.items()
        for start in range(0, len(refs), BATCH_SIZE)
    ]


def poll_delays(calls_per_poll: int, first: float = 2.0, cap: float = 2.5) -> Sequence[float]:
    """The first delays between polls (the last repeats): from first, growing by a quarter to
    cap, each scaled by the calls a poll makes, so DescribeServices stays under 30 calls a minute
    (60 / 30 = 2 s a call). The cap is low because it is also the longest a finished rollout
    goes unnoticed (half of it on average): a rollout takes minutes, and its end is the news."""
    delays, delay = [], first
    while delay < cap:
        delays.append(delay * calls_per_poll)
        delay *= 1.25
    return [*delays, cap * calls_per_poll]
