"""The password-check limiter: its own threads, a bounded queue served round-robin by network
and address, guessers after everyone else."""

import asyncio
import itertools
import threading
from collections.abc import Callable
from typing import Any

import pytest

from issuer.sign_in.hash_limiter import FAILURE_MEMORY, HashLimiter, PasswordChecksBusy
from jwtkit.testing import FakeClock
from tests.waiting import until

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
    """Lets tasks just created run to their first wait, then checks they were all admitted
    (a task is admitted or refused in its first step, before it waits for anything)."""
    await asyncio.sleep(0)
    assert count == limiter.in_flight


async def _flood(
    limiter: HashLimiter, held: HeldChecks, address: str, attempts: int
) -> list["asyncio.Task[str]"]:
    """Checks from `address` until one is refused (or `attempts` were made): the admitted."""
    admitted = []
    for _ in range(attempts):
        task = asyncio.create_task(limiter.run(held.check(), address))
        await asyncio.sleep(0)  # its first step: admitted (then waiting) or refused (done)
        if task.done():
            with pytest.raises(PasswordChecksBusy):
                task.result()
            break
        admitted.append(task)
    return admitted


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


async def test_one_address_is_bounded_by_the_queue_timeout_and_others_still_admitted() -> None:
    """A flood from one address fills the queue up to what the timeout allows, and no
    further; another address is still admitted."""
    limiter = HashLimiter(2, queue_timeout=2, estimate=0.5)
    assert 10 == limiter.capacity
    held = HeldChecks()
    flood = await _flood(limiter, held, "127.0.0.1", 11)
    assert 10 == len(flood)
    with pytest.raises(PasswordChecksBusy):
        limiter.admissible("127.0.0.1")
    legitimate = asyncio.create_task(limiter.run(held.check(), "127.0.1.3"))
    await _admitted(limiter, 11)
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
    await until(lambda: held.started >= 1, first)
    monotonic.advance(3)
    held.release.set()
    assert "checked" == await first
    with pytest.raises(PasswordChecksBusy):
        await late
    assert 1 == held.started
    limiter.shutdown()


class Gate:
    """Password checks that each wait for a permit, so a test lets them end one at a time;
    each returns its label, and the labels are recorded in the order the checks ended."""

    def __init__(self) -> None:
        self.permits = threading.Semaphore(0)
        self.ended: list[str] = []

    def check(self, label: str) -> Callable[[], str]:
        def run() -> str:
            if not self.permits.acquire(timeout=30):
                raise TimeoutError("the test never let this check end")
            self.ended.append(label)
            return label

        return run

    def open(self) -> None:
        for _ in range(1000):
            self.permits.release()


