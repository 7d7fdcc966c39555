"""`AccessTokenVerifier`: strict verification of RFC 9068 access tokens (RFC 8725 rules),
from one trusted issuer or several.

Security notes:
- The algorithm comes from configuration (RS256) and is bound to each key when the JWKS is
  read; the token's `alg` header only has to agree. Never take the algorithm from the token.
- The token's `iss`, read before any key work, picks one of the configured issuers; a token
  naming any other is refused without a network request. Its keys come only from that
  issuer's JWKS, by `kid`: the signature then proves the `iss` the choice was made on.
- The `jku`, `x5u`, `jwk` and `x5c` headers are never read: a token cannot point at, or
  carry, its own key.
"""

import asyncio
import base64
import binascii
import json
import re
from collections.abc import Callable, Collection, Sequence
from types import TracebackType
from typing import Any, Self

import jwt

from jwtkit._claims import Expected, apply_rules, read_claims, validate_claims
from jwtkit._clock import Clock, system_clock
from jwtkit._errors import InvalidToken
from jwtkit._jwks_cache import JwksCache
from jwtkit._observer import NO_OBSERVER, VerifierObserver
from jwtkit._principal import Principal
from jwtkit._signatures import signature_verifies
from jwtkit._token_cache import VerifiedToken, VerifiedTokenCache
from jwtkit._trusted_issuer import TrustedIssuer
from jwtkit.contract import ACCEPTED_ACCESS_TOKEN_TYPES, DEFAULT_ALGORITHM

MAX_TOKEN_BYTES = 8192
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")


def read_header(token: str) -> dict[str, Any]:
    """The JOSE header, checked before any key or signature work."""
    parts = token.split(".")
    # An empty signature part still parses, so that `alg: none` is refused by the alg rule.
    if (
        len(parts) != 3
        or not all(_B64URL.match(part) for part in parts[:2])
        or (parts[2] and not _B64URL.match(parts[2]))
    ):
        raise InvalidToken("the token is not a signed JWT")
    try:
        raw = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: "[[[[…" nesting
        raise InvalidToken("the token header is not valid JSON") from None
    if not isinstance(header, dict):
        raise InvalidToken("the token header is not a JSON object")
    return header


def _check_alg(header: dict[str, Any], algorithms: frozenset[str]) -> None:
    # RFC 8725 §3.1: only algorithms the configuration allows.
    if header.get("alg") not in algorithms:
        raise InvalidToken("the token's algorithm is not allowed")


def _check_typ(header: dict[str, Any], _algorithms: frozenset[str]) -> None:
    # RFC 9068 §4 and RFC 8725 §3.11: explicit typing keeps other JWTs from passing as tokens.
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ACCEPTED_ACCESS_TOKEN_TYPES:
        raise InvalidToken("the token's typ is not at+jwt")


def _check_crit(header: dict[str, Any], _algorithms: frozenset[str]) -> None:
    # RFC 7515 §4.1.11: a crit extension we do not understand makes the JWS invalid;
    # we understand none (b64 included).
    if "crit" in header or "b64" in header:
        raise InvalidToken("the token uses critical header extensions")


def _check_kid(header: dict[str, Any], _algorithms: frozenset[str]) -> None:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 256:
        raise InvalidToken("the token has no usable kid")


HeaderRule = Callable[[dict[str, Any], frozenset[str]], None]

# (id, what it checks, the check): the id labels metrics and InvalidToken.rule.
HEADER_RULES: tuple[tuple[str, str, HeaderRule], ...] = (
    ("alg", "alg is allowed", _check_alg),
    ("typ", "typ is at+jwt", _check_typ),
    ("crit", "no critical extensions", _check_crit),
    ("kid", "kid names a key", _check_kid),
)


def check_signature(token: str, header: dict[str, Any], key: jwt.PyJWK) -> None:
    """The token's algorithm is its key's, and the signature verifies."""
    # RFC 8725 §3.1: an allowed alg is not enough; it must be the one this key is for (an
    # RS256 header on an EC key, or an HS256 header on any public key, never verifies).
    if header.get("alg") != key.algorithm_name:
        raise InvalidToken("the token's algorithm is not its key's", "alg")
    signing_input, _, signature = token.rpartition(".")
    if not signature_verifies(key, signing_input.encode("ascii"), signature):
        raise InvalidToken("the token's signature does not verify", "signature")


