"""The issuer's public keys, fetched over HTTP and cached by kid (a `KeySource`).

- Lifetime from the JWKS response's `Cache-Control: max-age`, clamped to the policy's bounds,
  refreshed in the background before it runs out.
- Concurrent fetches share one request (single flight).
- An unknown kid refetches at most once per cooldown; the first one after a quiet period
  refetches at once, so a key the issuer has just published is accepted on first sight. A
  refetch that finds the kid it was made for does not hold the next one back (an attacker's
  made-up kids never do), so keys rotated in quick succession are each accepted at once.
- A refetch that comes back without the kid (a replica behind a load balancer, or a CDN, still
  serving the old set) is tried again in the background after 1, 2 and 4 s: one sequence at a
  time, started only by a refetch the cooldown allowed, so a flood of unknown kids costs at
  most four requests per cooldown. Requests meanwhile are refused at once, never held.
- A failed fetch never drops good keys: they keep verifying up to the maximum stale age.
"""

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx
import jwt

from jwtkit._bounded_body import (
    ACCEPT_ENCODING,
    BodyTooLarge,
    UnsupportedEncoding,
    read_bounded,
)
from jwtkit._clock import Clock, system_clock
from jwtkit._errors import InvalidToken, KeysUnavailable
from jwtkit._keyset import (
    jwks_uri_from_metadata,
    max_age,
    metadata_url,
    parse_jwks,
)
from jwtkit._observer import NO_OBSERVER, VerifierObserver

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class JwksPolicy:
    min_ttl: float = 60
    max_ttl: float = 86400
    refetch_cooldown: float = 30
    max_stale: float = 86400
    fetch_timeout: float = 5
    max_bytes: int = 256 * 1024  # decoded: a compressed body is bounded after inflating
    # Refresh when this fraction of the lifetime has passed, well before it runs out.
    refresh_at: float = 0.8
    max_retry_delay: float = 30
    # After a refetch for an unknown kid that did not bring it: fetch again after these delays.
    unknown_kid_retries: tuple[float, ...] = (1, 2, 4)


