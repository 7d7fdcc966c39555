"""`AccessTokenVerifier`: strict verification of RFC 9068 access tokens (RFC 8725 rules).

Security notes:
- The algorithm comes from configuration (RS256) and is bound to each key when the JWKS is
  read; the token's `alg` header only has to agree. Never take the algorithm from the token.
- Keys come only from the configured issuer's JWKS, by `kid`. The `jku`, `x5u`, `jwk` and
  `x5c` headers are never read: a token cannot point at, or carry, its own key.
"""

import base64
import binascii
import json
import re
from types import TracebackType
from typing import Any, Self

import jwt

from shared.access_token import ACCEPTED_TYPES as ACCESS_TOKEN_TYPES
from shared.access_token import ALGORITHM
from shared.clock import Clock, system_clock
from shared.verifier.claims import validate_claims
from shared.verifier.errors import InvalidToken
from shared.verifier.jwks_cache import JwksCache
from shared.verifier.principal import Principal
from shared.verifier.token_cache import VerifiedToken, VerifiedTokenCache

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


def check_header(header: dict[str, Any], algorithms: frozenset[str]) -> str:
    """Applies the header rules; returns the kid."""
    # RFC 8725 §3.1: only algorithms the configuration allows.
    if header.get("alg") not in algorithms:
        raise InvalidToken("the token's algorithm is not allowed")
    # RFC 9068 §4 and RFC 8725 §3.11: explicit typing keeps other JWTs from passing as tokens.
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
        raise InvalidToken("the token's typ is not at+jwt")
    # RFC 7515 §4.1.11: a crit extension we do not understand makes the JWS invalid;
    # we understand none (b64 included).
    if "crit" in header or "b64" in header:
        raise InvalidToken("the token uses critical header extensions")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 256:
        raise InvalidToken("the token has no usable kid")
    return kid


class AccessTokenVerifier:
    def __init__(
        self,
        jwks: JwksCache,
        *,
        audience: str,
        leeway: float = 30,
        clock: Clock = system_clock,
        cache: VerifiedTokenCache | None = None,
        algorithms: frozenset[str] = frozenset({ALGORITHM}),
        max_token_bytes: int = MAX_TOKEN_BYTES,
    ) -> None:
        self.jwks = jwks
        self.issuer = jwks.issuer
        self.audience = audience
        self.leeway = leeway
        self._clock = clock
        self._cache = VerifiedTokenCache() if cache is None else cache
        self._algorithms = algorithms
        self._max_token_bytes = max_token_bytes
        self._jws = jwt.PyJWS(
            algorithms=sorted(algorithms), options={"enforce_minimum_key_length": True}
        )

    async def __aenter__(self) -> Self:
        await self.jwks.__aenter__()
        return self

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self.jwks.__aexit__(*exc)

    def cached(self, token: str) -> Principal | None:
        """The principal of a token verified before, still before its exp and with its key
        still published; None otherwise. No parsing, no signature work."""
        if len(token) > self._max_token_bytes:
            return None
        entry = self._cache.get(token, self._clock())
        if entry is not None and self.jwks.knows(entry.kid):
            return entry.principal
        return None

    async def verify(self, token: str) -> Principal:
        """The token's principal; raises InvalidToken or KeysUnavailable."""
        # Refused before any parsing work, however it is built.
        if len(token) > self._max_token_bytes:
            raise InvalidToken("the token is too long")
        principal = self.cached(token)
        if principal is not None:
            return principal
        header = read_header(token)
        kid = check_header(header, self._algorithms)
        key = await self.jwks.key(kid)
        claims = self._verified_claims(token, key)
        now = self._clock()
        validate_claims(
            claims, now=now, issuer=self.issuer, audience=self.audience, leeway=self.leeway
        )
        principal = Principal.from_claims(claims)
        self._cache.put(token, VerifiedToken(principal, kid))
        return principal

    def _verified_claims(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        try:
            decoded = self._jws.decode_complete(token, key, algorithms=sorted(self._algorithms))
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature does not verify") from None
        except jwt.PyJWTError:
            raise InvalidToken("the token is malformed") from None
        try:
            claims = json.loads(decoded["payload"])
        except (ValueError, RecursionError):
            raise InvalidToken("the token's claims are not valid JSON") from None
        if not isinstance(claims, dict):
            raise InvalidToken("the token's claims are not a JSON object")
        return claims
