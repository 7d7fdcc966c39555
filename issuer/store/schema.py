"""The database schema, owned by Alembic (issuer/migrations): upgrade, current revision,
adopting a database the first releases made, and running migrations once across processes.

- `upgrade` takes a lock first (PostgreSQL: a transaction-scoped advisory lock; SQLite: an
  exclusive lock on a file beside the database), so that several processes starting at once
  on one empty database end with one schema and no error: the first migrates, the others then
  find the schema current.
- A database with tables but no Alembic version table was made before migrations existed: it
  is stamped with the revision its tables match, then upgraded like any other, rows intact.
"""

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# pg_advisory_xact_lock's key: any constant the issuer alone uses ("jwtkit" in ASCII).
_LOCK_KEY = 0x6A77746B6974
# What the tables of an unversioned database say about its revision, newest first.
_ADOPTABLE = (
    ({"users", "signing_keys", "login_failures", "key_encryption"}, "0002"),
    ({"users", "signing_keys"}, "0001"),
)


class SchemaOutdated(RuntimeError):
    pass


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Brings the schema to the newest revision (adopting an unversioned database first)."""
    with _migration_lock(engine) as connection:
        _adopt(connection)
        command.upgrade(_config(connection), "head")
    return head_revision()


def ensure_current(engine: Engine, *, auto_upgrade: bool) -> None:
    """At start: upgrade, or (auto-upgrade off) refuse an old schema, naming the command."""
    if auto_upgrade:
        upgrade(engine)
        return
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutdated(
            f"the database schema is at revision {current or 'none'} and this release needs "
            f"{head}; run `python -m issuer db upgrade` (ISSUER_DB_AUTO_UPGRADE is false)"
        )


def _adopt(connection: Connection) -> None:
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" in tables:
        return
    for needed, revision in _ADOPTABLE:
        if needed <= tables:
            command.stamp(_config(connection), revision)
            return


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction, held by one process at a time."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            yield connection
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        with engine.begin() as connection:
            yield connection
        return
    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with engine.begin() as connection:
            yield connection
