"""How boto3's failures and answers become what a user sees: one line, a usage error (exit 2)
when the credentials or the configuration are wrong, an operation error (exit 1) otherwise; and
ECR's authorization token, decoded."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    BotoCoreError,
    ClientError,
    NoCredentialsError,
)

from toto_actions.errors import OperationError, UsageError

NO_REGION = "no AWS region: pass --aws-region or set AWS_REGION"
NO_CREDENTIALS = (
    "no AWS credentials: in a workflow, take them with aws-actions/configure-aws-credentials "
    "before this step; elsewhere set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
)
# Error codes that mean the credentials themselves are wrong, not the operation.
_CREDENTIAL_ERROR_CODES = frozenset(
    {
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "UnrecognizedClientException",
    }
)


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """Turn what boto3 raises inside the block into the one-line error a user sees."""
    try:
        yield
    except NoCredentialsError as failure:
        raise UsageError(NO_CREDENTIALS) from failure
    except ClientError as failure:
        code = error_code(failure)
        message = one_line(str(failure.response.get("Error", {}).get("Message", "")))
        line = f"{what} failed: {code}: {message}".rstrip(": ")
        if code in _CREDENTIAL_ERROR_CODES:
            raise UsageError(f"{line} (check the AWS credentials)") from failure
        raise OperationError(line) from failure
    except BotoCoreError as failure:  # EndpointConnectionError, timeouts, bad parameters
        raise OperationError(f"{what} failed: {one_line(str(failure))}") from failure


def error_code(failure: Any) -> str:
    return str(failure.response.get("Error", {}).get("Code", "unknown"))


def one_line(text: str) -> str:
    return " ".join(text.split())


def decode_token(token: str) -> tuple[str, str]:
    """(username, password) of an ECR authorization token: base64 of `user:password`."""
    try:
        username, separator, password = (
            base64.b64decode(token, validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        separator = ""
    if not separator:
        raise OperationError("ECR GetAuthorizationToken answered a token that is not user:password")
    return username, password
