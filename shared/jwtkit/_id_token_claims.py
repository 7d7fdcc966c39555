"""The ID token's rules (OpenID Connect Core 1.0 §3.1.3.7), in the access token's pipeline:
the same header steps but typ, the same key and signature steps, and claim rules of its own
that reuse the access token's for iss, aud, exp, nbf and iat.

    ID_TOKEN       what a relying party checks of the ID token it has just been given
    ID_TOKEN_HINT  what the issuer checks of an id_token_hint (RP-Initiated Logout 1.0 §2:
                   signature, iss and aud, but not its expiry)
"""

import hmac
from collections.abc import Mapping
from typing import Any

from jwtkit._claims import (
    ClaimRule,
    Expected,
    _is_number,
    _validate_aud,
    _validate_exp,
    _validate_iat,
    _validate_iss,
    _validate_nbf,
)
from jwtkit._errors import InvalidToken
from jwtkit._pipeline import (
    HEADER_RULES,
    HeaderRule,
    Pipeline,
    Step,
    Verification,
    claim_steps,
    pipeline,
)
from jwtkit.contract import ACCEPTED_ID_TOKEN_TYPES, ID_TOKEN_REQUIRED_CLAIMS, half_hash

# Core §2: "It MUST NOT exceed 255 ASCII characters in length."
MAX_SUBJECT_LENGTH = 255


def _check_typ(header: dict[str, Any], _algorithms: frozenset[str]) -> None:
    # RFC 8725 §3.11: an access token (at+jwt, RFC 9068 §4) or a logout token (logout+jwt)
    # is never taken for an ID token. Core §2 requires no typ: none at all is an ID token's.
    if "typ" not in header:
        return
    typ = header["typ"]
    if not isinstance(typ, str) or typ.lower() not in ACCEPTED_ID_TOKEN_TYPES:
        raise InvalidToken("the token's typ is not that of an ID token")


# The access token's header rules, typ replaced: alg, crit and kid are the same steps.
HEADER: tuple[tuple[str, str, HeaderRule], ...] = tuple(
    ("typ", "typ is JWT or absent", _check_typ) if rule_id == "typ" else (rule_id, what, rule)
    for rule_id, what, rule in HEADER_RULES
)


def _validate_required(claims: Mapping[str, Any], _expected: Expected) -> None:
    for name in ID_TOKEN_REQUIRED_CLAIMS:
        if name not in claims:
            raise InvalidToken(f"the token has no {name} claim")


def _validate_sub(claims: Mapping[str, Any], _expected: Expected) -> None:
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUBJECT_LENGTH:
        raise InvalidToken("the sub claim is not a string of 1 to 255 characters")


def _validate_azp(claims: Mapping[str, Any], expected: Expected) -> None:
    # Core §3.1.3.7 (4, 5): "If the ID Token contains multiple audiences, the Client SHOULD
    # verify that an azp Claim is present. If an azp (authorized party) Claim is present, the
    # Client SHOULD verify that its client_id is the Claim Value." Both are enforced.
    aud = claims["aud"]
    if "azp" not in claims:
        if isinstance(aud, list) and len(aud) > 1:
            raise InvalidToken("an ID token for several audiences has no azp claim")
        return
    if claims["azp"] != expected.client_id:
        raise InvalidToken("the ID token was issued to another party")


def _validate_nonce(claims: Mapping[str, Any], expected: Expected) -> None:
    # Core §3.1.3.7 (11): "If a nonce value was sent in the Authentication Request, a nonce
    # Claim MUST be present and its value checked to verify that it is the same value as the
    # one that was sent." And one sent with no request of ours is refused (openid-client's
    # expectNoNonce): it belongs to another sign-in.
    if expected.nonce is None:
        if "nonce" in claims:
            raise InvalidToken("the ID token has a nonce, and none was sent")
        return
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(
        nonce.encode(), expected.nonce.encode()
    ):
        raise InvalidToken("the ID token's nonce is not the one sent")


def _validate_auth_time(claims: Mapping[str, Any], expected: Expected) -> None:
    # Core §3.1.3.7 (13): "If the auth_time Claim was requested, either through a specific
    # request for this Claim or by using the max_age parameter, the Client SHOULD check the
    # auth_time Claim value and request re-authentication if it determines too much time has
    # elapsed since the last End-User authentication."
    if "auth_time" not in claims:
        if expected.max_age is not None:
            raise InvalidToken("the ID token has no auth_time claim, which max_age requires")
        return
    auth_time = claims["auth_time"]
    if not _is_number(auth_time):
        raise InvalidToken("the auth_time claim is not a number")
    max_age = expected.max_age
    if max_age is not None and auth_time + max_age < expected.now - expected.leeway:
        raise InvalidToken("the user signed in longer ago than max_age allows")


def _at_hash(v: Verification) -> None:
    # Core §3.2.2.9 and §3.1.3.6: with the access token at hand, at_hash must be present and
    # be its half hash under the ID token's own alg (the signature step has pinned it).
    access_token = v.expected.access_token
    if access_token is None:
        return
    at_hash = v.claims.get("at_hash")
    if at_hash is None:
        raise InvalidToken("the ID token has no at_hash claim")
    expected = half_hash(access_token, v.header["alg"]) if access_token.isascii() else ""
    if not isinstance(at_hash, str) or not hmac.compare_digest(at_hash, expected):
        raise InvalidToken("the ID token's at_hash is not that of the access token")


# (id, what it checks, the check): the id labels InvalidToken.rule.
CLAIM_RULES: tuple[tuple[str, str, ClaimRule], ...] = (
    ("required", "iss, sub, aud, exp and iat are present", _validate_required),
    ("iss", "iss is the issuer", _validate_iss),
    ("aud", "aud names this client", _validate_aud),
    ("azp", "azp, when present or several audiences, is this client", _validate_azp),
    ("exp", "exp has not passed", _validate_exp),
    ("nbf", "nbf has passed", _validate_nbf),
    ("iat", "iat is not in the future", _validate_iat),
    ("claim_types", "sub is a string", _validate_sub),
    ("nonce", "nonce is the one sent, or absent when none was", _validate_nonce),
    ("auth_time", "auth_time is recent enough for max_age", _validate_auth_time),
)
HINT_RULES: tuple[tuple[str, str, ClaimRule], ...] = tuple(
    rule for rule in CLAIM_RULES if rule[0] in ("required", "iss", "aud", "azp", "claim_types")
)

# at_hash is a step of its own: it needs the header's alg, which no claim rule sees.
AT_HASH = Step("claim", "at_hash is the access token's", _at_hash, "at_hash")
ID_TOKEN: Pipeline = pipeline(HEADER, (*claim_steps(CLAIM_RULES), AT_HASH))
ID_TOKEN_HINT: Pipeline = pipeline(HEADER, claim_steps(HINT_RULES))
