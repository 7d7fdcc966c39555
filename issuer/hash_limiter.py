"""Password checks on threads of their own, with a bounded wait in front of them.

argon2 is slow and memory-hard on purpose, so a login flood must not be allowed to queue
without bound: it would hold memory (argon2's memory cost per running check), delay every
legitimate login, and, on a shared thread pool, stall everything else that uses threads
(database access, readiness, the key refresher). Here:

- at most `concurrency` checks run at once, on this limiter's own threads, so peak memory is
  about concurrency x argon2 memory plus the process's baseline;
- a request whose expected wait is longer than `queue_timeout` is not queued: it is refused at
  once, without hashing (the caller answers 503 with Retry-After);
- one client address may hold at most half the queue, so a flood from one address leaves room
  for everyone else;
- a check that still waited too long when its turn comes is dropped, not run;
- the check threads run at a lower CPU priority (nice +10) than the rest of the process, so
  that on a saturated core the event loop (JWKS, discovery, health) is scheduled first.
"""

import asyncio
import contextlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from shared.clock import Clock

T = TypeVar("T")

# How much a new duration moves the running estimate of one check's duration.
_SMOOTHING = 0.2
PASSWORD_CHECK_NICENESS = 10


class PasswordChecksBusy(Exception):
    """The queue is full (or this address holds its share of it): retry after `retry_after`."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"password checks are busy; retry after {retry_after:.1f} s")
        self.retry_after = retry_after


class HashLimiter:
    def __init__(
        self,
        concurrency: int,
        queue_timeout: float,
        *,
        estimate: float,
        monotonic: Clock = time.monotonic,
    ) -> None:
        """`estimate`: one check's duration in seconds, before any has been measured."""
        self.concurrency = concurrency
        self.queue_timeout = queue_timeout
        self._estimate = max(estimate, 0.001)
        self._monotonic = monotonic
        self._executor = ThreadPoolExecutor(
            concurrency, thread_name_prefix="password-check", initializer=_lower_priority
        )
        self._pending = 0  # admitted, not finished: running plus waiting
        self._by_address: Counter[str] = Counter()

    @property
    def in_flight(self) -> int:
        return self._pending

    @property
    def capacity(self) -> int:
        """How many checks may be running or waiting at once, from the measured duration."""
        return self.concurrency + int(self.queue_timeout / self._estimate * self.concurrency)

    def expected_wait(self) -> float:
        """Seconds a check admitted now would wait before it starts."""
        ahead = max(0, self._pending - self.concurrency + 1)
        return ahead / self.concurrency * self._estimate

    async def run(self, check: Callable[[], T], address: str) -> T:
        self._admit(address)
        self._pending += 1
        self._by_address[address] += 1
        admitted_at = self._monotonic()
        try:
            future = self._executor.submit(self._timed, check, admitted_at)
            return await asyncio.wrap_future(future)
        finally:
            self._pending -= 1
            self._by_address[address] -= 1
            if not self._by_address[address]:
                del self._by_address[address]

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def admissible(self, address: str) -> None:
        """Raises PasswordChecksBusy now if a check from `address` would be refused, so that a
        caller can refuse before doing any other work for the request."""
        self._admit(address)

    def _admit(self, address: str) -> None:
        wait = self.expected_wait()
        if wait > self.queue_timeout:
            raise PasswordChecksBusy(wait)
        if self._by_address[address] >= max(1, self.capacity // 2):
            raise PasswordChecksBusy(max(wait, self._estimate))

    def _timed(self, check: Callable[[], T], admitted_at: float) -> T:
        started = self._monotonic()
        if started - admitted_at > self.queue_timeout:
            raise PasswordChecksBusy(self._estimate)
        try:
            return check()
        finally:
            took = self._monotonic() - started
            self._estimate = max(0.001, self._estimate + _SMOOTHING * (took - self._estimate))


def _lower_priority() -> None:
    # Linux: a thread's nice value is set through its own id; raising it needs no privilege.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), PASSWORD_CHECK_NICENESS)
