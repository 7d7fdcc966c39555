"""Brute-force throttling in the database (OWASP Authentication Cheat Sheet): the limits per
(account, address) and per account, over sliding windows on the injected clock."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func, select

from issuer.config import IssuerSettings
from issuer.sign_in.throttle import LoginThrottle, Throttled, ThrottlePolicy
from issuer.store.db import session
from issuer.store.models import LoginFailureRow
from issuer.wiring import open_database, throttle_policy
from jwtkit.testing import FakeClock
from tests.support import issuer_settings

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return open_database(issuer_settings(tmp_path / "data"))


def _fail(throttle: LoginThrottle, times: int, account: str, address: str, now: float) -> None:
    for _ in range(times):
        throttle.begin(account, address, now)  # never forgotten: a failure


def _rows(engine: Engine) -> int:
    with session(engine) as db:
        return int(db.scalar(select(func.count()).select_from(LoginFailureRow)) or 0)


def test_one_address_gets_10_checks_per_account_per_15_minutes(
    engine: Engine, clock: FakeClock
) -> None:
    """The 11th failure from one address within 15 minutes is refused, with the wait until the
    oldest failure leaves the window; at that instant a check is allowed again."""
    throttle = LoginThrottle(engine)
    _fail(throttle, 10, "alice", "127.0.0.2", clock())
    clock.advance(60)
    with pytest.raises(Throttled) as refused:
        throttle.begin("alice", "127.0.0.2", clock())
    assert 840 == refused.value.retry_after
    clock.advance(840)
    throttle.begin("alice", "127.0.0.2", clock())


def test_many_addresses_get_100_checks_per_account_per_hour(
    engine: Engine, clock: FakeClock
) -> None:
    """Ten addresses with ten failures each exhaust the account: an 11th address is refused
    until the hour has passed."""
    throttle = LoginThrottle(engine)
    for n in range(10):
        _fail(throttle, 10, "alice", f"127.0.1.{n}", clock())
    with pytest.raises(Throttled) as refused:
        throttle.begin("alice", "127.0.2.1", clock())
    assert 3600 == refused.value.retry_after
    throttle.begin("bob", "127.0.2.1", clock())  # other accounts are not affected


def test_successful_checks_are_not_counted(engine: Engine, clock: FakeClock) -> None:
    """A check that succeeded (or never ran) is forgotten: 20 good logins, still allowed."""
    throttle = LoginThrottle(engine)
    for _ in range(20):
        throttle.forget(throttle.begin("alice", "127.0.0.2", clock()))
    throttle.begin("alice", "127.0.0.2", clock())
    assert 1 == _rows(engine)


def test_concurrent_checks_never_exceed_the_limit(engine: Engine, clock: FakeClock) -> None:
    """40 simultaneous attempts from one address (real threads, one database): at most 10 are
    admitted, as counting happens after each attempt's row is committed."""
    throttle = LoginThrottle(engine)

    def attempt(_: int) -> bool:
        try:
            throttle.begin("alice", "127.0.0.2", clock())
        except Throttled:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        admitted = sum(pool.map(attempt, range(40)))
    assert 1 <= admitted <= 10
    assert admitted == _rows(engine)


def test_unlock_clears_the_account(engine: Engine, clock: FakeClock) -> None:
    """`users unlock` (LoginThrottle.unlock) ends a throttle at once."""
    throttle = LoginThrottle(engine)
    _fail(throttle, 10, "alice", "127.0.0.2", clock())
    assert 10 == throttle.unlock("alice")
    throttle.begin("alice", "127.0.0.2", clock())


def test_rows_expire_on_their_own(engine: Engine, clock: FakeClock) -> None:
    """Rows past every window are pruned; newer ones stay (the table cannot grow without
    bound)."""
    throttle = LoginThrottle(engine)
    _fail(throttle, 5, "alice", "127.0.0.2", clock())
    clock.advance(3000)
    _fail(throttle, 3, "alice", "127.0.0.2", clock())
    clock.advance(601)
    assert 5 == throttle.prune(clock())
    assert 3 == _rows(engine)


def test_two_seconds_of_clock_skew_between_processes_is_harmless(
    engine: Engine, clock: FakeClock
) -> None:
    """Failures recorded by two processes whose clocks differ by 4 s (one +2 s, one -2 s)
    still add up against the same limit: the 11th is refused by either, and the window moves
    on within the skew of where it would without any."""
    throttle = LoginThrottle(engine)
    for n in range(10):
        _fail(throttle, 1, "alice", "127.0.0.2", clock() + (2 if n % 2 else -2))
    for skew in (+2, -2):
        with pytest.raises(Throttled) as refused:
            throttle.begin("alice", "127.0.0.2", clock() + skew)
        assert abs(900 - refused.value.retry_after) <= 4
    clock.advance(900 + 4)
    throttle.begin("alice", "127.0.0.2", clock() - 2)


