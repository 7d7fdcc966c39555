"""Sign-in sessions: after a browser signs in on the login page, a cookie lets another app
sign in through /authorize without the password typed again, for ISSUER_SESSION_TTL.

- Stored by the SHA-256 of the cookie's value, which is never shown; `sessions list` and
  `sessions revoke --sign-in` name a session by its own random id.
- A session remembers the user's credential generation as it was read before the password
  check that started it. /authorize reads the session with its user, and signs in only while
  the two generations are equal: a password change or `sessions revoke --user` moves the
  user's generation on, which ends every session in every process at once, including one
  whose password check was still running when the password changed.
- /logout, `users passwd`, `users remove` and `sessions revoke` also delete the rows.
"""

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select

from issuer.accounts.users import User, user_of
from issuer.sessions.refresh_tokens import token_hash
from issuer.store.db import session
from issuer.store.models import SignInSessionRow, UserRow


@dataclass(frozen=True, slots=True)
class SignIn:
    """A live sign-in session, as `sessions list` shows it."""

    session_id: str
    user_id: str
    started_at: float
    expires_at: float


class SignInSessions:
    def __init__(self, engine: Engine, ttl: float) -> None:
        self._engine = engine
        self.ttl = ttl

    def start(self, user: User, now: float) -> str | None:
        """The new session's cookie value; None when the user's credentials changed since
        `user` was read (the password just checked is no longer the user's)."""
        value = secrets.token_urlsafe(32)
        row = SignInSessionRow(
            session_hash=token_hash(value),
            user_id=user.id,
            session_id=str(uuid.uuid4()),
            credential_generation=user.credential_generation,
            created_at=now,
            expires_at=now + self.ttl,
        )
        with session(self._engine) as db, db.begin():
            current = db.scalar(select(UserRow.credential_generation).where(UserRow.id == user.id))
            if current != user.credential_generation:
                return None
            # Should the generation move on after this read, the row keeps the old one: the
            # session is dead at its first use.
            db.add(row)
        return value

    def user(self, value: str | None, now: float) -> User | None:
        """The signed-in user, while the session lives and the user's credentials are those
        it started under."""
        if not value:
            return None
        query = (
            select(UserRow)
            .join(SignInSessionRow, SignInSessionRow.user_id == UserRow.id)
            .where(
                SignInSessionRow.session_hash == token_hash(value),
                SignInSessionRow.expires_at > now,
                SignInSessionRow.credential_generation == UserRow.credential_generation,
            )
        )
        with session(self._engine) as db:
            row = db.scalar(query)
            return None if row is None else user_of(row)

    def current(self, value: str | None, now: float) -> SignIn | None:
        """The cookie's session while it would sign in, as `user()` decides: its session_id
        is the ID token's `sid`, its started_at the `auth_time` (OpenID Connect Core §2)."""
        if not value:
            return None
        query = (
            select(
                SignInSessionRow.session_id,
                SignInSessionRow.user_id,
                SignInSessionRow.created_at,
                SignInSessionRow.expires_at,
            )
            .join(UserRow, SignInSessionRow.user_id == UserRow.id)
            .where(
                SignInSessionRow.session_hash == token_hash(value),
                SignInSessionRow.expires_at > now,
                SignInSessionRow.credential_generation == UserRow.credential_generation,
            )
        )
        with session(self._engine) as db:
            row = db.execute(query).first()
            return None if row is None else SignIn(*row)

    def live(self, now: float, user_id: str | None = None) -> list[SignIn]:
        """Sessions that would still sign in, oldest first."""
        query = (
            select(
                SignInSessionRow.session_id,
                SignInSessionRow.user_id,
                SignInSessionRow.created_at,
                SignInSessionRow.expires_at,
            )
            .join(UserRow, SignInSessionRow.user_id == UserRow.id)
            .where(
                SignInSessionRow.expires_at > now,
                SignInSessionRow.credential_generation == UserRow.credential_generation,
            )
            .order_by(SignInSessionRow.created_at)
        )
        if user_id is not None:
            query = query.where(SignInSessionRow.user_id == user_id)
        with session(self._engine) as db:
            return [SignIn(*row) for row in db.execute(query)]

    def end(self, value: str | None) -> None:
        """/logout: the session of this cookie."""
        if value:
            self._delete(SignInSessionRow.session_hash == token_hash(value))

    def end_one(self, session_id: str) -> bool:
        """`sessions revoke --sign-in ID`; False when there is no such session."""
        return bool(self._delete(SignInSessionRow.session_id == session_id))

    def end_user(self, user_id: str) -> int:
        """Every session of the user (their credential generation has already moved on, or
        they are gone: this only tidies up)."""
        return self._delete(SignInSessionRow.user_id == user_id)

    def prune(self, now: float) -> int:
        return self._delete(SignInSessionRow.expires_at <= now)

    def _delete(self, condition: object) -> int:
        with session(self._engine) as db, db.begin():
            result = db.execute(delete(SignInSessionRow).where(condition))  # type: ignore[arg-type]
            return int(result.rowcount)  # type: ignore[attr-defined]
