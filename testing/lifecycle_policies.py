"""Lifecycle policies the ECR tests put, in ECR's own document form."""

from __future__ import annotations

import json

# A rule of ECR's documented template (lifecycle_policy_examples.html).
KEEP_TEN = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": 10,
                },
                "action": {"type": "expire"},
            }
        ]
    },
    indent=2,
)
