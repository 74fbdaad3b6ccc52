"""GitHub requests per pull request plan comment: tf-apply's (toto_actions.github.pull_requests,
the code the step runs) against the plain PyGithub path (`get_repo`, `get_pull`, its issue
comments, then create or edit, with PyGithub's defaults: non-lazy objects, its request pacing),
both against the stand-in GitHub (testing/github/) with the same token, counted at the server
from its request log.

Per round and side, on a pull request of its own: the first comment (find, then create) and a
later one (find, then edit); then the same two on a pull request that had 150 comments before
the plan's (the find pages through them, a hundred a page). The sides alternate from one round
to the next. Each comment is checked at the server: one plan comment, holding the last body.
With --latency the server waits that long before every answer (a network's round trip), and the
time per comment is reported.

Usage: .venv/bin/python -m benchmarks.plan_comment [--rounds N] [--latency SECONDS]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

from github import Auth, Github

from testing.github.server import GitHubServer
from toto_actions.github.pull_requests import PullRequests
from toto_actions.terraform.plan_comment import is_plan_comment

REPOSITORY = "acme/toto-terra-aws"
TOKEN = "ghs_plan-job-token"  # noqa: S105 - the stand-in's token
WORKSPACE = "core-dev"
SCENARIOS = ("first", "later", "first, 150 before", "later, 150 before")
Publish = Callable[[int, str], None]


def ours(server: GitHubServer) -> Publish:
    client = PullRequests(TOKEN, server.url, REPOSITORY)
    is_ours = partial(is_plan_comment, workspace=WORKSPACE)

    def publish(number: int, body: str) -> None:
        client.publish(number, body, is_ours)

    return publish


def plain_pygithub(server: GitHubServer) -> Publish:
    github = Github(base_url=server.url, auth=Auth.Token(TOKEN), retry=None, per_page=100)

    def publish(number: int, body: str) -> None:
        pull = github.get_repo(REPOSITORY).get_pull(number)
        for comment in pull.get_issue_comments():
            if is_plan_comment(comment.body, WORKSPACE):
                comment.edit(body)
                return
        pull.create_issue_comment(body)

    return publish


def body(version: int) -> str:
    return f"<!-- toto-actions:plan workspace={WORKSPACE} -->\nplan {version}"


def measure(server: GitHubServer, publish: Publish, number: int) -> dict[str, tuple[int, float]]:
    """Requests and seconds of each scenario, on pull requests number and number + 1."""
    for index in range(150):
        server.add_comment(REPOSITORY, number + 1, f"review comment {index}")
    cases = [(number, 1), (number, 2), (number + 1, 1), (number + 1, 2)]
    return {
        scenario: _one(server, publish, pull, version)
        for scenario, (pull, version) in zip(SCENARIOS, cases, strict=True)
    }


def _one(server: GitHubServer, publish: Publish, number: int, version: int) -> tuple[int, float]:
    server.clear_requests()
    started = time.perf_counter()
    publish(number, body(version))
    elapsed = time.perf_counter() - started
    plan_comments = [
        c for c in server.comments(REPOSITORY, number) if is_plan_comment(c["body"], WORKSPACE)
    ]
    assert [c["body"] for c in plan_comments] == [body(version)], plan_comments
    return len(server.requests), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.02)
    arguments = parser.parse_args()
    sides = {"tf-apply": ours, "plain PyGithub": plain_pygithub}
    figures: dict[str, dict[str, list[tuple[int, float]]]] = {s: {} for s in sides}
    with GitHubServer() as server:
        server.add_repository(REPOSITORY)
        server.add_token(TOKEN, [REPOSITORY], {"contents": "read", "pull_requests": "write"})
        server.latency_seconds = arguments.latency
        number = 1
        for round_number in range(arguments.rounds):
            order = list(sides) if round_number % 2 == 0 else list(sides)[::-1]
            for side in order:
                for pull in (number, number + 1):
                    server.add_pull_request(REPOSITORY, pull, f"{pull:040x}")
                for scenario, figure in measure(server, sides[side](server), number).items():
                    figures[side].setdefault(scenario, []).append(figure)
                number += 2
    print(f"{arguments.rounds} rounds, server latency {arguments.latency * 1000:g} ms per answer")
    print(f"{'scenario':<22}{'side':<16}{'requests':>9}{'median s':>10}{'ratio':>7}")
    for scenario in SCENARIOS:
        baseline = statistics.median(s for _, s in figures["plain PyGithub"][scenario])
        for side in sides:
            counts = {count for count, _ in figures[side][scenario]}
            seconds = statistics.median(s for _, s in figures[side][scenario])
            shown = "/".join(str(c) for c in sorted(counts))
            print(f"{scenario:<22}{side:<16}{shown:>9}{seconds:>10.3f}{seconds / baseline:>7.2f}")


if __name__ == "__main__":
    main()
