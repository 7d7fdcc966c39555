"""The database engine: SQLite (embedded default) or PostgreSQL (psycopg 3), one code path.

The schema is Alembic's (issuer/store/schema.py, issuer/migrations); this module only connects.
"""

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

logger = logging.getLogger("issuer.db")  # the name logs have always carried


@dataclass(frozen=True, slots=True)
class Pool:
    size: int = 5
    # A request waits at most this long for a pooled connection, then the caller answers 503:
    # an unreachable database must fail fast, never hang requests.
    timeout: float = 5
    connect_timeout: int = 5


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


def create_database_engine(url: str, data_dir: Path, pool: Pool = Pool()) -> Engine:
    """An engine, with no schema work. SQLite files go in `data_dir`, created private."""
    dialect = make_url(url).get_backend_name()
    options: dict[str, Any] = {
        "pool_size": pool.size,
        "pool_timeout": pool.timeout,
        # A connection the server dropped (a restart, a failover) is found before use and
        # replaced, so the process recovers without a restart of its own.
        "pool_pre_ping": True,
    }
    if dialect == "sqlite":
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif dialect == "postgresql":
        options["connect_args"] = {"connect_timeout": pool.connect_timeout}
        options["pool_recycle"] = 1800
    engine = create_engine(url, **options)
    if dialect == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
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
