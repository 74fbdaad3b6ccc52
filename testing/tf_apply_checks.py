"""What both tf-apply engines do alike, checked the same way by the tests of each
(tests/commands/test_tf_apply_cli.py, test_tf_apply_cloud.py), on a configuration with a
variable and an output image_tag (v1 by default) and a terraform_data.image: a second run
changes nothing; the engine's review, asked once before an apply, refuses the plan with a
reason, lets it apply without one, and is not asked where nothing would apply."""

from __future__ import annotations

from collections.abc import Mapping

from testing.cli import CliResult
from testing.tf_apply_step import Reviewer, TfApplyStep, outputs_of
from toto_actions.terraform.plan import ResourceChange

REASON = "the changes differ from the plan reviewed in #7"


def assert_a_second_run_changes_nothing(step: TfApplyStep) -> None:
    """Run twice with the same inputs: the second succeeds with status `no-changes`, and the
    outputs file it writes holds image_tag v1."""
    assert step().exit_code == 0
    result = step()
    assert result.exit_code == 0, result.stderr
    assert outputs_of(result)["status"] == "no-changes"
    assert step.outputs()["image_tag"]["value"] == "v1"


def refused_review(step: TfApplyStep, env: Mapping[str, str] | None = None) -> CliResult:
    """Change image_tag to v2 under a review that answers REASON: the step fails with REASON its
    one error, its status `refused`, the review shown the one update; its result."""
    reviewer = Reviewer(REASON)
    result = step.reviewed(reviewer.review, "--var", "image_tag=v2", env=env)
    assert result.exit_code == 1, result.stdout + result.stderr
    # The one error is the review's (this process's stand-in threads may print beside it).
    assert f"error: {REASON}" in result.stderr.splitlines()
    assert "--allow-destroy" not in result.stderr
    assert outputs_of(result)["status"] == "refused"
    assert [(s.change, [r[:2] for r in s.resources]) for s in reviewer.shown] == [
        (1, [ResourceChange("terraform_data.image", "update")[:2]])
    ]
    return result


def approved_first_apply(step: TfApplyStep) -> CliResult:
    """Apply image_tag v2 into an empty state under a review that answers no reason: the step
    succeeds, the review shown the plan that adds both resources; its result."""
    reviewer = Reviewer(None)
    result = step.reviewed(reviewer.review, "--var", "image_tag=v2")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert [s.add for s in reviewer.shown] == [2]
    return result


def assert_no_review_for_a_plan_only_run_nor_without_changes(step: TfApplyStep) -> None:
    """A plan-only run and a run with nothing to change never ask the review."""
    reviewer = Reviewer(REASON)
    planned = step.reviewed(reviewer.review, "--plan-only", "true")
    assert (planned.exit_code, outputs_of(planned)["status"]) == (0, "planned"), planned.stderr
    assert step().exit_code == 0
    unchanged = step.reviewed(reviewer.review)
    assert (unchanged.exit_code, outputs_of(unchanged)["status"]) == (0, "no-changes")
    assert reviewer.shown == []
