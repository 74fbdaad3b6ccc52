"""What tf-apply does after a successful apply: wait for the ECS services it rolled
(`wait-for-services`), report them in the job summary and the `services` output, and fail the
step when a rollout failed or outlasted `wait-timeout`.

Its options are declared here and added to tf-apply's; `settings` reads them with the others,
before terraform runs, and `after_apply` waits once the engine has applied.
"""

from __future__ import annotations

from typing import NamedTuple

from toto_actions import actions_runtime
from toto_actions.errors import OperationError
from toto_actions.options import SECONDS, GivenOptions, Option
from toto_actions.rollout.targets import (
    ARN_OUTPUT,
    ARNS_OUTPUT,
    NOTHING,
    ServiceRef,
    WaitRequest,
    from_outputs,
    parse_request,
)
from toto_actions.terraform.engine import EngineResult, StepStatus, on_signals

OPTIONS = (
    Option(
        "--wait-for-services",
        "after the apply, wait for the rollout of these ECS services, one per line: a service "
        f"ARN or CLUSTER/SERVICE; auto: those the outputs {ARN_OUTPUT} (a string) and "
        f"{ARNS_OUTPUT} (a list) name; none: no wait (default none)",
        default="none",
        metavar="SERVICES",
    ),
    Option(
        "--wait-timeout",
        "seconds the services' rollout may take (default 900)",
        SECONDS,
        900.0,
        low=1,
        high=86_400,
    ),
)


class WaitSettings(NamedTuple):
    request: WaitRequest
    timeout: float = 900.0


NO_WAIT = WaitSettings(NOTHING)


def settings(given: GivenOptions, problems: list[str]) -> WaitSettings:
    """The wait the options ask for; usage problems go to problems."""
    request, found = parse_request(given.text("wait-for-services"))
    problems += found
    if request.wanted and given.switch("plan-only"):
        problems.append("--wait-for-services applies to an apply, not to --plan-only")
    if any(ref.region is None for ref in request.services) and not found:
        from toto_actions.rollout.ecs import default_region

        if not default_region():
            problems.append(
                "--wait-for-services names a service without its ARN: set AWS_REGION "
                "(or give the service's ARN)"
            )
    return WaitSettings(request, given.seconds("wait-timeout"))


def after_apply(wait: WaitSettings, result: EngineResult) -> None:
    """Wait for the services of an applied (or unchanged: a rollout may still run) apply; the
    summary and the `services` output list them. OperationError when one is not steady."""
    if not wait.request.wanted or result.status not in (StepStatus.APPLIED, StepStatus.NO_CHANGES):
        return
    services = _services(wait.request, result)
    if not services:
        return
    from toto_actions.rollout.ecs import Ecs
    from toto_actions.rollout.progress import services_json, summary_markdown
    from toto_actions.rollout.wait import wait_for_services

    def stop(number: int) -> None:
        raise KeyboardInterrupt  # a cancelled job stops waiting at once: nothing to release

    names = ", ".join(ref.label for ref in services)
    with on_signals(stop), actions_runtime.group(f"ECS rollout: {names}"):
        waited = wait_for_services(services, Ecs(), wait.timeout, actions_runtime.info)
    actions_runtime.set_output("services", services_json(waited.outcomes))
    actions_runtime.add_summary(summary_markdown(waited.outcomes))
    for warning in waited.warnings:
        actions_runtime.warning(warning)
    if waited.failure is not None:
        raise OperationError(waited.failure)
    if waited.steady:
        actions_runtime.info(f"steady: {', '.join(waited.steady)}")


def _services(request: WaitRequest, result: EngineResult) -> list[ServiceRef]:
    if not request.auto:
        return list(request.services)
    services, problems = from_outputs(result.outputs or {})
    if problems:
        raise OperationError("; ".join(problems))
    if not services:
        actions_runtime.warning(
            f"wait-for-services auto: the configuration has no output {ARN_OUTPUT} or "
            f"{ARNS_OUTPUT}: no ECS rollout to wait for"
        )
    return services
