"""Registrations per client address (RFC 7591 §5: "the authorization server SHOULD ... rate
limit" open registration), in a sliding window: ISSUER_REGISTRATION_RATE_LIMIT registrations
per ISSUER_REGISTRATION_RATE_WINDOW from one address, past which POST /register is answered
429 with Retry-After.

Counted in the issuer's database, as the login throttle counts failures
(issuer/sign_in/throttle.py), so that every replica shares one count; and admitted the same
way: insert a row, then count, and take the row back if it made one too many. Of concurrent
registrations from one address, no more than the limit are admitted, across processes too. A
refused registration writes nothing that stays, so a flood costs a read and a short write each.

The address is issuer/sign_in/client_address.py's (X-Forwarded-For only from
ISSUER_TRUSTED_PROXIES). A request without one (`unknown`) is counted as one address: unlike a
login, nobody is locked out of an account by it, only registrations wait.

A registration refused for its metadata still counts: it is an attempt, and a flood of bad
documents costs as much to read as good ones. Rows older than the window are pruned.
"""

from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select

from issuer.store.db import session
from issuer.store.models import RegistrationAttemptRow


@dataclass(frozen=True, slots=True)
class RegistrationRatePolicy:
    per_address: int = 10
    window: float = 3600.0
    prune_batch: int = 10_000


class RegistrationThrottled(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many registrations; retry after {retry_after:.0f} s")
        self.retry_after = retry_after


class RegistrationThrottle:
    def __init__(self, engine: Engine, policy: RegistrationRatePolicy) -> None:
        self._engine = engine
        self.policy = policy

    def admit(self, address: str, now: float) -> None:
        """Counts a registration from `address`, or raises RegistrationThrottled without
        counting it."""
        self._refuse_if_over(address, now, limit_offset=0)
        row = RegistrationAttemptRow(address=address, at=now)
        with session(self._engine) as db, db.begin():
            db.add(row)
        try:
            # Our own row is counted now: over the limit means another request got in first.
            self._refuse_if_over(address, now, limit_offset=1)
        except RegistrationThrottled:
            with session(self._engine) as db, db.begin():
                db.execute(
                    delete(RegistrationAttemptRow).where(RegistrationAttemptRow.id == row.id)
                )
            raise

    def prune(self, now: float) -> int:
        """Deletes one batch of rows past the window; returns how many."""
        expired = (
            select(RegistrationAttemptRow.id)
            .where(RegistrationAttemptRow.at <= now - self.policy.window)
            .limit(self.policy.prune_batch)
        )
        with session(self._engine) as db, db.begin():
            result = db.execute(
                delete(RegistrationAttemptRow).where(RegistrationAttemptRow.id.in_(expired))
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def _refuse_if_over(self, address: str, now: float, limit_offset: int) -> None:
        row, window = RegistrationAttemptRow, self.policy.window
        query = select(func.count(), func.min(row.at)).where(
            row.address == address, row.at > now - window
        )
        with session(self._engine) as db:
            count, oldest = db.execute(query).one()
        if count >= self.policy.per_address + limit_offset and oldest is not None:
            raise RegistrationThrottled(max(oldest + window - now, 1.0))
