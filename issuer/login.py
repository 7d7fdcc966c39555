"""Checking a user's password at the token endpoint, safely under attack.

    throttle (database: refused without hashing when over the limits)
    → find the user (a short database read)
    → argon2 on the bounded password-check threads (no database connection held)
    → success forgets the counted attempt; failure leaves it counted

Every refusal is an RFC 6749 error: 429 when throttled, 503 when the check queue is full or
the database fails, invalid_grant for a wrong password or unknown user (the same answer).
"""

import logging
from functools import partial

import anyio.to_thread
from sqlalchemy.exc import SQLAlchemyError

from issuer.errors import InvalidGrant, TemporarilyUnavailable, TooManyAttempts
from issuer.hash_limiter import HashLimiter, PasswordChecksBusy
from issuer.throttle import Attempt, LoginThrottle, Throttled
from issuer.users import MAX_PASSWORD_LENGTH, StoredCredentials, User, UserStore
from shared.clock import Clock

logger = logging.getLogger(__name__)


class PasswordLogin:
    def __init__(
        self, users: UserStore, throttle: LoginThrottle, limiter: HashLimiter, clock: Clock
    ) -> None:
        self._users = users
        self._throttle = throttle
        self._limiter = limiter
        self._clock = clock

    async def authenticate(self, username: str, password: str, address: str) -> User:
        if len(password) > MAX_PASSWORD_LENGTH:
            raise InvalidGrant("invalid username or password")
        try:
            return await self._authenticate(username, password, address)
        except SQLAlchemyError:
            logger.exception("the user store failed")
            raise TemporarilyUnavailable(
                "the user store is unavailable; try again shortly"
            ) from None

    async def _authenticate(self, username: str, password: str, address: str) -> User:
        try:
            attempt = await anyio.to_thread.run_sync(
                self._throttle.begin, username, address, self._clock()
            )
        except Throttled as throttled:
            raise TooManyAttempts(
                "too many failed attempts; try again later", retry_after=throttled.retry_after
            ) from None
        found = await anyio.to_thread.run_sync(self._users.find, username)
        try:
            user = await self._limiter.run(partial(self._users.verify, found, password), address)
        except PasswordChecksBusy as busy:
            await self._forget(attempt)
            raise TemporarilyUnavailable(
                "the issuer is busy checking passwords; try again shortly",
                retry_after=busy.retry_after,
            ) from None
        if user is None or found is None:
            raise InvalidGrant("invalid username or password")
        await self._forget(attempt)
        await self._upgrade_hash(found, password, address)
        return user

    async def _forget(self, attempt: Attempt) -> None:
        await anyio.to_thread.run_sync(self._throttle.forget, attempt)

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
        await anyio.to_thread.run_sync(self._users.store_hash, found.user.id, new_hash)
