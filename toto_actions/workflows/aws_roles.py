"""The IAM roles a rendered workflow assumes through OIDC: the deploy role, rendered into the jobs
that change an environment (deploy, apply, redeploy), and the plan role of the jobs that only read
(a pull request's plan, the drift check). Without a rendered plan role those read the
`AWS_ROLE_ARN` variable of their plan environment, `<env>-plan`: never the deploy role, which would
hand any branch author the credentials that change the environment."""

from __future__ import annotations

import re
from typing import NamedTuple

from toto_actions.errors import UsageError

_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")


class RoleArns(NamedTuple):
    """The rendered roles; None: the job reads its environment's AWS_ROLE_ARN variable."""

    deploy: str | None
    plan: str | None


def role_arns(deploy: str | None, plan: str | None) -> RoleArns:
    """Validate aws-role-arn and aws-plan-role-arn; the plan role may not be the deploy role."""
    for key, value in (("aws-role-arn", deploy), ("aws-plan-role-arn", plan)):
        if value is not None and not _ROLE_ARN.fullmatch(value):
            raise UsageError(
                f"{key} {value!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"
            )
    if plan is not None and plan == deploy:
        raise UsageError(
            "aws-plan-role-arn is the deploy role (aws-role-arn): the plan and drift jobs need a "
            "read-only role of their own, or leave it out to read each plan environment's "
            "AWS_ROLE_ARN variable"
        )
    return RoleArns(deploy, plan)
