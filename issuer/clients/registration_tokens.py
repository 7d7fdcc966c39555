"""RFC 7591 §3 initial access tokens: what POST /register takes as a bearer token when
ISSUER_REGISTRATION is `token`. Made by `clients registration-token create`, shown once,
stored by their SHA-256 (256-bit random values: a plain hash is enough, as for refresh tokens).

A minimal store for the registration endpoint (helper A); the CLI, listing and revoking are
helper B's.
"""

import secrets

from sqlalchemy import Engine, or_, update

from issuer.sessions.refresh_tokens import token_hash
from issuer.store.db import session
from issuer.store.models import RegistrationTokenRow


class RegistrationTokens:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self, *, now: float, ttl: float, uses: int | None = None, label: str | None = None
    ) -> str:
        """A new initial access token, valid `ttl` seconds for `uses` registrations (None: any
        number)."""
        token = secrets.token_urlsafe(32)
        row = RegistrationTokenRow(
            token_hash=token_hash(token),
            label=label,
            created_at=now,
            expires_at=now + ttl,
            uses_left=uses,
        )
        with session(self._engine) as db, db.begin():
            db.add(row)
        return token

    def redeem(self, token: str, now: float) -> bool:
        """Whether `token` may register a client now; if so one of its uses is spent, in one
        conditional UPDATE (two registrations racing for the last use: one wins)."""
        row = RegistrationTokenRow
        with session(self._engine) as db, db.begin():
            result = db.execute(
                update(row)
                .where(
                    row.token_hash == token_hash(token),
                    row.expires_at > now,
                    or_(row.uses_left.is_(None), row.uses_left > 0),
                )
                .values(uses_left=row.uses_left - 1)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
