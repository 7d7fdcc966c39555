"""`IdTokenVerifier`: an app that signs users in with OpenID Connect checks the ID token it got
from the token endpoint (Core 1.0 §3.1.3.7), and the issuer checks an `id_token_hint`.

Security notes:
- The keys, the algorithm pinning and the header steps are the access token verifier's
  (jwtkit._pipeline): the algorithm comes from configuration and is bound to each key, `crit`
  is refused, the key is found by `kid` in the issuer's own key source only.
- `typ` keeps the kinds of token apart (RFC 8725 §3.11): an access token (at+jwt) or a logout
  token (logout+jwt) is never an ID token, and AccessTokenVerifier refuses an ID token (typ
  JWT, and an `aud` that is a client id, not the API).
- `nonce` is compared with the one this sign-in sent: pass it, or an ID token replayed from
  another sign-in passes. One that arrives when none was sent is refused.
"""

from collections.abc import Collection
from types import TracebackType
from typing import Any, Self

from jwtkit._claims import Expected
from jwtkit._clock import Clock, system_clock
from jwtkit._id_token_claims import ID_TOKEN, ID_TOKEN_HINT
from jwtkit._key_source import KeySource
from jwtkit._pipeline import Pipeline, Verification, run
from jwtkit._trusted_issuer import TrustedIssuer, named_issuer
from jwtkit._verifier import MAX_TOKEN_BYTES
from jwtkit.contract import DEFAULT_ALGORITHM


class IdTokenVerifier:
    """`IdTokenVerifier(jwks, client_id=...)`: ID tokens from the issuer whose keys `jwks`
    holds (a `JwksCache` over HTTP, an `InMemoryJwks`), for the client `client_id`."""

    def __init__(
        self,
        jwks: KeySource,
        *,
        client_id: str,
        algorithms: Collection[str] = (DEFAULT_ALGORITHM,),
        leeway: float = 30,
        clock: Clock = system_clock,
        max_token_bytes: int = MAX_TOKEN_BYTES,
    ) -> None:
        if not client_id:
            raise ValueError("name the client the ID tokens are for")
        self.client_id = client_id
        self._trusted = TrustedIssuer(jwks, client_id, algorithms)
        self.leeway = leeway
        self.clock = clock
        self.max_token_bytes = max_token_bytes

    @property
    def primary(self) -> TrustedIssuer:
        return self._trusted

    @property
    def issuer(self) -> str:
        return self._trusted.issuer

    async def __aenter__(self) -> Self:
        await self._trusted.keys.__aenter__()
        return self

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self._trusted.keys.__aexit__(*exc)

    async def verify(
        self,
        token: str,
        *,
        nonce: str | None = None,
        max_age: float | None = None,
        access_token: str | None = None,
    ) -> dict[str, Any]:
        """The ID token's claims, once every rule of Core §3.1.3.7 holds: `nonce` is the one
        the authentication request sent (None: none was, and the token must carry none);
        `max_age` the one it asked for (auth_time then required and recent enough);
        `access_token` the one issued with it (at_hash then required and equal). Raises
        InvalidToken (its `rule` says which failed) or KeysUnavailable."""
        if max_age is not None and max_age < 0:
            raise ValueError("max_age is a number of seconds, not negative")

        def expect(trusted: TrustedIssuer, now: float | None) -> Expected:
            expected = self.expected(trusted, now)
            return Expected(
                expected.now,
                expected.issuer,
                expected.audiences,
                expected.leeway,
                client_id=self.client_id,
                nonce=nonce,
                max_age=max_age,
                access_token=access_token,
            )

        return await self._run(Verification(self, token, expect=expect), ID_TOKEN)

    async def verify_hint(self, token: str) -> dict[str, Any]:
        """The claims of an ID token given back as a hint (`id_token_hint` at /authorize and
        at the end-session endpoint): signed by the issuer, for this client, whatever its
        expiry (RP-Initiated Logout 1.0 §2: the OP "SHOULD accept ID Tokens when the RP
        identified by the ID Token's audience claim and/or sid claim has a current session
        or had a recent session at the OP, even when the exp time has passed")."""
        return await self._run(Verification(self, token), ID_TOKEN_HINT)

    async def _run(self, verification: Verification, steps: Pipeline) -> dict[str, Any]:
        await run(verification, steps)
        return dict(verification.claims)

    def trusted_issuer(self, claims: dict[str, Any]) -> TrustedIssuer:
        return named_issuer({self.issuer: self._trusted}, claims)

    def expected(self, trusted: TrustedIssuer, now: float | None = None) -> Expected:
        moment = self.clock() if now is None else now
        return Expected(
            moment, trusted.issuer, trusted.audiences, self.leeway, client_id=self.client_id
        )

    def __repr__(self) -> str:
        return f"IdTokenVerifier({self.issuer!r}, client_id={self.client_id!r})"
