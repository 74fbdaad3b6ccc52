"""The wait itself: poll the services' rollouts until each is steady (or rolled by another
deployment controller: not followed), one fails, or the time is up. Plain logic over an
Ecs-shaped reader (ecs.py in the step, any other in a test)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from toto_actions.errors import OperationError
from toto_actions.rollout.progress import (
    Judgement,
    Phase,
    ServiceOutcome,
    ServiceView,
    deployed_task_definition,
    judge,
)
from toto_actions.rollout.targets import Batch, ServiceRef, batches, poll_delays


class EcsReader(Protocol):
    def describe(self, batch: Batch) -> dict[ServiceRef, ServiceView]: ...

    def stopped_reasons(self, region: str | None, cluster: str, service: str) -> list[str]: ...

    def images(self, region: str | None, task_definition: str) -> tuple[str, ...]: ...


class WaitResult(NamedTuple):
    outcomes: list[ServiceOutcome]  # one per service, in the order asked
    failure: str | None  # the one line the step fails with; None: none failed nor was late

    @property
    def warnings(self) -> list[str]:
        """A line for each service whose rollout was not followed, naming it and why."""
        return [
            f"{o.view.label}: not followed: {o.reason}"
            for o in self.outcomes
            if o.phase is Phase.NOT_FOLLOWED
        ]

    @property
    def steady(self) -> list[str]:
        """The services found steady."""
        return [o.view.label for o in self.outcomes if o.phase is Phase.STEADY]


def wait_for_services(
    services: Sequence[ServiceRef],
    ecs: EcsReader,
    timeout: float,
    log: Callable[[str], None],
) -> WaitResult:
    """Poll (one DescribeServices call per batch of a cluster's services not yet settled) until
    every service is steady or not followed, one failed (at once, with why its tasks stopped),
    or timeout."""
    started = time.monotonic()
    deadline = started + timeout
    watch = _Watch(services, log)
    delays = poll_delays(len(batches(services)))
    poll = 0
    while True:
        for batch in batches(watch.unsettled()):
            views = ecs.describe(batch)
            missing = [ref.label for ref in batch.services if ref not in views]
            if missing:
                raise OperationError(
                    f"ECS service {', '.join(missing)} not found: check wait-for-services or the "
                    "outputs ecs_service_arn/ecs_service_arns"
                )
            for ref, view in views.items():
                watch.see(ref, view, time.monotonic() - started)
        if watch.failed() or not watch.unsettled() or time.monotonic() >= deadline:
            break
        time.sleep(min(delays[min(poll, len(delays) - 1)], max(deadline - time.monotonic(), 0)))
        poll += 1
    return watch.result(ecs, timeout)


class _Watch:
    """What the polls have seen of each service so far."""

    def __init__(self, services: Sequence[ServiceRef], log: Callable[[str], None]) -> None:
        self.services, self.log = list(services), log
        self.deployed: dict[ServiceRef, str] = {}  # the task definition the apply deployed
        self.views: dict[ServiceRef, ServiceView] = {}
        self.judgements: dict[ServiceRef, Judgement] = {}
        self.steady_after: dict[ServiceRef, float] = {}
        self.shown: dict[ServiceRef, tuple[object, ...]] = {}

    def unsettled(self) -> list[ServiceRef]:
        """The services still to poll: neither steady nor left to another controller."""
        return [
            ref
            for ref in self.services
            if ref not in self.steady_after
            and not (ref in self.judgements and self.judgements[ref].phase is Phase.NOT_FOLLOWED)
        ]

    def failed(self) -> list[ServiceRef]:
        return [r for r, j in self.judgements.items() if j.phase is Phase.FAILED]

    def see(self, ref: ServiceRef, view: ServiceView, elapsed: float) -> None:
        deployed = self.deployed.setdefault(ref, deployed_task_definition(view))
        judgement = judge(view, deployed)
        self.views[ref], self.judgements[ref] = view, judgement
        if judgement.phase is Phase.STEADY:
            self.steady_after[ref] = elapsed
        shown = (judgement.phase, view.desired, view.running, view.pending)
        if self.shown.get(ref) != shown:  # a line per change, not per poll
            self.shown[ref] = shown
            self.log(
                f"{view.label}: {judgement.phase.value}, {view.running} running of "
                f"{view.desired} desired, {view.pending} pending"
            )

    def result(self, ecs: EcsReader, timeout: float) -> WaitResult:
        images: dict[str, tuple[str, ...]] = {}
        outcomes = []
        for ref in self.services:
            view, judgement = self.views[ref], self.judgements[ref]
            deployed = self.deployed[ref]
            if deployed not in images:
                images[deployed] = self._images(ecs, ref, deployed)
            outcomes.append(
                ServiceOutcome(
                    view,
                    judgement.phase,
                    self.steady_after.get(ref),
                    images[deployed],
                    judgement.reason,
                )
            )
        return WaitResult(outcomes, self._failure(ecs, timeout))

    def _images(self, ecs: EcsReader, ref: ServiceRef, deployed: str) -> tuple[str, ...]:
        """The report's images; a role that may not read the task definition loses only them."""
        try:
            return ecs.images(ref.region, deployed)
        except OperationError as problem:
            self.log(f"{ref.label}: no images in the report: {problem}")
            return ()

    def _failure(self, ecs: EcsReader, timeout: float) -> str | None:
        failed = self.failed()
        if failed:
            ref = failed[0]
            reasons = ecs.stopped_reasons(ref.region, ref.cluster, ref.name)
            stopped = f"; stopped tasks: {'; '.join(reasons)}" if reasons else ""
            return f"{ref.label}: the rollout failed: {self.judgements[ref].reason}{stopped}"
        late = [self.views[ref] for ref in self.unsettled()]
        if not late:
            return None
        counts = ", ".join(
            f"{v.label} ({v.desired} desired, {v.running} running, {v.pending} pending)"
            for v in late
        )
        return f"not steady after {timeout:g} s: {counts}"
