"""The password-check limiter: its own threads, a bounded queue, a fair share per address."""

import asyncio
import threading
from collections.abc import Callable

import pytest

from issuer.hash_limiter import HashLimiter, PasswordChecksBusy
from shared.clock import FakeClock

pytestmark = pytest.mark.anyio


class HeldChecks:
    """Password checks that block until released, counting how many ran."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = 0

    def check(self) -> Callable[[], str]:
        def run() -> str:
            self.started += 1
            self.release.wait(timeout=30)
            return "checked"

        return run


async def _admitted(limiter: HashLimiter, count: int) -> None:
    while limiter.in_flight < count:
        await asyncio.sleep(0)


async def test_full_queue_is_refused_at_once_without_hashing() -> None:
    """With the queue full (one check running, two waiting: their expected wait reaches the
    timeout), the next request is refused with a Retry-After and its check never runs."""
    limiter = HashLimiter(1, queue_timeout=2, estimate=1)
    held = HeldChecks()
    running = [asyncio.create_task(limiter.run(held.check(), f"127.0.0.{n}")) for n in (1, 2, 3)]
    await _admitted(limiter, 3)
    with pytest.raises(PasswordChecksBusy) as busy:
        await limiter.run(held.check(), "127.0.0.4")
    assert busy.value.retry_after > 2
    held.release.set()
    assert ["checked"] * 3 == await asyncio.gather(*running)
    assert 3 == held.started
    limiter.shutdown()


async def test_one_address_holds_at_most_half_the_queue() -> None:
    """A flood from one address fills half the queue; another address is still admitted."""
    limiter = HashLimiter(2, queue_timeout=2, estimate=0.5)
    assert 10 == limiter.capacity
    held = HeldChecks()
    flood = [asyncio.create_task(limiter.run(held.check(), "127.0.0.1")) for _ in range(5)]
    await _admitted(limiter, 5)
    with pytest.raises(PasswordChecksBusy):
        await limiter.run(held.check(), "127.0.0.1")
    legitimate = asyncio.create_task(limiter.run(held.check(), "127.0.0.3"))
    await _admitted(limiter, 6)
    held.release.set()
    assert "checked" == await legitimate
    await asyncio.gather(*flood)
    limiter.shutdown()


async def test_check_that_waited_too_long_is_dropped() -> None:
    """If a check's turn comes after the queue timeout (the estimate was wrong), it is
    refused without hashing."""
    monotonic = FakeClock(0)
    limiter = HashLimiter(1, queue_timeout=2, estimate=0.1, monotonic=monotonic)
    held = HeldChecks()
    first = asyncio.create_task(limiter.run(held.check(), "127.0.0.1"))
    late = asyncio.create_task(limiter.run(held.check(), "127.0.0.2"))
    await _admitted(limiter, 2)
    while held.started < 1:
        await asyncio.sleep(0)
    monotonic.advance(3)
    held.release.set()
    assert "checked" == await first
    with pytest.raises(PasswordChecksBusy):
        await late
    assert 1 == held.started
    limiter.shutdown()