class FetchFailed(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Fetched:
    """A response's status, headers and decoded body (never a re-encoded httpx.Response)."""

    status_code: int
    headers: httpx.Headers
    content: bytes


class JwksCache:
    def __init__(
        self,
        issuer: str,
        *,
        jwks_url: str | None = None,
        policy: JwksPolicy = JwksPolicy(),
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = system_clock,
        sleep: Sleep = asyncio.sleep,
        observer: VerifierObserver = NO_OBSERVER,
    ) -> None:
        self.issuer = issuer
        self.observer = observer
        self.policy = policy
        self._jwks_url = jwks_url
        self._transport = transport
        self._clock = clock
        self._sleep = sleep
        self._client: httpx.AsyncClient | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at: float | None = None  # last fetch that gave (or confirmed) a key set
        self._expires_at = float("-inf")
        self._etag: str | None = None
        self._last_demand_fetch = float("-inf")
        self._failures = 0
        self._last_error: str | None = None
        self._inflight: asyncio.Task[bool] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._retrying: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._client = httpx.AsyncClient(
            transport=self._transport,
            timeout=self.policy.fetch_timeout,
            follow_redirects=False,  # keys come from the configured URL, nowhere else
        )
        await self.scheduled_refresh()
        self._refresher = asyncio.create_task(self._refresh_forever())
        return self

    async def __aexit__(
        self, *_exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        for task in (self._refresher, self._retrying, self._inflight):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._client is not None:
            await self._client.aclose()

    @property
    def jwks_url(self) -> str | None:
        """Where the keys come from: configured, or read from discovery (None before that)."""
        return self._jwks_url

    def knows(self, kid: str) -> bool:
        """Whether `kid` is in the current key set (for the verified-token cache)."""
        return kid in self._keys and self._usable(self._clock())

    def key_at_hand(self, kid: str) -> jwt.PyJWK | None:
        """The key from the current set, never fetching: None when the set lacks it."""
        if not self._usable(self._clock()):
            raise KeysUnavailable("the issuer's keys are not available yet")
        return self._keys.get(kid)

    async def key(self, kid: str) -> jwt.PyJWK:
        now = self._clock()
        if self._usable(now) and kid in self._keys:
            return self._keys[kid]  # the background task keeps the set fresh
        await self._refetch_for(kid)
        now = self._clock()
        if not self._usable(now):
            raise KeysUnavailable("the issuer's keys are not available yet")
        if kid not in self._keys:
            raise InvalidToken("the token is signed with an unknown key", "unknown_key")
        return self._keys[kid]

    async def refresh(self) -> bool:
        """Fetches the key set now, on demand (an unknown kid, an operator who knows a key
        changed). It joins a fetch under way, and fetches at most once per cooldown: within
        it, the answer is whether the last fetch worked. True when the keys are fresh."""
        if self._inflight is None:
            now = self._clock()
            if self._cooling_down(now):
                return self._failures == 0 and self._loaded_at is not None
            self._last_demand_fetch = now
        return await asyncio.shield(self._start_refresh())

    async def _refetch_for(self, kid: str) -> None:
        """An unknown kid (or keys past their stale age): `refresh`, and then either forget
        the cooldown (a fetch brought the kid) or, when this call's refetch came back without
        it, retry in the background."""
        if kid in self._keys:
            # Known, only stale: one refetch per cooldown, as before (no storm of refetches
            # while the issuer is down).
            await self.refresh()
            return
        demanded = self._inflight is None and not self._cooling_down(self._clock())
        await self.refresh()
        if kid in self._keys:
            self._last_demand_fetch = float("-inf")  # a useful refetch holds none back
        elif demanded and self._retrying is None:
            logger.info(
                "the issuer's keys came without the token's kid; fetching them again shortly",
                extra={"kid": kid[:64], "retries": list(self.policy.unknown_kid_retries)},
            )
            self._retrying = asyncio.create_task(self._retry_for(kid))
            self._retrying.add_done_callback(self._clear_retrying)

    async def _retry_for(self, kid: str) -> None:
        for delay in self.policy.unknown_kid_retries:
            await self._sleep(delay)
            await self.scheduled_refresh()
            if kid in self._keys:
                self._last_demand_fetch = float("-inf")
                return

    def _clear_retrying(self, _task: asyncio.Task[None]) -> None:
        self._retrying = None

    def _cooling_down(self, now: float) -> bool:
        return now - self._last_demand_fetch < self.policy.refetch_cooldown

    async def scheduled_refresh(self) -> bool:
        """The background task's fetch (at start, before the lifetime runs out, retries after
        a failure): no cooldown, still single flight. True when it worked."""
        return await asyncio.shield(self._start_refresh())

    def status(self) -> dict[str, Any]:
        now = self._clock()
        age = None if self._loaded_at is None else round(now - self._loaded_at, 1)
        return {
            "keys_loaded": self._usable(now),
            "keys": len(self._keys),
            "age_seconds": age,
            "stale": self._loaded_at is not None and now >= self._expires_at,
            "last_error": self._last_error,
        }

    def _usable(self, now: float) -> bool:
        return self._loaded_at is not None and now - self._loaded_at <= self.policy.max_stale

    def _start_refresh(self) -> asyncio.Task[bool]:
        if self._inflight is None:
            self._inflight = asyncio.create_task(self._fetch_and_store())
            self._inflight.add_done_callback(self._clear_inflight)
        return self._inflight

    def _clear_inflight(self, _task: asyncio.Task[bool]) -> None:
        self._inflight = None

    async def _fetch_and_store(self) -> bool:
        try:
            async with asyncio.timeout(self.policy.fetch_timeout):
                await self._fetch()
        except Exception as error:  # any failure at all keeps the last good keys
            self._failures += 1
            self._last_error = str(error) or type(error).__name__
            logger.warning(
                "fetching the issuer's keys failed; keeping the last good key set",
                extra={"error": self._last_error, "keys": len(self._keys)},
            )
            self.observer.jwks_fetch(self.issuer, "error")
            return False
        self._failures = 0
        self._last_error = None
        return True

    async def _fetch(self) -> None:
        if self._jwks_url is None:
            metadata = await self._get(metadata_url(self.issuer))
            self._jwks_url = jwks_uri_from_metadata(metadata.content, self.issuer)
        headers = {"If-None-Match": self._etag} if self._etag and self._keys else {}
        response = await self._get(self._jwks_url, headers, allow_not_modified=True)
        now = self._clock()
        if response.status_code != 304:
            self._keys = parse_jwks(response.content)
            self._etag = response.headers.get("etag")
            logger.info("loaded the issuer's keys", extra={"kids": sorted(self._keys)})
        outcome = "not_modified" if response.status_code == 304 else "ok"
        self.observer.jwks_fetch(self.issuer, outcome)
        self.observer.keys_loaded(self.issuer, now)
        lifetime = max_age(response.headers.get("cache-control"))
        lifetime = self.policy.min_ttl if lifetime is None else lifetime
        self._loaded_at = now
        self._expires_at = now + min(max(lifetime, self.policy.min_ttl), self.policy.max_ttl)

    async def _get(
        self, url: str, headers: dict[str, str] | None = None, *, allow_not_modified: bool = False
    ) -> Fetched:
        assert self._client is not None, "use the JwksCache as an async context manager"
        request_headers = {"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})}
        async with self._client.stream("GET", url, headers=request_headers) as response:
            if response.status_code == 304 and allow_not_modified:
                return Fetched(304, response.headers, b"")
            if response.status_code != 200:
                raise FetchFailed(f"{url} answered HTTP {response.status_code}")
            declared = response.headers.get("content-length", "0")
            if declared.isdigit() and int(declared) > self.policy.max_bytes:
                raise FetchFailed(f"{url} answered more than {self.policy.max_bytes} bytes")
            # Raw bytes, inflated by us with a ceiling (a compressing proxy, or a bomb).
            try:
                body = await read_bounded(
                    response.aiter_raw(),
                    response.headers.get("content-encoding"),
                    self.policy.max_bytes,
                )
            except (BodyTooLarge, UnsupportedEncoding, zlib.error) as error:
                raise FetchFailed(f"{url}: unreadable body ({error})") from None
        return Fetched(200, response.headers, body)

    def next_refresh_delay(self) -> float:
        """Seconds until the background task should fetch again."""
        if self._failures:
            return float(min(2 ** (self._failures - 1), self.policy.max_retry_delay))
        now = self._clock()
        assert self._loaded_at is not None
        lifetime = self._expires_at - self._loaded_at
        return max(0.0, self._loaded_at + lifetime * self.policy.refresh_at - now)

    async def _refresh_forever(self) -> None:
        while True:
            await self._sleep(self.next_refresh_delay())
            await self.scheduled_refresh()
