"""Refresh tokens (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).

- Opaque, 256 bits, stored only as a SHA-256 hash (a high-entropy value needs no slow hash).
- Every use returns a new token in the same family (one family per login) and marks the one
  presented as used. The winner among concurrent uses is decided by one conditional UPDATE
  (`… WHERE used_at IS NULL`), so exactly one of N simultaneous requests succeeds, on SQLite
  and on PostgreSQL.
- Presenting a used token again is reuse: the whole family is revoked, so a stolen token dies
  with the legitimate one. One exception, for two tabs refreshing at once: a second
  presentation within RACE_WINDOW of the first use is refused without revoking the family.
- Idle lifetime `ttl` from each issue; absolute lifetime `max_age` from the login.
- A family started by a sign-in at the login page keeps that sign-in's auth_time and sid:
  each refreshed ID token carries the original auth_time (OpenID Connect Core §12.2), and the
  end of the sign-in revokes the family (Back-Channel Logout 1.0 §2.7, `revoke_sid`).
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, or_, select, update

from issuer.errors import InvalidGrant, InvalidScope, InvalidTarget
from issuer.store.db import session
from issuer.store.models import RefreshTokenRow

RACE_WINDOW = 2.0


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Family:
    """One login's session: its refresh tokens, seen together."""

    family_id: str
    user_id: str
    client_id: str
    started_at: float
    last_used_at: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class Refreshed:
    user_id: str
    scopes: frozenset[str]
    refresh_token: str
    # The family's sign-in (None: the password grant, or a family from before 0008).
    auth_time: int | None = None
    sid: str | None = None
    resource: str | None = None  # RFC 8707: the family's, every refresh's audience (0009)


