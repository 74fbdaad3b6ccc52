"""Whether the changes an apply is about to make are the ones reviewed on the pull request that
brought the commit: its plan comment's changes digest against the plan's.

ReviewedPlanCheck is the engines' `review` callable (called once after the plan, only when the
step would apply changes): it returns None to go on, or the one-line reason to refuse when the
reviewed plan is required; either way it keeps the statement the job summary shows.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

from toto_actions import actions_runtime
from toto_actions.errors import OperationError
from toto_actions.github.pull_requests import PullRequests
from toto_actions.terraform.plan import UNLISTED_REASON, PlanSummary, changes_digest
from toto_actions.terraform.plan_comment import is_plan_comment, reviewed_digest


class ReviewSettings(NamedTuple):
    token: str
    api_url: str
    repository: str  # owner/name
    commit: str  # the pushed commit being applied
    workspace: str  # whose plan comment to read
    required: bool  # require-reviewed-plan: refuse a difference or a missing reviewed plan


class ReviewedPlanCheck:
    """The `review` callable of the engines; `statement` holds what the job summary says once
    it was called (None before, or when the step had nothing to apply)."""

    def __init__(self, settings: ReviewSettings) -> None:
        self.settings = settings
        self.statement: str | None = None

    def __call__(self, summary: PlanSummary) -> str | None:
        settings = self.settings
        short = settings.commit[:12]
        if not summary.listed:
            self.statement = f"The plan's resources are unknown: {UNLISTED_REASON}."
            return self._refusal(
                f"the changes of {short} cannot be compared with its reviewed plan: "
                f"the plan's resources are unknown ({UNLISTED_REASON})"
            )
        try:
            found = PullRequests(
                settings.token, settings.api_url, settings.repository
            ).reviewed_comment(
                settings.commit, partial(is_plan_comment, workspace=settings.workspace)
            )
        except OperationError as problem:
            self.statement = f"The reviewed plan could not be read: {problem}."
            return self._refusal(f"the reviewed plan of {short} could not be read ({problem})")
        digest = None if found is None or found.body is None else reviewed_digest(found.body)
        if found is None or digest is None:
            where = (
                "no pull request"
                if found is None
                else f"no plan comment on #{found.pull_number}"
                if found.body is None
                else f"the plan commented on #{found.pull_number} lists no resources"
            )
            self.statement = f"No reviewed plan found for commit `{short}` ({where})."
            return self._refusal(f"no reviewed plan found for commit {short} ({where})")
        if digest == changes_digest(summary):
            self.statement = f"The changes applied are the ones reviewed in #{found.pull_number}."
            actions_runtime.info(self.statement)
            return None
        self.statement = f"The changes differ from the plan reviewed in #{found.pull_number}."
        return self._refusal(f"the changes differ from the plan reviewed in #{found.pull_number}")

    def _refusal(self, reason: str) -> str | None:
        if self.settings.required:
            return f"{reason}: not applied (require-reviewed-plan is true)"
        actions_runtime.warning(reason)
        return None

    def summary_markdown(self) -> str:
        """The job summary's line, empty when the check did not run."""
        return f"\n\n**Reviewed plan:** {self.statement}" if self.statement else ""
