"""What tf-apply does on GitHub around the plan: the plan comment of a pull request (plan-only
on a `pull_request` event), and the reviewed-plan check of an apply (the engines' `review`).

Its options are declared here and added to tf-apply's; `settings` reads them with the others,
before any work starts, and `after_plan` posts the comment once the engine has planned.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

from toto_actions import actions_runtime
from toto_actions.github import API_URL_OPTION, DEFAULT_API_URL
from toto_actions.github.pull_requests import (
    PullRequestEvent,
    PullRequests,
    pull_request_event,
)
from toto_actions.github.reviewed_plan import ReviewedPlanCheck, ReviewSettings
from toto_actions.options import LINES, SWITCH, GivenOptions, Option
from toto_actions.terraform.engine import EngineResult
from toto_actions.terraform.plan_comment import CommentContext, is_plan_comment, plan_comment

OPTIONS = (
    Option(
        "--pr-comment",
        "with --plan-only on a pull_request event: the plan as one comment per workspace on the "
        "pull request, edited on later pushes (default true)",
        SWITCH,
        True,
    ),
    Option(
        "--github-token",
        "the token that comments and reads plan comments (needs pull-requests: write to comment; "
        "pull-requests: read and actions: read to check a reviewed plan)",
        fallback_variable="GITHUB_TOKEN",
        sensitive=True,
    ),
    API_URL_OPTION,
    Option(
        "--require-reviewed-plan",
        "refuse an apply whose changes differ from the plan commented on the commit's pull "
        "request, or that has none (default false: only report it)",
        SWITCH,
        False,
    ),
    Option(
        "--reviewed-as",
        "for the reviewed-plan check: APPLIED=REVIEWED, a text of the planned values read as the "
        "reviewed plan showed it (the deploy's image by digest as the content-addressed tag its "
        "pull request's plan named: the push gave that tag this digest); one per line",
        kind=LINES,
        metavar="APPLIED=REVIEWED",
    ),
)


class PlanComment(NamedTuple):
    """The comment to post after the plan."""

    event: PullRequestEvent
    token: str
    api_url: str
    workspace: str


class GitHubSteps(NamedTuple):
    comment: PlanComment | None  # plan-only on a pull request, with pr-comment
    review: ReviewedPlanCheck | None  # an apply of a pushed commit: the engines' `review`


def settings(
    given: GivenOptions, problems: list[str], *, workspace: str, commit: str | None
) -> GitHubSteps:
    """What to do on GitHub, from the options and the event; usage problems go to problems."""
    token = given.text("github-token") or ""
    if token:
        actions_runtime.mask(token)
    api_url = given.text("github-api-url") or DEFAULT_API_URL
    plan_only = given.switch("plan-only")
    event_name, event_path = actions_runtime.event()
    comment = None
    if plan_only and given.switch("pr-comment") and not given.switch("refresh-only"):
        event = pull_request_event(event_name, event_path)
        if event is not None:
            if not token:
                problems.append("a pull request's plan comment needs --github-token")
            comment = PlanComment(event, token, api_url, workspace)
    review = None
    required = given.switch("require-reviewed-plan")
    if required and plan_only:
        problems.append("--require-reviewed-plan applies to an apply, not to --plan-only")
    elif required or (event_name == "push" and token):
        repository = actions_runtime.repository()
        if not (token and repository and commit):
            if required:  # else there is only nothing to report
                problems.append(
                    "--require-reviewed-plan needs --github-token, GITHUB_REPOSITORY and the "
                    "commit applied (--commit or GITHUB_SHA)"
                )
        else:
            review = ReviewedPlanCheck(
                ReviewSettings(
                    token,
                    api_url,
                    repository,
                    commit,
                    workspace,
                    required,
                    actions_runtime.workflow_ref(),
                    given.pairs("reviewed-as"),
                )
            )
    return GitHubSteps(comment, review)


def after_plan(steps: GitHubSteps, result: EngineResult) -> None:
    """Post or edit the pull request's plan comment (a fork's pull request gets a notice: its
    token cannot comment). A comment GitHub refuses raises OperationError."""
    comment = steps.comment
    if comment is None:
        return
    event = comment.event
    if event.from_fork:
        actions_runtime.notice(
            f"pull request #{event.number} comes from a fork: no plan comment (its token "
            "cannot write to this repository); the plan is in the job summary"
        )
        return
    link = result.run_url or actions_runtime.job_url()
    context = CommentContext(
        workspace=comment.workspace,
        commit=event.head_sha,
        link=link or f"https://github.com/{event.base_repository}/pull/{event.number}",
        link_is_run=result.run_url is not None,
        run_id=actions_runtime.run_id(),
    )
    body = plan_comment(result.summary, context)
    outcome = PullRequests(comment.token, comment.api_url, event.base_repository).publish(
        event.number, body, partial(is_plan_comment, workspace=comment.workspace)
    )
    actions_runtime.info(f"plan comment {outcome} on #{event.number}")