def _spray(throttle: LoginThrottle, address: str, accounts: int, now: float) -> list[float]:
    """One failed check of each of `accounts` accounts; the Retry-After of each refusal."""
    refusals = []
    for n in range(accounts):
        try:
            throttle.begin(f"user-{address}-{n}", address, now)
        except Throttled as refused:
            refusals.append(refused.retry_after)
    return refusals


def test_one_address_gets_30_checks_across_accounts_per_15_minutes(
    engine: Engine, clock: FakeClock
) -> None:
    """Password spraying: one address guessing once at each of 50 accounts gets 30 checks,
    then waits for the oldest to leave the 15-minute window; another network is unaffected."""
    throttle = LoginThrottle(engine)
    assert [900.0] * 20 == _spray(throttle, "203.0.113.5", 50, clock())
    assert 30 == _rows(engine)
    assert [] == _spray(throttle, "198.51.100.5", 30, clock())
    clock.advance(900)
    throttle.begin("someone-else", "203.0.113.5", clock())


def test_one_network_gets_100_checks_across_accounts_per_15_minutes(
    engine: Engine, clock: FakeClock
) -> None:
    """Spraying from neighbouring addresses adds up in their /24: after 100 failures there, a
    neighbour with no failures of its own is refused; another /24 is not."""
    throttle = LoginThrottle(engine)
    refused = [len(_spray(throttle, f"203.0.113.{n}", 30, clock())) for n in (1, 2, 3, 4)]
    assert [0, 0, 0, 20] == refused
    with pytest.raises(Throttled) as neighbour:
        throttle.begin("alice", "203.0.113.200", clock())
    assert 900 == neighbour.value.retry_after
    throttle.begin("alice", "203.0.114.200", clock())


def test_ipv6_addresses_of_one_64_are_one_network(engine: Engine, clock: FakeClock) -> None:
    """An IPv6 client has a /64 of addresses to rotate through: they count as one network."""
    throttle = LoginThrottle(engine)
    refused = sum(len(_spray(throttle, f"2001:db8:1:2::{n:x}", 20, clock())) for n in range(6))
    assert 20 == refused
    with pytest.raises(Throttled):
        throttle.begin("alice", "2001:db8:1:2:ffff::1", clock())
    throttle.begin("alice", "2001:db8:1:3::1", clock())


def test_unknown_address_is_no_shared_bucket(engine: Engine, clock: FakeClock) -> None:
    """Requests with no client address are limited per account only: spraying limits on
    `unknown` would let one attacker lock out every such client."""
    throttle = LoginThrottle(engine)
    assert [] == _spray(throttle, "unknown", 150, clock())


def test_limits_and_windows_are_the_policy(engine: Engine, clock: FakeClock) -> None:
    """The spraying limits come from the policy (ISSUER_THROTTLE_ADDRESS_LIMIT, ...)."""
    policy = ThrottlePolicy(per_address=3, address_window=60, per_network=5, network_window=120)
    throttle = LoginThrottle(engine, policy)
    assert [60.0, 60.0] == _spray(throttle, "203.0.113.1", 5, clock())
    assert [120.0] * 3 == _spray(throttle, "203.0.113.2", 5, clock())


def test_throttle_settings_are_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """ISSUER_THROTTLE_* (durations as `15m`, `1h`) reach the throttle; a limit below 1 is
    refused at start, naming the variable."""
    monkeypatch.setenv("ISSUER_THROTTLE_ADDRESS_LIMIT", "50")
    monkeypatch.setenv("ISSUER_THROTTLE_NETWORK_WINDOW", "30m")
    monkeypatch.setenv("ISSUER_THROTTLE_ACCOUNT_WINDOW", "2h")
    policy = throttle_policy(IssuerSettings())
    assert (50, 900, 1800, 7200) == (
        policy.per_address,
        policy.address_window,
        policy.network_window,
        policy.account_window,
    )
    assert (10, 100, 100) == (
        policy.per_account_and_address,
        policy.per_account,
        policy.per_network,
    )
    monkeypatch.setenv("ISSUER_THROTTLE_NETWORK_LIMIT", "0")
    with pytest.raises(ValidationError, match="throttle_network_limit"):
        IssuerSettings()
