"""Access tokens as RFC 9068 JWTs, signed with the active key's algorithm (issuer/tokens/jws.py)."""

import uuid
from typing import Any

from issuer.keys.keyring import Signer
from issuer.tokens.jws import sign_jwt
from jwtkit.contract import ACCESS_TOKEN_TYPE, DEFAULT_ALGORITHM, PrivateKey


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
    claims: dict[str, Any], kid: str, key: PrivateKey, algorithm: str = DEFAULT_ALGORITHM
) -> str:
    """The access token: the claims signed with typ at+jwt (RFC 9068 §2.1)."""
    return sign_jwt(claims, Signer(kid, key, algorithm), ACCESS_TOKEN_TYPE)
