"""Sign-in sessions: after a browser signs in on the login page, a cookie lets another app
sign in through /authorize without the password typed again, for ISSUER_SESSION_TTL.
Stored by the SHA-256 of the cookie's value; /logout ends it."""

import secrets
import uuid

from sqlalchemy import Engine, delete

from issuer.db import session
from issuer.models import SignInSessionRow
from issuer.refresh_tokens import token_hash


class SignInSessions:
    def __init__(self, engine: Engine, ttl: float) -> None:
        self._engine = engine
        self.ttl = ttl

    def start(self, user_id: str, now: float) -> str:
        value = secrets.token_urlsafe(32)
        row = SignInSessionRow(
            session_hash=token_hash(value),
            user_id=user_id,
            session_id=str(uuid.uuid4()),
            created_at=now,
            expires_at=now + self.ttl,
        )
        with session(self._engine) as db, db.begin():
            db.add(row)
        return value

    def user_id(self, value: str | None, now: float) -> str | None:
        if not value:
            return None
        with session(self._engine) as db:
            row = db.get(SignInSessionRow, token_hash(value))
        return row.user_id if row is not None and now < row.expires_at else None

    def end(self, value: str | None) -> None:
        if not value:
            return
        with session(self._engine) as db, db.begin():
            db.execute(
                delete(SignInSessionRow).where(SignInSessionRow.session_hash == token_hash(value))
            )

    def prune(self, now: float) -> int:
        with session(self._engine) as db, db.begin():
            return int(
                db.execute(
                    delete(SignInSessionRow).where(SignInSessionRow.expires_at <= now)
                ).rowcount  # type: ignore[attr-defined]
            )
