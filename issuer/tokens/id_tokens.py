"""ID tokens (OpenID Connect Core 1.0 §2), issued beside the access token of a grant that
authenticated a user with scope `openid`, and signed by the same key (issuer/tokens/jws.py).

The claims: iss; sub, the access token's; aud, the client id as a string (one audience, so no
azp, which Core §2 says is "only needed when the ID Token has a single audience value and that
audience is different than the authorized party"); iat and exp; auth_time, when the user
signed in; nonce, only when the authentication request sent one; at_hash (§3.1.3.6), the half
hash of the access token under the signing key's algorithm; sid, the sign-in session; amr,
how the user signed in (RFC 8176 §2: "pwd"). No acr: Core defines no value for a password
sign-in but "0". No profile or email claims: §5.4 releases them at the UserInfo endpoint
whenever an access token is issued, and one always is here.
"""

from typing import Any

from issuer.grants import Authentication
from issuer.keys.keyring import Signer
from issuer.tokens.jws import sign_jwt
from jwtkit.contract import ID_TOKEN_TYPE, half_hash


def id_token_claims(
    *,
    issuer: str,
    subject: str,
    client_id: str,
    authentication: Authentication,
    access_token: str,
    algorithm: str,
    ttl: float,
    now: float,
) -> dict[str, Any]:
    """Core §2 claims for the ID token issued with `access_token`, signed with `algorithm`."""
    issued_at = int(now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "exp": issued_at + int(ttl),
        "iat": issued_at,
        "auth_time": authentication.auth_time,
    }
    # Core §3.1.2.1: "the value is passed through unmodified from the Authentication Request
    # to the ID Token"; absent when none was sent (and on refresh, §12.2).
    if authentication.nonce is not None:
        claims["nonce"] = authentication.nonce
    claims["at_hash"] = half_hash(access_token, algorithm)
    claims["sid"] = authentication.sid
    claims["amr"] = list(authentication.amr)
    return claims


def sign_id_token(claims: dict[str, Any], signer: Signer) -> str:
    """The ID token: the claims signed with typ JWT, never at+jwt (RFC 9068 §4: an ID token
    must not pass as an access token)."""
    return sign_jwt(claims, signer, ID_TOKEN_TYPE)
