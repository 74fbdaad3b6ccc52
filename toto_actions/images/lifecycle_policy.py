"""The lifecycle policy of an ECR repository that build-push creates, as plain text: ECR's
default of this toolkit, none, or the user's JSON, checked before anything is built.

ECR expires whole images, never single tags, and every image build-push pushes carries its inputs
marker tag (`toto-inputs-<digest>`): a rule on the markers would expire images that prod may still
run. The default expires untagged images only (those whose every tag moved to newer images) 14
days after their push. The document is ECR's "Lifecycle policy template"
(https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_examples.html); ECR
checks the rules themselves when the policy is put.
"""

from __future__ import annotations

import json

UNTAGGED_DAYS = 14
DEFAULT_LIFECYCLE_POLICY = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire untagged images {UNTAGGED_DAYS} days after their push",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": UNTAGGED_DAYS,
                },
                "action": {"type": "expire"},
            }
        ]
    }
)
NO_POLICY = "none"
# botocore's ECR model: PutLifecyclePolicy's lifecyclePolicyText is 100 to 30720 characters.
MIN_LENGTH, MAX_LENGTH = 100, 30720


class PolicyProblem(ValueError):
    """A lifecycle policy ECR would refuse, with what is wrong in one line."""


def lifecycle_policy(given: str | None) -> str | None:
    """The policy text to put on a repository when it is created: the default for None or an
    empty value, None for `none` (no policy), else the user's JSON as given (surrounding white
    space aside).

    PolicyProblem unless the JSON is an object whose `rules` is a non-empty list of objects, of a
    length ECR takes.
    """
    text = (given or "").strip()
    if not text:
        return DEFAULT_LIFECYCLE_POLICY
    if text.lower() == NO_POLICY:
        return None
    try:
        document = json.loads(text)
    except ValueError as failure:
        raise PolicyProblem(f"not JSON ({failure}), nor `none`") from failure
    rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(document, dict):
        raise PolicyProblem('not a JSON object: give {"rules": [...]}')
    if not isinstance(rules, list) or not rules:
        raise PolicyProblem('needs "rules", a list of one rule or more')
    if not all(isinstance(rule, dict) for rule in rules):
        raise PolicyProblem('each of "rules" must be a JSON object')
    if not MIN_LENGTH <= len(text) <= MAX_LENGTH:
        raise PolicyProblem(
            f"{len(text)} characters: ECR takes {MIN_LENGTH} to {MAX_LENGTH} (a rule needs "
            "rulePriority, selection and action)"
        )
    return text
