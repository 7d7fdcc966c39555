"""ISSUER_DATABASE_URL, checked when the settings are read: a URL that SQLAlchemy can open,
for a database the issuer runs on (PostgreSQL through psycopg 3, or SQLite)."""

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

EXAMPLES = "postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE or sqlite:////ABSOLUTE/PATH.db"
BACKENDS = frozenset({"postgresql", "sqlite"})
# Schemes other tools write for PostgreSQL (Heroku, libpq, Django), and psycopg 2's.
POSTGRES_ALIASES = frozenset({"postgres", "pgsql", "postgresql+psycopg2", "psql"})


def check_database_url(value: str) -> str:
    """`value`, or ValueError saying what would be right."""
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(f"not a database URL; expected {EXAMPLES}") from None
    scheme = url.drivername
    if scheme in POSTGRES_ALIASES:
        suggested = url.set(drivername="postgresql+psycopg")
        raise ValueError(
            f"SQLAlchemy has no driver for {scheme}:// here; write "
            f"{suggested.render_as_string(hide_password=True)} (psycopg 3)"
        )
    if url.get_backend_name() not in BACKENDS:
        raise ValueError(f"the issuer runs on PostgreSQL or SQLite; expected {EXAMPLES}")
    _check_driver(url)
    return value


def _check_driver(url: URL) -> None:
    try:
        url.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError) as error:
        raise ValueError(
            f"SQLAlchemy cannot load the driver of {url.drivername}:// ({error}); "
            f"expected {EXAMPLES}"
        ) from None
