"""Access tokens as RFC 9068 JWTs, signed with the active key's algorithm."""

import uuid
from typing import Any

import jwt

from shared.access_token import ALGORITHM
from shared.access_token import TYPE as ACCESS_TOKEN_TYPE
from shared.jwk import PrivateKey


def access_token_claims(
    *,
    subject: str,
    username: str | None,
    scopes: frozenset[str],
    client_id: str,
    issuer: str,
    audience: str,
    ttl: int,
    now: float,
) -> dict[str, Any]:
    """RFC 9068 §2.2 claims. `sub` is a user's stable id (never the renameable username), or the
    client id for a token a service got for itself, which then has no username."""
    issued_at = int(now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "exp": issued_at + ttl,
        "iat": issued_at,
        "jti": uuid.uuid4().hex,
        "client_id": client_id,
        "scope": " ".join(sorted(scopes)),
    }
    if username is not None:
        claims["preferred_username"] = username
    return claims


def sign_access_token(
    claims: dict[str, Any], kid: str, key: PrivateKey, algorithm: str = ALGORITHM
) -> str:
    return jwt.encode(
        claims, key, algorithm=algorithm, headers={"typ": ACCESS_TOKEN_TYPE, "kid": kid}
    )
