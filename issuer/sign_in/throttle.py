"""Brute-force and spraying throttling of password checks (OWASP Authentication Cheat Sheet).

Failures are counted in the issuer's database so that every process and replica shares them,
in four sliding windows (the limits and windows are settings, `ISSUER_THROTTLE_*`):

- one address gets at most `per_account_and_address` checks of an account (10 per 15 min);
- all addresses together get at most `per_account` checks of an account (100 per hour);
- one address gets at most `per_address` checks across all accounts (30 per 15 min): password
  spraying, one guess at each of many accounts;
- one network, the address's /24 (IPv4) or /64 (IPv6), gets at most `per_network` across all
  accounts (100 per 15 min): spraying from neighbouring addresses, which one attacker with an
  IPv6 prefix or a rented range has by the hundred.

Because the per-(account, address) limit binds first, an attacker on one address cannot lock an
account: a login from an address with no recent failures is still checked. The account limit
is what stops guessing spread over many addresses; reaching it throttles everyone for that
account until its window moves on (`python -m issuer users unlock NAME` ends it at once). The
address and network limits throttle only that address or network, never other clients; many
users behind one NAT or an untrusted proxy share one address, so its limit is generous and a
setting. A request without a client address (`unknown`: no socket peer) is counted per account
only: address and network limits would make every such client one bucket, and one attacker
could lock them all out.

A check is counted *before* it runs: insert a row, then count. Of concurrent requests, the one
whose row was committed last sees every admitted row before it, so no more than the limit are
ever admitted, across processes too. A success or a cancelled check deletes its row: only
failures stay counted. A throttled request writes nothing, so a flood costs one read each.

Rows expire on their own: `prune` deletes those past the longest window, in bounded batches.
They are created no faster than passwords can be hashed, which bounds the table.
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, delete, func, select

from issuer.sign_in.client_address import network_of
from issuer.store.db import session
from issuer.store.models import LoginFailureRow


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    per_account_and_address: int = 10
    account_and_address_window: float = 15 * 60
    per_account: int = 100
    account_window: float = 60 * 60
    per_address: int = 30
    address_window: float = 15 * 60
    per_network: int = 100
    network_window: float = 15 * 60
    prune_batch: int = 10_000

    @property
    def longest_window(self) -> float:
        return max(
            self.account_and_address_window,
            self.account_window,
            self.address_window,
            self.network_window,
        )


class Throttled(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed attempts; retry after {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Attempt:
    """A password check under way, counted as a failure unless `forget` is called."""

    id: int


class LoginThrottle:
    def __init__(self, engine: Engine, policy: ThrottlePolicy = ThrottlePolicy()) -> None:
        self._engine = engine
        self.policy = policy

    def begin(self, account: str, address: str, now: float) -> Attempt:
        """Counts a check of `account` from `address`, or raises Throttled without counting."""
        network = network_of(address)
        self._refuse_if_over(account, address, network, now, limit_offset=0)
        row = LoginFailureRow(account=account, address=address, network=network or "", at=now)
        with session(self._engine) as db, db.begin():
            db.add(row)
        attempt = Attempt(row.id)
        try:
            # Our own row is counted now: over the limit means another request got in first.
            self._refuse_if_over(account, address, network, now, limit_offset=1)
        except Throttled:
            self.forget(attempt)
            raise
        return attempt

    def forget(self, attempt: Attempt) -> None:
        """The check succeeded, or never ran: it is not a failure."""
        with session(self._engine) as db, db.begin():
            db.execute(delete(LoginFailureRow).where(LoginFailureRow.id == attempt.id))

    def unlock(self, account: str) -> int:
        with session(self._engine) as db, db.begin():
            result = db.execute(delete(LoginFailureRow).where(LoginFailureRow.account == account))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def prune(self, now: float) -> int:
        """Deletes one batch of rows past every window; returns how many."""
        horizon = now - self.policy.longest_window
        expired = (
            select(LoginFailureRow.id)
            .where(LoginFailureRow.at <= horizon)
            .limit(self.policy.prune_batch)
        )
        with session(self._engine) as db, db.begin():
            result = db.execute(delete(LoginFailureRow).where(LoginFailureRow.id.in_(expired)))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def _refuse_if_over(
        self, account: str, address: str, network: str | None, now: float, limit_offset: int
    ) -> None:
        policy, row = self.policy, LoginFailureRow
        windows: list[tuple[ColumnElement[bool], int, float]] = [
            (row.account == account, policy.per_account, policy.account_window),
            (
                (row.account == account) & (row.address == address),
                policy.per_account_and_address,
                policy.account_and_address_window,
            ),
        ]
        if network is not None:  # an IP address: `unknown` is no one's bucket (module doc)
            windows.append((row.address == address, policy.per_address, policy.address_window))
            windows.append((row.network == network, policy.per_network, policy.network_window))
        # One statement, one round trip: every window's count and its oldest failure.
        query = select(
            *(
                select(aggregate).where(matches, row.at > now - window).scalar_subquery()
                for matches, _, window in windows
                for aggregate in (func.count(), func.min(row.at))
            )
        )
        with session(self._engine) as db:
            values = db.execute(query).one()
        waits = [
            oldest + window - now
            for (_, limit, window), count, oldest in zip(
                windows, values[0::2], values[1::2], strict=True
            )
            if count >= limit + limit_offset and oldest is not None
        ]
        if waits:
            raise Throttled(max(waits))
