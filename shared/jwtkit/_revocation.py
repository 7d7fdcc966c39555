"""Opt-in revocation checks: ask the issuer (RFC 7662 introspection) whether a token is still
active, for endpoints where a revoked token must stop working at once.

The trade-off, in one line: a verified JWT is good until its `exp` (up to 15 minutes after a
revocation); checking revocation closes that window at the price of a call to the issuer per
token per `positive_ttl`, and of availability: when the issuer cannot answer, the endpoint
answers 503 (it fails closed). Use it on the few endpoints that need it, not on every one.

A positive answer is kept for `positive_ttl` seconds (never past the token's exp); a negative
one is not cached, since it is final: the request is refused.
"""

import time
from types import TracebackType
from typing import Any, Self

import httpx

from jwtkit._clock import Clock
from jwtkit._errors import InvalidToken, RevocationUnavailable
from jwtkit._principal import Principal


class RevocationCheck:
    def __init__(
        self,
        introspection_url: str,
        client_id: str,
        client_secret: str,
        *,
        positive_ttl: float = 30,
        timeout: float = 5,
        max_entries: int = 10_000,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._url = introspection_url
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._positive_ttl = positive_ttl
        self._max_entries = max_entries
        self._clock = clock
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)
        self._active_until: dict[str, float] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, *_exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self._client.aclose()

    async def ensure_active(self, token: str, principal: Principal) -> None:
        """Raises InvalidToken when the issuer says the token is no longer active."""
        now = self._clock()
        if self._active_until.get(token, float("-inf")) > now:
            return
        answer = await self._introspect(token)
        if answer.get("active") is not True:
            self._active_until.pop(token, None)
            raise InvalidToken("the token has been revoked", "revoked")
        if len(self._active_until) >= self._max_entries:
            self._active_until.clear()  # crude but bounded; entries are short-lived anyway
        self._active_until[token] = min(now + self._positive_ttl, principal.expires_at)

    async def _introspect(self, token: str) -> dict[str, Any]:
        try:
            response = await self._client.post(self._url, data={"token": token}, auth=self._auth)
            if response.status_code != 200:
                raise RevocationUnavailable("the issuer's introspection answered an error")
            answer: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError):
            raise RevocationUnavailable(
                "the issuer cannot say whether the token is revoked"
            ) from None
        return answer