def check_header(header: dict[str, Any], algorithms: frozenset[str]) -> str:
    """Applies the header rules; returns the kid."""
    apply_rules(HEADER_RULES, header, algorithms)
    kid: str = header["kid"]
    return kid


class AccessTokenVerifier:
    """`AccessTokenVerifier(jwks, audience=...)` for one issuer, or
    `AccessTokenVerifier(issuers=[TrustedIssuer(...), ...])` for several."""

    def __init__(
        self,
        jwks: JwksCache | None = None,
        *,
        audience: str | Collection[str] | None = None,
        issuers: Sequence[TrustedIssuer] = (),
        leeway: float = 30,
        clock: Clock = system_clock,
        cache: VerifiedTokenCache | None = None,
        algorithms: Collection[str] = (DEFAULT_ALGORITHM,),
        max_token_bytes: int = MAX_TOKEN_BYTES,
        observer: VerifierObserver = NO_OBSERVER,
    ) -> None:
        if jwks is not None:
            if audience is None or issuers:
                raise ValueError("give a JwksCache and its audience, or `issuers`, not both")
            issuers = [TrustedIssuer(jwks, audience, algorithms)]
        if not issuers:
            raise ValueError("trust at least one issuer")
        self.issuers = {trusted.issuer: trusted for trusted in issuers}
        if len(self.issuers) != len(issuers):
            raise ValueError("each issuer may be trusted once")
        self.leeway = leeway
        self.observer = observer
        self.clock = clock
        self._cache = VerifiedTokenCache() if cache is None else cache
        self.max_token_bytes = max_token_bytes

    @property
    def primary(self) -> TrustedIssuer:
        """The first issuer given: the one a single-issuer app has."""
        return next(iter(self.issuers.values()))

    @property
    def jwks(self) -> JwksCache:
        return self.primary.jwks

    @property
    def issuer(self) -> str:
        return self.primary.issuer

    async def __aenter__(self) -> Self:
        # Concurrently: an issuer that is down costs its fetch timeout once, not once each.
        await asyncio.gather(*(trusted.jwks.__aenter__() for trusted in self.issuers.values()))
        return self

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        for trusted in self.issuers.values():
            await trusted.jwks.__aexit__(*exc)

    def cached(self, token: str) -> Principal | None:
        """The principal of a token verified before, still before its exp and with its key
        still published; None otherwise. No parsing, no signature work."""
        if len(token) > self.max_token_bytes:
            return None
        entry = self._cache.get(token, self.clock())
        if entry is not None and entry.keys.knows(entry.kid):
            return entry.principal
        return None

    async def verify(self, token: str) -> Principal:
        """The token's principal; raises InvalidToken or KeysUnavailable."""
        # Refused before any parsing work, however it is built.
        if len(token) > self.max_token_bytes:
            raise InvalidToken("the token is too long")
        principal = self.cached(token)
        if principal is not None:
            return principal
        return await self.verify_uncached(token)

    async def verify_uncached(self, token: str) -> Principal:
        """`verify` for a token `cached` has just missed (BearerAuth asks it first)."""
        header = read_header(token)
        claims = read_claims(token)
        trusted = self.trusted_issuer(claims)
        kid = check_header(header, trusted.algorithms)
        key = await trusted.jwks.key(kid)
        check_signature(token, header, key)
        validate_claims(claims, self.expected(trusted))
        principal = Principal.from_claims(claims)
        self._cache.put(token, VerifiedToken(principal, kid, trusted.jwks))
        return principal

    def trusted_issuer(self, claims: dict[str, Any]) -> TrustedIssuer:
        """The configured issuer the token names; refused when it names no trusted one."""
        iss = claims.get("iss")
        if iss is None:
            raise InvalidToken("the token has no iss claim", "issuer")
        trusted = self.issuers.get(iss) if isinstance(iss, str) else None
        if trusted is None:
            raise InvalidToken("the token comes from another issuer", "issuer")
        return trusted

    def expected(self, trusted: TrustedIssuer) -> Expected:
        return Expected(self.clock(), trusted.issuer, trusted.audiences, self.leeway)
