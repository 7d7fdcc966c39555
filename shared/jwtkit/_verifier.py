"""`AccessTokenVerifier`: strict verification of RFC 9068 access tokens (RFC 8725 rules),
from one trusted issuer or several.

Security notes:
- The algorithm comes from configuration (jwtkit.contract.DEFAULT_ALGORITHM unless told) and
  is bound to each key when the JWKS is read; the token's `alg` header only has to agree.
  Never take the algorithm from the token.
- The token's `iss`, read before any key work, picks one of the configured issuers; a token
  naming any other is refused without a network request. Its keys come only from that
  issuer's key source, by `kid`: the signature then proves the `iss` the choice was made on.
- The steps and their order are jwtkit._pipeline's, the same for `verify`, BearerAuth and
  the inspector.
- The `jku`, `x5u`, `jwk` and `x5c` headers are never read: a token cannot point at, or
  carry, its own key.
"""

import asyncio
from collections.abc import Callable, Collection, Sequence
from types import TracebackType
from typing import Any, Literal, Self

from jwtkit._claims import Expected
from jwtkit._clock import Clock, system_clock
from jwtkit._jwks_cache import JwksCache
from jwtkit._key_source import KeySource
from jwtkit._observer import NO_OBSERVER, VerifierObserver
from jwtkit._pipeline import Verification, run, run_at_hand
from jwtkit._principal import Principal
from jwtkit._token_cache import VerifiedToken, VerifiedTokenCache
from jwtkit._trusted_issuer import TrustedIssuer, _Audience, named_issuer
from jwtkit.contract import DEFAULT_ALGORITHM

MAX_TOKEN_BYTES = 8192


class AccessTokenVerifier:
    """`AccessTokenVerifier(jwks, audience=...)` for one issuer, or
    `AccessTokenVerifier(issuers=[TrustedIssuer(...), ...])` for several. The keys come from
    a `KeySource`: a `JwksCache` (over HTTP), or an `InMemoryJwks` (a document at hand)."""

    def __init__(
        self,
        jwks: KeySource | None = None,
        *,
        audience: str | Collection[str] | Literal[_Audience.ANY] | None = None,
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
        self._primary = next(iter(self.issuers.values()))

    @property
    def primary(self) -> TrustedIssuer:
        """The first issuer given: the one a single-issuer app has."""
        return self._primary

    @property
    def jwks(self) -> JwksCache:
        """The first issuer's JwksCache (TypeError when its keys come from elsewhere)."""
        return self.primary.jwks

    @property
    def issuer(self) -> str:
        return self.primary.issuer

    async def __aenter__(self) -> Self:
        # Concurrently: an issuer that is down costs its fetch timeout once, not once each.
        await asyncio.gather(*(trusted.keys.__aenter__() for trusted in self.issuers.values()))
        return self

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        for trusted in self.issuers.values():
            await trusted.keys.__aexit__(*exc)

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
        principal = self.cached(token)
        if principal is not None:
            return principal
        return await self.verify_uncached(token)

    async def verify_uncached(
        self, token: str, *, screen: Callable[[str], None] | None = None
    ) -> Principal:
        """`verify` for a token `cached` has just missed (BearerAuth asks it first).
        `screen`: a check of the caller's, run once the length is known to be sane."""
        verification = Verification(self, token, screen)
        await run(verification)
        principal = Principal.from_claims(verification.claims)
        self._cache.put(
            token, VerifiedToken(principal, verification.kid, verification.trusted.keys)
        )
        return principal

    def verify_at(self, token: str, now: float) -> Principal:
        """The token's principal as judged at `now`, synchronously, with the keys the sources
        hold at hand (never fetched: a kid they lack is an unknown key). For keys in this
        process (`InMemoryJwks`): the issuer's own introspection, from a worker thread. The
        verified-token cache is neither read nor written."""
        verification = Verification(self, token, now=now)
        run_at_hand(verification)
        return Principal.from_claims(verification.claims)

    def trusted_issuer(self, claims: dict[str, Any]) -> TrustedIssuer:
        """The configured issuer the token names; refused when it names no trusted one."""
        return named_issuer(self.issuers, claims)

    def expected(self, trusted: TrustedIssuer, now: float | None = None) -> Expected:
        """What a token from `trusted` must claim, at `now` (default: the clock, read now)."""
        audiences = None if trusted.any_audience else trusted.audiences
        moment = self.clock() if now is None else now
        return Expected(moment, trusted.issuer, audiences, self.leeway)