async def _one_ends(gate: Gate, tasks: "set[asyncio.Task[str]]") -> "asyncio.Task[str]":
    """Lets one running check end and returns the task that ended (bounded)."""
    gate.permits.release()
    done, _ = await asyncio.wait(tasks, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    assert done, "no check ended within 10 s"
    tasks.difference_update(done)
    return done.pop()


async def _queued(limiter: HashLimiter, gate: Gate, checks: list[tuple[str, str]]) -> list[Any]:
    """Tasks running `checks` (label, address) in that order, each admitted."""
    tasks = [
        asyncio.create_task(limiter.run(gate.check(label), address)) for label, address in checks
    ]
    await _admitted(limiter, len(checks))
    return tasks


async def test_two_flooding_addresses_do_not_shut_out_a_third() -> None:
    """Issue 19: bad logins from two addresses filled the check queue and a correct login from
    a third got 503. Now the third waits about one check per flooding address."""
    limiter = HashLimiter(2, queue_timeout=2, estimate=0.5)
    held = HeldChecks()
    first = await _flood(limiter, held, "198.51.100.1", 100)
    second = await _flood(limiter, held, "203.0.113.1", 100)
    assert first and second
    limiter.admissible("192.0.2.1")
    third = asyncio.create_task(limiter.run(held.check(), "192.0.2.1"))
    await asyncio.sleep(0)
    assert not third.done()  # admitted: waiting for its turn, not refused
    held.release.set()
    assert "checked" == await third
    await asyncio.gather(*first, *second)
    limiter.shutdown()


async def test_checks_are_served_round_robin_by_address() -> None:
    """One address with five checks queued and a fresh one with two: their checks alternate
    instead of the fresh address waiting behind all five."""
    limiter = HashLimiter(1, queue_timeout=100, estimate=0.1)
    gate = Gate()
    flooded = [(f"A{n}", "198.51.100.1") for n in range(1, 6)]
    fresh = [(f"B{n}", "203.0.113.1") for n in range(1, 3)]
    pending = set(await _queued(limiter, gate, flooded + fresh))
    order = [(await _one_ends(gate, pending)).result() for _ in range(7)]
    assert ["A1", "A2", "B1", "A3", "B2", "A4", "A5"] == order
    limiter.shutdown()


async def test_addresses_of_one_network_share_its_turns() -> None:
    """Two addresses of one /24 take turns within the network's one turn per round: a third
    network gets every other check, not one in three."""
    limiter = HashLimiter(1, queue_timeout=100, estimate=0.1)
    gate = Gate()
    checks = (
        [(f"A{n}", "198.51.100.1") for n in range(1, 6)]
        + [(f"N{n}", "198.51.100.2") for n in range(1, 3)]
        + [(f"B{n}", "203.0.113.1") for n in range(1, 4)]
    )
    pending = set(await _queued(limiter, gate, checks))
    order = [(await _one_ends(gate, pending)).result() for _ in range(10)]
    assert ["A1", "A2", "B1", "N1", "B2", "A3", "B3", "N2", "A4", "A5"] == order
    limiter.shutdown()


async def test_real_user_signs_in_through_100_guessers_on_10_addresses() -> None:
    """100 guessers spread over 10 addresses (10 networks) keep the queue as full as it will
    take; a login from an eleventh address is admitted, and its check runs after about one
    check per guessing network (plus the one running), well within the timeout. One thread,
    so that checks end in the order they started."""
    monotonic = FakeClock(0)
    limiter = HashLimiter(1, queue_timeout=2, estimate=0.1, monotonic=monotonic)
    gate = Gate()
    guessers: dict[int, asyncio.Task[str]] = {}
    refused = 0

    async def refill() -> None:
        """Every guesser without a check admitted or running tries again."""
        nonlocal refused
        for n in range(100):
            task = guessers.get(n)
            if task is not None and task.done() and task.exception() is not None:
                refused += 1  # refused at once, or dropped when its turn came too late
            if task is None or task.done():
                address = f"10.{n % 10}.0.1"
                guessers[n] = asyncio.create_task(limiter.run(gate.check("guess"), address))
        await asyncio.sleep(0)

    def live() -> "set[asyncio.Task[str]]":
        return {task for task in guessers.values() if not task.done()}

    for _ in range(20):  # the flood reaches its steady state
        await refill()
        monotonic.advance(0.1)
        await _one_ends(gate, live())
    assert refused > 0  # the queue is as full as the timeout allows
    ended_before = len(gate.ended)
    user = asyncio.create_task(limiter.run(gate.check("user"), "192.0.2.1"))
    await asyncio.sleep(0)
    assert not user.done()  # admitted
    for _ in range(100):
        if user.done():
            break
        await refill()
        monotonic.advance(0.1)
        await _one_ends(gate, live() | {user})
    assert "user" == user.result()
    checks_before_the_user = gate.ended.index("user", ended_before) - ended_before
    assert checks_before_the_user <= 10 + limiter.concurrency
    gate.open()
    limiter.shutdown()
    await asyncio.wait_for(asyncio.gather(*guessers.values(), return_exceptions=True), 10)


async def test_check_that_waits_for_nothing_is_never_dropped() -> None:
    """A check admitted while a thread is free starts at once, however slowly the loop or the
    thread gets to it (here every clock reading is 10 s after the last): no queue timeout can
    refuse it. (A slow start once made the first of two logins a 503 and hung a test.)"""
    ticks = itertools.count(0, 10)
    limiter = HashLimiter(1, queue_timeout=0.001, estimate=0.1, monotonic=lambda: next(ticks))
    assert "checked" == await limiter.run(lambda: "checked", "192.0.2.1")
    limiter.shutdown()


async def test_cancelled_waiting_check_leaves_the_queue_and_never_runs() -> None:
    """A request that goes away while its check waits takes it out of the queue."""
    limiter = HashLimiter(1, queue_timeout=2, estimate=0.1)
    held = HeldChecks()
    first = asyncio.create_task(limiter.run(held.check(), "192.0.2.1"))
    gone = asyncio.create_task(limiter.run(held.check(), "203.0.113.1"))
    await _admitted(limiter, 2)
    gone.cancel()
    await asyncio.wait([gone], timeout=10)
    assert gone.cancelled()
    assert 1 == limiter.in_flight
    held.release.set()
    assert "checked" == await first
    assert 1 == held.started
    limiter.shutdown()


async def test_guesses_wait_behind_logins_from_addresses_without_failures() -> None:
    """After a failed check, an address's checks queue in the second lane: a login from an
    address without failures runs next, ahead of every queued guess; for IPv6 the whole /64
    counts as the guesser."""
    limiter = HashLimiter(1, queue_timeout=100, estimate=0.1)
    gate = Gate()
    for guesser in ("198.51.100.1", "2001:db8:1:2::1"):
        limiter.failed(guesser)
    checks = [("G1", "198.51.100.1"), ("G2", "198.51.100.1"), ("V1", "2001:db8:1:2::ffff")]
    checks += [("U", "203.0.113.9"), ("G3", "198.51.100.1")]
    pending = set(await _queued(limiter, gate, checks))
    order = [(await _one_ends(gate, pending)).result() for _ in range(5)]
    assert ["G1", "U", "G2", "V1", "G3"] == order
    limiter.shutdown()


async def test_failures_are_forgotten_after_the_failure_memory() -> None:
    """An address's failure orders its checks for FAILURE_MEMORY seconds, then no longer."""
    monotonic = FakeClock(0)
    limiter = HashLimiter(1, queue_timeout=10_000, estimate=0.1, monotonic=monotonic)
    gate = Gate()
    limiter.failed("198.51.100.1")
    monotonic.advance(FAILURE_MEMORY)
    checks = [("A1", "198.51.100.1"), ("A2", "198.51.100.1"), ("B1", "203.0.113.9")]
    checks += [("A3", "198.51.100.1")]
    pending = set(await _queued(limiter, gate, checks))
    order = [(await _one_ends(gate, pending)).result() for _ in range(4)]
    assert ["A1", "A2", "B1", "A3"] == order
    limiter.shutdown()
