"""The lifecycle policy build-push puts on an ECR repository it creates, as text (no ECR here:
tests/images/test_ecr.py puts it on moto)."""

from __future__ import annotations

import json

import pytest

from testing.lifecycle_policies import KEEP_TEN
from toto_actions.images.lifecycle_policy import (
    DEFAULT_LIFECYCLE_POLICY,
    PolicyProblem,
    lifecycle_policy,
)


def test_the_default_expires_untagged_images_14_days_after_their_push() -> None:
    """Never a rule on tags: every image carries a marker tag, and ECR expires whole images."""
    assert json.loads(DEFAULT_LIFECYCLE_POLICY) == {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Expire untagged images 14 days after their push",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 14,
                },
                "action": {"type": "expire"},
            }
        ]
    }


@pytest.mark.parametrize("given", [None, "", "  \n"])
def test_nothing_given_is_the_default(given: str | None) -> None:
    assert lifecycle_policy(given) == DEFAULT_LIFECYCLE_POLICY


@pytest.mark.parametrize("given", ["none", "None", " NONE\n"])
def test_none_is_no_policy(given: str) -> None:
    assert lifecycle_policy(given) is None


def test_a_policy_of_the_user_s_is_kept_as_written() -> None:
    assert lifecycle_policy(f"\n{KEEP_TEN}\n") == KEEP_TEN


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        (
            "{",
            "not JSON (Expecting property name enclosed in double quotes: line 1 column 2 "
            "(char 1)), nor `none`",
        ),
        ("nothing", "not JSON (Expecting value: line 1 column 1 (char 0)), nor `none`"),
        ("[1, 2]", 'not a JSON object: give {"rules": [...]}'),
        ('{"rule": []}', 'needs "rules", a list of one rule or more'),
        ('{"rules": []}', 'needs "rules", a list of one rule or more'),
        ('{"rules": {"rulePriority": 1}}', 'needs "rules", a list of one rule or more'),
        ('{"rules": ["expire"]}', 'each of "rules" must be a JSON object'),
        (
            '{"rules": [{"rulePriority": 1}]}',
            "32 characters: ECR takes 100 to 30720 (a rule needs rulePriority, selection and "
            "action)",
        ),
        pytest.param(
            json.dumps({"rules": [{"description": "x" * 30720}]}),
            "30752 characters: ECR takes 100 to 30720 (a rule needs rulePriority, selection and "
            "action)",
            id="too-long",
        ),
    ],
)
def test_a_policy_ecr_would_refuse_is_one_line(given: str, problem: str) -> None:
    with pytest.raises(PolicyProblem) as raised:
        lifecycle_policy(given)

    assert str(raised.value) == problem
