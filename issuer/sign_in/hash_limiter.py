"""Password checks on threads of their own, with a bounded, fair wait in front of them.

argon2 is slow and memory-hard on purpose, so a login flood must not be allowed to queue
without bound: it would hold memory (argon2's memory cost per running check), delay every
legitimate login, and, on a shared thread pool, stall everything else that uses threads
(database access, readiness, the key refresher). Here:

- at most `concurrency` checks run at once, on this limiter's own threads, so peak memory is
  about concurrency x argon2 memory plus the process's baseline;
- waiting checks are served round-robin by network (/24 or /64), then by address within it
  (issuer/sign_in/fair_queue.py), so a flood from a few addresses cannot push everyone else out: a
  login from an address that is not flooding waits for at most about one check per active
  network;
- checks from an address whose password check failed in the last `FAILURE_MEMORY` seconds
  (the caller says so with `failed`; for IPv6 its whole /64) wait in a second lane, served
  only when the first is empty: a guesser's next guess waits behind every login from an
  address that has not been guessing, so a real user waits for about one check per *other
  such* network, not one per flooder. Both lanes are round-robin. Memory is per process and
  bounded (the oldest entries go first); it only orders the queue, it limits nothing;
- a request whose expected wait (the checks that round-robin serves before it, divided by
  `concurrency`, times the running estimate of one check's duration) is longer than
  `queue_timeout` is not queued: it is refused at once, without hashing (the caller answers
  503 with Retry-After). An address's own queue is bounded by this: the more it has waiting,
  the longer its next check would wait, while a fresh address is still admitted;
- a check that still waited too long when its turn comes is dropped, not run (the estimate was
  wrong, or fresh addresses were served before it);
- the check threads run at a lower CPU priority (nice +10) than the rest of the process, so
  that on a saturated core the event loop (JWKS, discovery, health) is scheduled first.

The queue is touched only on the event loop; a check's thread hands its slot back through the
loop when it ends, so a cancelled request never lets more than `concurrency` checks run.
"""

import asyncio
import contextlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from issuer.sign_in.client_address import network_of
from issuer.sign_in.fair_queue import FairQueue
from jwtkit import Clock

T = TypeVar("T")

# How much a new duration moves the running estimate of one check's duration.
_SMOOTHING = 0.2
PASSWORD_CHECK_NICENESS = 10
# How long a failed check sends its address's checks to the second lane, and how many such
# addresses one process remembers.
FAILURE_MEMORY = 10 * 60
FAILURE_MEMORY_SIZE = 65_536


