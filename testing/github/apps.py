"""GitHub Apps for the stand-in GitHub: an app's RSA key pair, its installation on repositories,
the JSON Web Token it signs, and the documents GitHub answers about them.

An app authenticates as itself with a JWT (RS256, `iss` its ID, at most ten minutes long: GitHub's
"Generating a JSON Web Token (JWT) for a GitHub App"), and trades it for an installation access
token limited to some repositories and permissions (`POST /app/installations/{id}/access_tokens`),
which is what actions/create-github-app-token does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MAX_JWT_SECONDS = 600
_RSA_BITS = 2048


@dataclass(frozen=True)
class App:
    """An app installed on some repositories of one owner, with the permissions granted to it."""

    app_id: int
    installation_id: int
    owner: str
    repositories: frozenset[str]  # lower-cased full names
    permissions: dict[str, str]
    created_at: str
    private_key_pem: str
    public_key: rsa.RSAPublicKey

    @property
    def slug(self) -> str:
        return f"toto-app-{self.app_id}"


def new_app(
    app_id: int,
    *,
    installation_id: int,
    owner: str,
    repositories: frozenset[str],
    permissions: dict[str, str],
    created_at: str,
) -> App:
    key = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # what GitHub hands out: BEGIN RSA
        serialization.NoEncryption(),
    ).decode()
    return App(
        app_id, installation_id, owner, repositories, permissions, created_at, pem, key.public_key()
    )


def claimed_app_id(token: str) -> int | None:
    """The app a JWT says it comes from (its `iss`), before its signature is checked."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        return int(claims["iss"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None


def jwt_problem(app: App, token: str, now: float) -> str | None:
    """Why GitHub would refuse this JWT of the app; None when it is good."""
    try:
        claims = jwt.decode(
            token,
            app.public_key,
            algorithms=["RS256"],
            options={"require": ["iat", "exp", "iss"], "verify_iat": False},
            leeway=60,
        )
    except jwt.PyJWTError as problem:
        return f"A JSON web token could not be decoded ({problem})"
    if int(claims["exp"]) - int(claims["iat"]) > MAX_JWT_SECONDS or claims["iat"] > now + 60:
        return "'Expiration time' claim ('exp') is too far in the future"
    return None


def installation_document(app: App, api_url: str, account: dict[str, Any]) -> dict[str, Any]:
    """installation, as GET /repos/{owner}/{repo}/installation answers it."""
    return {
        "id": app.installation_id,
        "account": account,
        "repository_selection": "selected",
        "access_tokens_url": f"{api_url}/app/installations/{app.installation_id}/access_tokens",
        "repositories_url": f"{api_url}/installation/repositories",
        "html_url": f"https://github.com/organizations/{app.owner}/settings/installations/"
        f"{app.installation_id}",
        "app_id": app.app_id,
        "app_slug": app.slug,
        "target_id": account["id"],
        "target_type": "Organization",
        "permissions": dict(app.permissions),
        "events": [],
        "created_at": app.created_at,
        "updated_at": app.created_at,
        "single_file_name": None,
        "suspended_by": None,
        "suspended_at": None,
    }


def token_document(token: str, expires_at: str, permissions: dict[str, str]) -> dict[str, Any]:
    """installation-token, as POST /app/installations/{id}/access_tokens answers it."""
    return {
        "token": token,
        "expires_at": expires_at,
        "permissions": dict(permissions),
        "repository_selection": "selected",
    }
