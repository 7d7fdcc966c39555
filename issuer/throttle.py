"""Brute-force throttling of password checks (OWASP Authentication Cheat Sheet).

Failures are counted per (account, client address) and per account, in the issuer's database so
that every process and replica shares them:

- one address gets at most `per_address` checks of an account per `address_window`;
- all addresses together get at most `per_account` per `account_window`.

Because the per-address limit binds first, an attacker on one address cannot lock the account:
a login from an address with no recent failures is still checked. The account limit is what
stops guessing spread over many addresses; reaching it throttles everyone for that account until
its window moves on (`python -m issuer users unlock NAME` ends it at once).

A check is counted *before* it runs: insert a row, then count. Of concurrent requests, the one
whose row was committed last sees every admitted row before it, so no more than the limit are
ever admitted, across processes too. A success or a cancelled check deletes its row: only
failures stay counted. A throttled request writes nothing, so a flood costs one read each.

Rows expire on their own: `prune` deletes those past the longest window, in bounded batches.
They are created no faster than passwords can be hashed, which bounds the table.
"""

from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from issuer.db import session
from issuer.models import LoginFailureRow


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    per_address: int = 10
    address_window: float = 15 * 60
    per_account: int = 100
    account_window: float = 60 * 60
    prune_batch: int = 10_000


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
        self._refuse_if_over(account, address, now, limit_offset=0)
        row = LoginFailureRow(account=account, address=address, at=now)
        with session(self._engine) as db, db.begin():
            db.add(row)
        attempt = Attempt(row.id)
        try:
            # Our own row is counted now: over the limit means another request got in first.
            self._refuse_if_over(account, address, now, limit_offset=1)
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
        horizon = now - max(self.policy.address_window, self.policy.account_window)
        expired = (
            select(LoginFailureRow.id)
            .where(LoginFailureRow.at <= horizon)
            .limit(self.policy.prune_batch)
        )
        with session(self._engine) as db, db.begin():
            result = db.execute(delete(LoginFailureRow).where(LoginFailureRow.id.in_(expired)))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def _refuse_if_over(self, account: str, address: str, now: float, limit_offset: int) -> None:
        policy = self.policy
        with session(self._engine) as db:
            per_account = _window(db, account, None, now - policy.account_window)
            per_address = _window(db, account, address, now - policy.address_window)
        waits = [
            oldest + window - now
            for (count, oldest), limit, window in (
                (per_address, policy.per_address, policy.address_window),
                (per_account, policy.per_account, policy.account_window),
            )
            if count >= limit + limit_offset and oldest is not None
        ]
        if waits:
            raise Throttled(max(waits))


def _window(
    db: Session, account: str, address: str | None, since: float
) -> tuple[int, float | None]:
    """How many failures (and the oldest's time) since `since`, for the account or the pair."""
    query = select(func.count(), func.min(LoginFailureRow.at)).where(
        LoginFailureRow.account == account, LoginFailureRow.at > since
    )
    if address is not None:
        query = query.where(LoginFailureRow.address == address)
    count, oldest = db.execute(query).one()
    return int(count), oldest
