"""Access tokens as RFC 9068 JWTs, signed RS256."""

import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from issuer.users import User
from shared.access_token import ALGORITHM
from shared.access_token import TYPE as ACCESS_TOKEN_TYPE


def access_token_claims(
    *,
    user: User,
    scopes: frozenset[str],
    client_id: str,
    issuer: str,
    audience: str,
    ttl: int,
    now: float,
) -> dict[str, Any]:
    """RFC 9068 §2.2 claims; `sub` is the user's stable id, never the renameable username."""
    issued_at = int(now)
    return {
        "iss": issuer,
        "sub": user.id,
        "aud": audience,
        "exp": issued_at + ttl,
        "iat": issued_at,
        "jti": uuid.uuid4().hex,
        "client_id": client_id,
        "scope": " ".join(sorted(scopes)),
        "preferred_username": user.username,
    }


def sign_access_token(claims: dict[str, Any], kid: str, key: RSAPrivateKey) -> str:
    return jwt.encode(
        claims, key, algorithm=ALGORITHM, headers={"typ": ACCESS_TOKEN_TYPE, "kid": kid}
    )
