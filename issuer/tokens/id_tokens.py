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

`verified_hint` is the other way round: an ID token this issuer signed, handed back as an
`id_token_hint` (at /authorize, Core §3.1.2.1, and at the end-session endpoint).
"""

import base64
import binascii
import json
from typing import Any

from issuer.grants import Authentication
from issuer.keys.keyring import Signer
from issuer.services import IssuerServices
from issuer.tokens.jws import sign_jwt
from jwtkit import IdTokenVerifier, InMemoryJwks, VerifierError
from jwtkit.contract import ALGORITHMS, ID_TOKEN_TYPE, half_hash


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


async def verified_hint(
    hint: str, client_id: str | None, services: IssuerServices
) -> dict[str, Any] | None:
    """The claims of `hint` when it is an ID token this issuer signed, with a key it still
    publishes, for `client_id` (or, when None, for the one client its aud names), whatever
    its expiry (RP-Initiated Logout 1.0 §2); None when it is not."""
    audience = client_id if client_id is not None else _sole_audience(hint)
    if audience is None:
        return None
    keyring = services.keyring
    verifier = IdTokenVerifier(
        InMemoryJwks(services.settings.url, lambda: keyring.jwks.body),
        client_id=audience,
        algorithms=ALGORITHMS,  # each key is for one; the token's alg must be its key's
        clock=services.clock,
    )
    try:
        return await verifier.verify_hint(hint)
    except VerifierError:  # not ours, tampered with, another client's, or no keys yet
        return None


def _sole_audience(hint: str) -> str | None:
    """The client the (not yet verified) hint names: only picks whom to verify it for; the
    signature then proves it."""
    parts = hint.split(".")
    if len(parts) != 3 or len(hint) > 8192:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        return None
    aud = claims.get("aud") if isinstance(claims, dict) else None
    if isinstance(aud, list) and len(aud) == 1:
        aud = aud[0]
    return aud if isinstance(aud, str) and aud else None
