"""Secrets every issuer process shares (the login form's CSRF HMAC key), kept in the
issuer_secrets table. The first process to need one makes it; a process that loses the race
(its INSERT fails on the primary key) reads the winner's. Then it is held in memory: it never
changes while the database lives.

An attacker with the database can forge CSRF tokens, which is the least of what the database
gives away; the secret protects forms, never credentials or tokens.
"""

import secrets
import threading

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from issuer.store.db import session
from issuer.store.models import IssuerSecretRow
from jwtkit import Clock

SECRET_BYTES = 32


class IssuerSecrets:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._known: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def cached(self, name: str) -> bytes | None:
        """The secret without the database, once this process has read it."""
        return self._known.get(name)

    def get(self, name: str) -> bytes:
        """The secret `name`, made now if no process has made it yet (blocking: a thread)."""
        known = self._known.get(name)
        if known is not None:
            return known
        with self._lock:
            value = self._read(name) or self._create(name)
            self._known[name] = value
            return value

    def _read(self, name: str) -> bytes | None:
        with session(self._engine) as db:
            row = db.get(IssuerSecretRow, name)
            return None if row is None else row.value

    def _create(self, name: str) -> bytes:
        value = secrets.token_bytes(SECRET_BYTES)
        try:
            with session(self._engine) as db, db.begin():
                db.add(IssuerSecretRow(name=name, value=value, created_at=self._clock()))
        except IntegrityError:
            theirs = self._read(name)  # another process made it first
            if theirs is None:
                raise
            return theirs
        return value
