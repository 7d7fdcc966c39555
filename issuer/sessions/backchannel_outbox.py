"""The outbox of Back-Channel Logout 1.0 deliveries: one row per logout token owed to a client,
written when a sign-in session ends and taken by the delivery job (issuer/sessions/
backchannel.py) until the client has it or the attempts run out.

- Several issuer processes run the job against one database. A row is claimed by one
  conditional UPDATE (`... WHERE id = ? AND attempts = <as read> AND next_attempt_at <= now`),
  which moves its next attempt a lease ahead: of concurrent claimers exactly one changes the
  row, on SQLite and PostgreSQL alike, so no token is sent twice by two processes.
- A claimer that dies mid-send leaves the row to come due again when the lease ends; that
  attempt counts. At most MAX_ATTEMPTS are made.
- A delivered row, and one given up on, is deleted: the table holds only work still to do.
"""

from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select, update

from issuer.store.db import session
from issuer.store.models import BackchannelLogoutRow

MAX_ATTEMPTS = 5  # decision 13
# Longer than one claim's sends can take (the job's 5 s timeout per send, a few per claim).
LEASE = 60.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed row: the logout token to make and send, and which attempt this is (from 1)."""

    id: int
    client_id: str
    sub: str
    sid: str | None
    attempt: int


class BackchannelOutbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def enqueue(self, client_id: str, sub: str, sid: str | None, now: float) -> None:
        with session(self._engine) as db, db.begin():
            db.add(BackchannelLogoutRow(client_id=client_id, sub=sub, sid=sid, next_attempt_at=now))

    def claim(self, now: float, limit: int) -> list[Delivery]:
        """Up to `limit` due rows, oldest first, each now this caller's alone for LEASE."""
        due = (
            select(BackchannelLogoutRow)
            .where(
                BackchannelLogoutRow.next_attempt_at <= now,
                BackchannelLogoutRow.attempts < MAX_ATTEMPTS,
            )
            .order_by(BackchannelLogoutRow.next_attempt_at, BackchannelLogoutRow.id)
            .limit(limit)
        )
        with session(self._engine) as db:
            candidates = list(db.scalars(due))
        return [
            Delivery(row.id, row.client_id, row.sub, row.sid, row.attempts + 1)
            for row in candidates
            if self._take(row.id, row.attempts, now)
        ]

    def _take(self, row_id: int, attempts: int, now: float) -> bool:
        """The conditional UPDATE: true for exactly one of concurrent claimers of a row."""
        with session(self._engine) as db, db.begin():
            result = db.execute(
                update(BackchannelLogoutRow)
                .where(
                    BackchannelLogoutRow.id == row_id,
                    BackchannelLogoutRow.attempts == attempts,
                    BackchannelLogoutRow.next_attempt_at <= now,
                )
                .values(attempts=attempts + 1, next_attempt_at=now + LEASE)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def delivered(self, id: int) -> None:
        self._delete(id)

    def failed(self, id: int, error: str, next_attempt_at: float | None) -> None:
        """Another attempt at `next_attempt_at`; None: given up, the row goes."""
        if next_attempt_at is None:
            self._delete(id)
            return
        with session(self._engine) as db, db.begin():
            db.execute(
                update(BackchannelLogoutRow)
                .where(BackchannelLogoutRow.id == id)
                .values(next_attempt_at=next_attempt_at, last_error=error[:500])
            )

    def pending(self) -> int:
        """Rows still to deliver (for tests and operators)."""
        with session(self._engine) as db:
            return int(db.scalar(select(func.count()).select_from(BackchannelLogoutRow)) or 0)

    def prune(self, now: float) -> int:
        """Rows whose last attempt's claimer died after its lease: no attempt is left."""
        with session(self._engine) as db, db.begin():
            result = db.execute(
                delete(BackchannelLogoutRow).where(
                    BackchannelLogoutRow.attempts >= MAX_ATTEMPTS,
                    BackchannelLogoutRow.next_attempt_at <= now,
                )
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def _delete(self, row_id: int) -> None:
        with session(self._engine) as db, db.begin():
            db.execute(delete(BackchannelLogoutRow).where(BackchannelLogoutRow.id == row_id))
