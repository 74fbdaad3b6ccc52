"""Whether the changes an apply is about to make are the ones reviewed on the pull request that
brought the commit: its plan comment's changes digest against the plan's.

A plan comment counts only when PLAN_COMMENT_AUTHOR wrote it, it is the only one of the
workspace on that pull request, its digest is of this version's format, and the workflow run it
names is a completed `pull_request` run of the workflow this apply runs from, for the pull
request's head commit (GET /repos/{owner}/{repo}/actions/runs/{run_id}), during which the comment
was last written (any job's GITHUB_TOKEN writes as the same bot, so a later edit is another's).

ReviewedPlanCheck is the engines' `review` callable (called once after the plan, only when the
step would apply changes): it returns None to go on, or the one-line reason to refuse when the
reviewed plan is required; either way it keeps the statement the job summary shows.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import NamedTuple

from toto_actions import actions_runtime
from toto_actions.errors import OperationError
from toto_actions.github.pull_requests import (
    PULL_REQUEST_EVENT,
    FoundComment,
    PullRequests,
    ReviewedComments,
    WorkflowRun,
)
from toto_actions.terraform.plan import (
    DIGEST_VERSION,
    UNLISTED_REASON,
    PlanSummary,
    changes_digest,
    read_as,
)
from toto_actions.terraform.plan_comment import is_plan_comment, reviewed_record


class ReviewSettings(NamedTuple):
    token: str
    api_url: str
    repository: str  # owner/name
    commit: str  # the pushed commit being applied
    workspace: str  # whose plan comment to read
    required: bool  # require-reviewed-plan: refuse a difference or a missing reviewed plan
    # The workflow this apply runs from (GITHUB_WORKFLOW_REF: owner/name/path@ref); the plan
    # comment's run must be of the same file. None: unknown, so no run can match.
    workflow_ref: str | None = None
    # (applied, reviewed) texts: the applied plan's values are read with each applied text as
    # its reviewed one before the digests are compared (reviewed-as).
    read_as: tuple[tuple[str, str], ...] = ()


class _Refused(Exception):
    """Why there is no reviewed plan to compare with: (statement, reason)."""


def workflow_file(reference: str, repository: str | None = None) -> str:
    """The workflow file's path in its repository: from GITHUB_WORKFLOW_REF (repository None:
    always `owner/name/path@ref`, as GitHub documents it), or from a run's `path` (GitHub
    answers `.github/workflows/x.yml`; its OpenAPI description's example adds `@branch` and the
    description calls it "the full path", so a leading `owner/name/` of repository is dropped
    too)."""
    path = reference.partition("@")[0]
    if repository is None:
        return path.split("/", 2)[-1]
    prefix = f"{repository}/"
    return path[len(prefix) :] if path.lower().startswith(prefix.lower()) else path


def _edit_problem(run: WorkflowRun, comment: FoundComment) -> str | None:
    """Why the comment's last edit is not the run's own: any job's GITHUB_TOKEN writes as the
    same bot, so an edit made after the run (or before it) is another job's. None when the
    comment was last written while the run ran."""
    if run.status != "completed" or run.started_at is None or run.updated_at is None:
        return f"has not completed ({run.status or 'no status'})"
    if not run.started_at <= comment.updated_at <= run.updated_at:
        return (
            f"ran from {_when(run.started_at)} to {_when(run.updated_at)}, and the comment was "
            f"last written at {_when(comment.updated_at)}"
        )
    return None


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class ReviewedPlanCheck:
    """The `review` callable of the engines; `statement` holds what the job summary says once
    it was called (None before, or when the step had nothing to apply)."""

    def __init__(self, settings: ReviewSettings) -> None:
        self.settings = settings
        self.statement: str | None = None

    def __call__(self, summary: PlanSummary) -> str | None:
        short = self.settings.commit[:12]
        read = read_as(summary, self.settings.read_as)
        digest = changes_digest(read) if summary.listed else None
        if digest is None:
            unknown = "resources" if not summary.listed else "planned values"
            why = UNLISTED_REASON if not summary.listed else "the plan was read from its text"
            self.statement = f"The plan's {unknown} are unknown: {why}."
            return self._refusal(
                f"the changes of {short} cannot be compared with its reviewed plan: "
                f"the plan's {unknown} are unknown ({why})"
            )
        try:
            pull, reviewed = self._reviewed_digest()
        except _Refused as refused:
            self.statement, reason = refused.args
            return self._refusal(reason)
        if reviewed == digest:
            self.statement = f"The changes applied are the ones reviewed in #{pull}."
            actions_runtime.info(self.statement)
            return None
        self.statement = f"The changes differ from the plan reviewed in #{pull}."
        return self._refusal(f"the changes differ from the plan reviewed in #{pull}")

    def _reviewed_digest(self) -> tuple[int, str]:
        """The merged pull request's number and the digest of its one trusted plan comment;
        _Refused when there is none to trust."""
        settings = self.settings
        short = settings.commit[:12]
        github = PullRequests(settings.token, settings.api_url, settings.repository)
        try:
            found = github.reviewed_comments(
                settings.commit, partial(is_plan_comment, workspace=settings.workspace)
            )
        except OperationError as problem:
            raise _Refused(
                f"The reviewed plan could not be read: {problem}.",
                f"the reviewed plan of {short} could not be read ({problem})",
            ) from problem
        if found is None or not found.comments:
            where = (
                "no pull request" if found is None else f"no plan comment on #{found.pull_number}"
            )
            raise _Refused(
                f"No reviewed plan found for commit `{short}` ({where}).",
                f"no reviewed plan found for commit {short} ({where})",
            )
        number = found.pull_number
        if len(found.comments) > 1:
            count = len(found.comments)
            raise self._untrusted(number, f"#{number} has {count} plan comments of this workspace")
        [comment] = found.comments
        record = reviewed_record(comment.body)
        if record.digest is None:
            where = f"the plan commented on #{number} lists no resources"
            raise _Refused(
                f"No reviewed plan found for commit `{short}` ({where}).",
                f"no reviewed plan found for commit {short} ({where})",
            )
        if record.version != DIGEST_VERSION:
            raise self._untrusted(
                number,
                f"its digest is of an older toto-actions (format {record.version}, without the "
                "planned values): plan the pull request again",
            )
        if record.run_id is None:
            raise self._untrusted(number, "it names no workflow run")
        try:
            run = github.workflow_run(record.run_id)
        except OperationError as problem:
            raise self._untrusted(number, f"its run cannot be read ({problem})") from problem
        run_problem = self._run_problem(run, found) or _edit_problem(run, comment)
        if run_problem is not None:
            raise self._untrusted(number, f"its run {run.run_id} {run_problem}")
        return number, record.digest

    def _run_problem(self, run: WorkflowRun, pull: ReviewedComments) -> str | None:
        """Why the run the comment names is not the plan of the pull request by this workflow;
        None when it is. GitHub lists in `pull_requests` only open pull requests of the
        repository (a merged one is left out), so an empty list is no refusal; a list without
        the pull request is."""
        repository = self.settings.repository
        reference = self.settings.workflow_ref
        if reference is None:
            return "cannot be checked: this apply's workflow is unknown (GITHUB_WORKFLOW_REF)"
        expected = workflow_file(reference)
        ran = workflow_file(run.path, repository)
        listed = ", ".join(f"#{n}" for n in run.pull_numbers)
        problems = [
            (ran != expected, f"is of the workflow {ran}, not {expected}"),
            (
                run.event != PULL_REQUEST_EVENT,
                f"was started by {run.event or 'an unknown event'}, not {PULL_REQUEST_EVENT}",
            ),
            (
                (run.head_repository or "").lower() != repository.lower(),
                f"ran for {run.head_repository}, not {repository}",
            ),
            (
                run.head_sha != pull.head_sha,
                f"planned {run.head_sha[:12]}, not the pull request's head {pull.head_sha[:12]}",
            ),
            (
                run.head_branch != pull.head_ref,
                f"ran on the branch {run.head_branch}, not {pull.head_ref}",
            ),
            (
                bool(run.pull_numbers) and pull.pull_number not in run.pull_numbers,
                f"is of the pull requests {listed}, not #{pull.pull_number}",
            ),
        ]
        return next((problem for found, problem in problems if found), None)

    def _untrusted(self, number: int, why: str) -> _Refused:
        return _Refused(
            f"The plan comment on #{number} is not trusted: {why}.",
            f"the plan comment on #{number} is not trusted: {why}",
        )

    def _refusal(self, reason: str) -> str | None:
        if self.settings.required:
            return f"{reason}: not applied (require-reviewed-plan is true)"
        actions_runtime.warning(reason)
        return None

    def summary_markdown(self) -> str:
        """The job summary's line, empty when the check did not run."""
        return f"\n\n**Reviewed plan:** {self.statement}" if self.statement else ""
