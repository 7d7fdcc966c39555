"""Claim validation for RFC 9068 access tokens: one small rule per claim (the ID token's
rules, jwtkit._id_token_claims, reuse those for iss, aud, exp, nbf and iat).

`now` is taken once by the caller and passed down in `Expected`, so one token is judged at
one instant. `CLAIM_RULES` is the list both the verifier and the inspector run.
"""

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jwtkit._errors import InvalidToken
from jwtkit.contract import REQUIRED_CLAIMS


@dataclass(frozen=True, slots=True)
class Expected:
    """What the claims must say, for one token at one instant."""

    now: float
    issuer: str
    audiences: frozenset[str] | None  # None: any (the issuer judging its own tokens)
    leeway: float
    # ID tokens only (OpenID Connect Core §3.1.3.7): the relying party's client id, and what
    # its authentication request sent and got.
    client_id: str | None = None
    nonce: str | None = None
    max_age: float | None = None
    access_token: str | None = None


def read_claims(token: str) -> dict[str, Any]:
    """The payload of a token whose segments `read_header` accepted, not yet authenticated:
    only its `iss` is used before the signature is checked, to pick the issuer's keys."""
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise InvalidToken("the token's claims are not valid JSON") from None
    if not isinstance(claims, dict):
        raise InvalidToken("the token's claims are not a JSON object")
    return claims


def _is_number(value: object) -> bool:
    """A JSON number usable as a NumericDate: not a boolean, finite, within float range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range, such as 10**400
        return False


def _validate_required(claims: Mapping[str, Any], _expected: Expected) -> None:
    for name in REQUIRED_CLAIMS:
        if name not in claims:
            raise InvalidToken(f"the token has no {name} claim")


def _validate_iss(claims: Mapping[str, Any], expected: Expected) -> None:
    # RFC 9068 §4: the iss claim MUST exactly match the issuer identifier.
    if claims["iss"] != expected.issuer:
        raise InvalidToken("the token comes from another issuer")


def _validate_aud(claims: Mapping[str, Any], expected: Expected) -> None:
    # RFC 9068 §4: the aud claim MUST contain the resource server's identifier (one of them,
    # for a server known by several).
    if expected.audiences is None:
        return
    aud = claims["aud"]
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or not all(isinstance(item, str) for item in audiences):
        raise InvalidToken("the aud claim is malformed")
    if expected.audiences.isdisjoint(audiences):
        raise InvalidToken("the token is meant for another audience")


def _validate_exp(claims: Mapping[str, Any], expected: Expected) -> None:
    now, leeway = expected.now, expected.leeway
    exp = claims["exp"]
    if not _is_number(exp):
        raise InvalidToken("the exp claim is not a number")
    # RFC 7519 §4.1.4: the current time MUST be before exp (give or take the leeway).
    if now >= exp + leeway:
        raise InvalidToken("the token has expired")


def _validate_nbf(claims: Mapping[str, Any], expected: Expected) -> None:
    now, leeway = expected.now, expected.leeway
    if "nbf" not in claims:
        return
    nbf = claims["nbf"]
    if not _is_number(nbf):
        raise InvalidToken("the nbf claim is not a number")
    if now + leeway < nbf:
        raise InvalidToken("the token is not valid yet")


def _validate_iat(claims: Mapping[str, Any], expected: Expected) -> None:
    now, leeway = expected.now, expected.leeway
    iat = claims["iat"]
    if not _is_number(iat):
        raise InvalidToken("the iat claim is not a number")
    if iat > now + leeway:
        raise InvalidToken("the token was issued in the future")


def _validate_strings(claims: Mapping[str, Any], _expected: Expected) -> None:
    for name in ("sub", "client_id", "jti"):
        if not isinstance(claims[name], str) or not claims[name]:
            raise InvalidToken(f"the {name} claim is not a non-empty string")
    for name in ("scope", "preferred_username"):
        if name in claims and not isinstance(claims[name], str):
            raise InvalidToken(f"the {name} claim is not a string")


ClaimRule = Callable[[Mapping[str, Any], Expected], None]

# (id, what it checks, the check): the id labels metrics and InvalidToken.rule.
CLAIM_RULES: tuple[tuple[str, str, ClaimRule], ...] = (
    ("required", "required claims are present", _validate_required),
    ("iss", "iss is the issuer", _validate_iss),
    ("aud", "aud names this API", _validate_aud),
    ("exp", "exp has not passed", _validate_exp),
    ("nbf", "nbf has passed", _validate_nbf),
    ("iat", "iat is not in the future", _validate_iat),
    ("claim_types", "sub, client_id, jti, scope are strings", _validate_strings),
)


def apply_rules(rules: Sequence[tuple[str, str, Callable[..., None]]], *args: Any) -> None:
    """Runs each rule on `args`; the first refusal is raised, tagged with its rule's id."""
    for rule_id, _what, rule in rules:
        try:
            rule(*args)
        except InvalidToken as refused:
            refused.rule = rule_id
            raise


def validate_claims(claims: Mapping[str, Any], expected: Expected) -> None:
    apply_rules(CLAIM_RULES, claims, expected)
