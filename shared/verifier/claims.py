"""Claim validation for RFC 9068 access tokens: one small validator per claim.

`now` is taken once by the caller and passed down, so one token is judged at one instant.
"""

import math
from collections.abc import Mapping
from typing import Any

from shared.access_token import REQUIRED_CLAIMS
from shared.verifier.errors import InvalidToken


def _is_number(value: object) -> bool:
    """A JSON number usable as a NumericDate: not a boolean, finite, within float range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range, such as 10**400
        return False


def _validate_required(claims: Mapping[str, Any]) -> None:
    for name in REQUIRED_CLAIMS:
        if name not in claims:
            raise InvalidToken(f"the token has no {name} claim")


def _validate_iss(claims: Mapping[str, Any], issuer: str) -> None:
    # RFC 9068 §4: the iss claim MUST exactly match the issuer identifier.
    if claims["iss"] != issuer:
        raise InvalidToken("the token comes from another issuer")


def _validate_aud(claims: Mapping[str, Any], audience: str) -> None:
    # RFC 9068 §4: the aud claim MUST contain the resource server's identifier.
    aud = claims["aud"]
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or not all(isinstance(item, str) for item in audiences):
        raise InvalidToken("the aud claim is malformed")
    if audience not in audiences:
        raise InvalidToken("the token is meant for another audience")


def _validate_exp(claims: Mapping[str, Any], now: float, leeway: float) -> None:
    exp = claims["exp"]
    if not _is_number(exp):
        raise InvalidToken("the exp claim is not a number")
    # RFC 7519 §4.1.4: the current time MUST be before exp (give or take the leeway).
    if now >= exp + leeway:
        raise InvalidToken("the token has expired")


def _validate_nbf(claims: Mapping[str, Any], now: float, leeway: float) -> None:
    if "nbf" not in claims:
        return
    nbf = claims["nbf"]
    if not _is_number(nbf):
        raise InvalidToken("the nbf claim is not a number")
    if now + leeway < nbf:
        raise InvalidToken("the token is not valid yet")


def _validate_iat(claims: Mapping[str, Any], now: float, leeway: float) -> None:
    iat = claims["iat"]
    if not _is_number(iat):
        raise InvalidToken("the iat claim is not a number")
    if iat > now + leeway:
        raise InvalidToken("the token was issued in the future")


def _validate_strings(claims: Mapping[str, Any]) -> None:
    for name in ("sub", "client_id", "jti"):
        if not isinstance(claims[name], str) or not claims[name]:
            raise InvalidToken(f"the {name} claim is not a non-empty string")
    for name in ("scope", "preferred_username"):
        if name in claims and not isinstance(claims[name], str):
            raise InvalidToken(f"the {name} claim is not a string")


def validate_claims(
    claims: Mapping[str, Any], *, now: float, issuer: str, audience: str, leeway: float
) -> None:
    _validate_required(claims)
    _validate_iss(claims, issuer)
    _validate_aud(claims, audience)
    _validate_exp(claims, now, leeway)
    _validate_nbf(claims, now, leeway)
    _validate_iat(claims, now, leeway)
    _validate_strings(claims)
