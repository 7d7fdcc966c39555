"""Persistence: the SQLAlchemy engine and the two tables (users, signing keys)."""

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, LargeBinary, String, Text, create_engine, event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


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


def database_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
