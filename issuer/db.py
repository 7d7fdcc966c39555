"""Persistence: the SQLAlchemy engine and the tables (users, signing keys, login failures)."""

import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Index, LargeBinary, String, Text, create_engine, event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

logger = logging.getLogger(__name__)


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the tokens' stable `sub`
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text)  # space-separated, as in RFC 6749 §3.3
    created_at: Mapped[float]


class SigningKeyRow(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    # One key per rotation, even with several issuer processes racing to create it:
    # the loser's INSERT fails on this constraint.
    generation: Mapped[int] = mapped_column(unique=True)
    public_jwk: Mapped[str] = mapped_column(Text)
    private_pem: Mapped[bytes | None] = mapped_column(LargeBinary)
    encrypted: Mapped[bool]
    created_at: Mapped[float]
    activates_at: Mapped[float]
    revoked_at: Mapped[float | None]
    destroyed_at: Mapped[float | None]


class KeyEncryptionRow(Base):
    """The passphrase's KDF salt and parameters, with a check value (issuer/keys/wrapping.py).
    At most one row: absent while keys are stored unencrypted."""

    __tablename__ = "key_encryption"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    n: Mapped[int]
    r: Mapped[int]
    p: Mapped[int]
    check_value: Mapped[bytes] = mapped_column(LargeBinary)


class LoginFailureRow(Base):
    """One failed password check (or one under way), for brute-force throttling."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_account_at", "account", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(150))  # as submitted: unknown names count too
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[float]


def session(engine: Engine) -> Session:
    # Rows are handed out as plain values after commit: no lazy reloads on detached rows.
    return Session(engine, expire_on_commit=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers and one writer work at once, for several issuer processes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # Overwrite deleted content, so destroyed private keys do not linger in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def open_database(url: str, data_dir: Path) -> Engine:
    """An engine with the schema in place. SQLite files go in `data_dir`, created private."""
    if url.startswith("sqlite"):
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        Base.metadata.create_all(engine)
    except OperationalError:
        # Another process created the tables between our check and our CREATE.
        Base.metadata.create_all(engine)
    return engine


def scrub_deleted_content(engine: Engine) -> None:
    """Removes copies of overwritten or deleted rows from the files, where the database keeps
    them: SQLite's write-ahead log holds old page images until a checkpoint, so checkpoint and
    truncate it (secure_delete already zeroes freed space in the main file)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        for _ in range(50):
            busy, _log, _done = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
            if not busy:
                return
            time.sleep(0.01)  # a reader holds an old snapshot; it lets go within milliseconds
    logger.warning("could not truncate the write-ahead log: a reader held it")


def database_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