class RefreshTokens:
    def __init__(self, engine: Engine, ttl: float, max_age: float) -> None:
        self._engine = engine
        self.ttl = ttl
        self.max_age = max_age

    def issue(
        self,
        user_id: str,
        client_id: str,
        scopes: frozenset[str],
        now: float,
        auth_time: int | None = None,
        sid: str | None = None,
        resource: str | None = None,
    ) -> str:
        """The first token of a new family (a login), with the sign-in it came from and the
        resource (RFC 8707) its tokens are for."""
        token = secrets.token_urlsafe(32)
        row = self._row(
            token, str(uuid.uuid4()), client_id, user_id, scopes, now, now + self.max_age
        )
        row.auth_time, row.sid, row.resource = auth_time, sid, resource
        with session(self._engine) as db, db.begin():
            db.add(row)
        return token

    def rotate(
        self,
        token: str,
        client_id: str,
        requested: frozenset[str] | None,
        now: float,
        resource: str | None = None,
    ) -> Refreshed:
        """A new token for `token`, which is used up; InvalidGrant for anything else.
        `resource`, the request's: none or the family's; another is InvalidTarget, and the
        token stays unused (a refresh narrows to the family's resource only, RFC 8707 §2.2)."""
        key = token_hash(token)
        with session(self._engine) as db:
            row = db.get(RefreshTokenRow, key)
        if row is None or row.client_id != client_id or row.revoked_at is not None:
            raise InvalidGrant("the refresh token is invalid")
        if row.used_at is not None:
            self._reused(row, now)
        if now >= row.expires_at or now >= row.family_expires_at:
            raise InvalidGrant("the refresh token has expired")
        granted = frozenset(row.scopes.split())
        if requested is not None:
            # RFC 6749 §6: a narrower scope may be asked for, never a wider one.
            if not requested <= granted:
                raise InvalidScope("the requested scope exceeds the original grant")
            granted = requested
        if resource is not None and resource != row.resource:
            raise InvalidTarget("the resource is not the one this refresh token is for")
        new_token = secrets.token_urlsafe(32)
        with session(self._engine) as db, db.begin():
            claimed = db.execute(
                update(RefreshTokenRow)
                .where(
                    RefreshTokenRow.token_hash == key,
                    RefreshTokenRow.used_at.is_(None),
                    RefreshTokenRow.revoked_at.is_(None),
                )
                .values(used_at=now)
            )
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                successor = self._row(
                    new_token,
                    row.family_id,
                    client_id,
                    row.user_id,
                    granted,
                    now,
                    row.family_expires_at,
                )
                successor.auth_time, successor.sid = row.auth_time, row.sid
                successor.resource = row.resource
                db.add(successor)
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            with session(self._engine) as db:
                raced = db.get(RefreshTokenRow, key)
            if raced is not None:
                self._reused(raced, now)
            raise InvalidGrant("the refresh token is invalid")
        return Refreshed(row.user_id, granted, new_token, row.auth_time, row.sid, row.resource)

    def _reused(self, row: RefreshTokenRow, now: float) -> None:
        if row.used_at is not None and now - row.used_at > RACE_WINDOW:
            self.revoke_family(row.family_id, now)
        raise InvalidGrant("the refresh token was already used")

    def revoke_family(self, family_id: str, now: float) -> int:
        return self._revoke(RefreshTokenRow.family_id == family_id, now)

    def revoke_user(self, user_id: str, now: float) -> int:
        return self._revoke(RefreshTokenRow.user_id == user_id, now)

    def revoke_sid(self, sid: str, now: float) -> int:
        """The families of one sign-in session, when it ends (Back-Channel Logout 1.0 §2.7:
        refresh tokens issued to it "SHOULD be revoked")."""
        return self._revoke(RefreshTokenRow.sid == sid, now)

    def families(self, now: float, user_id: str | None = None) -> list[Family]:
        """Live sessions: not revoked, not past their absolute lifetime."""
        query = select(
            RefreshTokenRow.family_id,
            RefreshTokenRow.user_id,
            RefreshTokenRow.client_id,
            func.min(RefreshTokenRow.issued_at),
            func.max(RefreshTokenRow.issued_at),
            func.max(RefreshTokenRow.family_expires_at),
        ).where(RefreshTokenRow.revoked_at.is_(None), RefreshTokenRow.family_expires_at > now)
        if user_id is not None:
            query = query.where(RefreshTokenRow.user_id == user_id)
        query = query.group_by(
            RefreshTokenRow.family_id, RefreshTokenRow.user_id, RefreshTokenRow.client_id
        ).order_by(func.min(RefreshTokenRow.issued_at))
        with session(self._engine) as db:
            return [Family(*row) for row in db.execute(query)]

    def family_for_client(self, token: str, client_id: str) -> str | None:
        """The family of `token` when it was issued to `client_id` (RFC 7009 §2.1)."""
        with session(self._engine) as db:
            row = db.get(RefreshTokenRow, token_hash(token))
        if row is None or row.client_id != client_id:
            return None
        return row.family_id

    def prune(self, now: float, batch: int = 10_000) -> int:
        """Deletes one batch of tokens whose family can no longer be used."""
        dead = (
            select(RefreshTokenRow.token_hash)
            .where(
                or_(
                    RefreshTokenRow.family_expires_at < now,
                    RefreshTokenRow.revoked_at < now - self.ttl,
                    RefreshTokenRow.expires_at < now - self.ttl,
                )
            )
            .limit(batch)
        )
        with session(self._engine) as db, db.begin():
            result = db.execute(delete(RefreshTokenRow).where(RefreshTokenRow.token_hash.in_(dead)))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def _revoke(self, condition: object, now: float) -> int:
        with session(self._engine) as db, db.begin():
            result = db.execute(
                update(RefreshTokenRow)
                .where(condition, RefreshTokenRow.revoked_at.is_(None))  # type: ignore[arg-type]
                .values(revoked_at=now)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def _row(
        self,
        token: str,
        family_id: str,
        client_id: str,
        user_id: str,
        scopes: frozenset[str],
        now: float,
        family_expires_at: float,
    ) -> RefreshTokenRow:
        return RefreshTokenRow(
            token_hash=token_hash(token),
            family_id=family_id,
            client_id=client_id,
            user_id=user_id,
            scopes=" ".join(sorted(scopes)),
            issued_at=now,
            expires_at=min(now + self.ttl, family_expires_at),
            family_expires_at=family_expires_at,
            used_at=None,
            revoked_at=None,
        )
