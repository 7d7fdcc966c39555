"""Checking a user's password at the token endpoint, safely under attack.

    throttle (database: refused without hashing when over the limits)
    → find the user (a short database read)
    → argon2 on the bounded password-check threads (no database connection held)
    → success forgets the counted attempt; failure leaves it counted

Every refusal is an RFC 6749 error: 429 when throttled, 503 when the check queue is full or
the database fails, invalid_grant for a wrong password or unknown user (the same answer).
"""

import logging
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread

from issuer.accounts.users import MAX_PASSWORD_LENGTH, StoredCredentials, User, UserStore
from issuer.errors import InvalidGrant, TemporarilyUnavailable, TooManyAttempts
from issuer.metrics import PASSWORD_CHECKS_IN_FLIGHT, PASSWORD_CHECKS_REJECTED, THROTTLED
from issuer.sign_in.hash_limiter import HashLimiter, PasswordChecksBusy
from issuer.sign_in.throttle import Attempt, LoginThrottle, Throttled
from issuer.store.failures import unavailable_when_the_database_fails

logger = logging.getLogger("issuer.login")  # the name logs have always carried

T = TypeVar("T")
DATABASE_THREADS = 4


class PasswordLogin:
    def __init__(self, users: UserStore, throttle: LoginThrottle, limiter: HashLimiter) -> None:
        self._users = users
        self._throttle = throttle
        self._limiter = limiter
        self._db_threads = anyio.CapacityLimiter(DATABASE_THREADS)

    async def authenticate(self, username: str, password: str, address: str, now: float) -> User:
        """The user, at `now` (the request's reading of the clock, for the throttle)."""
        if len(password) > MAX_PASSWORD_LENGTH:
            raise InvalidGrant("invalid username or password")
        with unavailable_when_the_database_fails(
            "the user store is unavailable; try again shortly",
            log=logger,
            message="the user store failed",
        ):
            return await self._authenticate(username, password, address, now)

    async def _authenticate(self, username: str, password: str, address: str, now: float) -> User:
        try:
            # A request the check queue would refuse is refused before any database work.
            self._limiter.admissible(address)
        except PasswordChecksBusy as busy:
            raise _busy(busy) from None
        try:
            attempt = await self._db(self._throttle.begin, username, address, now)
        except Throttled as throttled:
            THROTTLED.inc()
            raise TooManyAttempts(
                "too many failed attempts; try again later", retry_after=throttled.retry_after
            ) from None
        found = await self._db(self._users.find, username)
        try:
            with PASSWORD_CHECKS_IN_FLIGHT.track_inprogress():
                user = await self._limiter.run(
                    partial(self._users.verify, found, password), address
                )
        except PasswordChecksBusy as busy:
            await self._forget(attempt)
            raise _busy(busy) from None
        if user is None or found is None:
            self._limiter.failed(address)  # its next checks queue behind other addresses'
            raise InvalidGrant("invalid username or password")
        await self._forget(attempt)
        await self._upgrade_hash(found, password, address)
        return user

    async def _db(self, call: Callable[..., T], *args: Any) -> T:
        """Database work for logins, on a few threads: a flood's many short queries then
        never queue a crowd of threads for the GIL ahead of the event loop."""
        return await anyio.to_thread.run_sync(call, *args, limiter=self._db_threads)

    async def _forget(self, attempt: Attempt) -> None:
        await self._db(self._throttle.forget, attempt)

    async def _upgrade_hash(self, found: StoredCredentials, password: str, address: str) -> None:
        """Rehash with the configured parameters while we hold the plain password; when the
        check threads are busy, the next login does it."""
        if not self._users.needs_rehash(found):
            return
        try:
            new_hash = await self._limiter.run(
                partial(self._users.hash_password, password), address
            )
        except PasswordChecksBusy:
            return
        await self._db(self._users.store_hash, found.user.id, new_hash)


def _busy(busy: PasswordChecksBusy) -> TemporarilyUnavailable:
    PASSWORD_CHECKS_REJECTED.inc()
    return TemporarilyUnavailable(
        "the issuer is busy checking passwords; try again shortly", retry_after=busy.retry_after
    )