class PasswordChecksBusy(Exception):
    """The check would wait longer than the queue timeout: retry after `retry_after`."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"password checks are busy; retry after {retry_after:.1f} s")
        self.retry_after = retry_after


@dataclass(eq=False, slots=True)
class _Waiting(Generic[T]):
    check: Callable[[], T]
    network: str
    address: str
    admitted_at: float
    # Set when its turn comes: the running check's future, or PasswordChecksBusy if dropped.
    turn: "asyncio.Future[Future[T]]" = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


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
        self._running = 0  # checks on the threads (a slot each), at most `concurrency`
        # Waiting checks, in two lanes: from addresses without recent failures, served first;
        # and from those with.
        self._first_lane: FairQueue[_Waiting[Any]] = FairQueue()
        self._second_lane: FairQueue[_Waiting[Any]] = FairQueue()
        self._failed_at: OrderedDict[str, float] = OrderedDict()  # oldest first

    @property
    def in_flight(self) -> int:
        """Admitted, not finished: running plus waiting."""
        return self._running + len(self._first_lane) + len(self._second_lane)

    @property
    def capacity(self) -> int:
        """How many checks one address alone may have running or waiting, from the measured
        duration; more addresses share about the same number between them."""
        return self.concurrency + int(self.queue_timeout / self._estimate * self.concurrency)

    def expected_wait(self, address: str) -> float:
        """Seconds a check from `address` admitted now would wait before it starts."""
        network, lane = _network(address), self._lane(address)
        ahead = lane.ahead_of_new(network, address)
        if lane is self._second_lane:
            ahead += len(self._first_lane)
        starts_after = max(0, self._running + ahead - self.concurrency + 1)
        return starts_after / self.concurrency * self._estimate

    async def run(self, check: Callable[[], T], address: str) -> T:
        self._admit(address)
        lane = self._lane(address)
        if self._running < self.concurrency and not self._waiting():
            # Nothing waits ahead of it: it starts now, and no timeout can drop it.
            return await asyncio.wrap_future(self._start(check))
        waiting = _Waiting(check, _network(address), address, self._monotonic())
        lane.push(waiting.network, address, waiting)
        self._dispatch()
        try:
            running = await waiting.turn
        except asyncio.CancelledError:
            # Gone before its turn: out of the queue. (Once started, a check runs to its end
            # on its thread and keeps its slot until then.)
            lane.discard(waiting.network, address, waiting)
            raise
        result: T = await asyncio.wrap_future(running)
        return result

    def shutdown(self) -> None:
        for lane in (self._first_lane, self._second_lane):
            while (waiting := lane.pop()) is not None:
                if not waiting.turn.done():
                    waiting.turn.set_exception(PasswordChecksBusy(self._estimate))
        self._executor.shutdown(wait=False, cancel_futures=True)

    def failed(self, address: str) -> None:
        """The check from `address` failed (a wrong password or unknown user): its next
        checks wait in the second lane for FAILURE_MEMORY seconds."""
        who = _who(address)
        self._failed_at[who] = self._monotonic()
        self._failed_at.move_to_end(who)
        while len(self._failed_at) > FAILURE_MEMORY_SIZE:
            self._failed_at.popitem(last=False)

    def admissible(self, address: str) -> None:
        """Raises PasswordChecksBusy now if a check from `address` would be refused, so that a
        caller can refuse before doing any other work for the request."""
        self._admit(address)

    def _admit(self, address: str) -> None:
        wait = self.expected_wait(address)
        if wait > self.queue_timeout:
            raise PasswordChecksBusy(max(wait, self._estimate))

    def _lane(self, address: str) -> FairQueue[_Waiting[Any]]:
        failed_at = self._failed_at.get(_who(address))
        if failed_at is not None and self._monotonic() - failed_at < FAILURE_MEMORY:
            return self._second_lane
        return self._first_lane

    def _waiting(self) -> bool:
        return bool(self._first_lane or self._second_lane)

    def _dispatch(self) -> None:
        """Starts waiting checks, in turn, while a thread is free."""
        while self._running < self.concurrency:
            waiting = self._first_lane.pop() or self._second_lane.pop()
            if waiting is None:
                return
            if waiting.turn.done():  # cancelled
                continue
            if self._monotonic() - waiting.admitted_at > self.queue_timeout:
                waiting.turn.set_exception(PasswordChecksBusy(self._estimate))
                continue
            waiting.turn.set_result(self._start(waiting.check))

    def _start(self, check: Callable[[], T]) -> "Future[T]":
        loop = asyncio.get_running_loop()
        self._running += 1
        running = self._executor.submit(self._timed, check)
        running.add_done_callback(lambda _: _call_soon(loop, self._finished))
        return running

    def _finished(self) -> None:
        self._running -= 1
        self._dispatch()

    def _timed(self, check: Callable[[], T]) -> T:
        started = self._monotonic()
        try:
            return check()
        finally:
            took = self._monotonic() - started
            self._estimate = max(0.001, self._estimate + _SMOOTHING * (took - self._estimate))


def _network(address: str) -> str:
    return network_of(address) or address  # `unknown` is a network of its own


def _who(address: str) -> str:
    """Whose failures an address's are: the address, or for IPv6 its /64 (one subscriber's,
    who can take any address in it)."""
    network = network_of(address)
    return network if network is not None and ":" in network else address


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    with contextlib.suppress(RuntimeError):  # the loop has closed: nothing waits any more
        loop.call_soon_threadsafe(callback)


def _lower_priority() -> None:
    # Linux: a thread's nice value is set through its own id; raising it needs no privilege.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), PASSWORD_CHECK_NICENESS)
