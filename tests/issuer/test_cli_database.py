"""No silent new database: every command but `serve` and `db upgrade` refuses to work where
there is no database, naming what it looked for and how to point at the right one; `-v` says
which database a command uses."""

import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from issuer.cli.database import describe_database
from issuer.cli.main import main
from issuer.wiring import database_engine, open_database
from tests.support import ISSUER, ROOT, free_port, issuer_process_env, issuer_settings

pytestmark = pytest.mark.usefixtures("database")

# One of each command group's actions that reads or writes the database.
COMMANDS = [
    ["users", "list"],
    ["users", "remove", "ann"],
    ["users", "unlock", "ann"],
    ["clients", "list"],
    ["clients", "add", "reports"],
    ["clients", "rotate-secret", "reports", "--json"],
    ["resources", "list"],
    ["sessions", "list"],
    ["keys", "list"],
    ["keys", "rotate"],
    ["keys", "rewrap"],
]


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory of someone who ran the command from the wrong place."""
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    return other


def _unpassworded(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(argv[:2]) for argv in COMMANDS])
def test_a_command_refuses_to_create_a_database(
    argv: list[str], database: str, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """From a directory with no database, the command exits 2 naming the absolute path (or
    the URL, without its password) and the settings that point elsewhere; nothing is made."""
    assert 2 == main(argv)
    error = capsys.readouterr().err
    assert 1 == len(error.splitlines()), error
    for hint in ("ISSUER_DATA_DIR", "ISSUER_DATABASE_URL", "--env-file", "db upgrade"):
        assert hint in error
    if database == "sqlite":
        assert f"no database at {elsewhere / 'data' / 'issuer.db'}:" in error
        assert [] == os.listdir(elsewhere)
    else:
        url = os.environ["ISSUER_DATABASE_URL"]
        assert f"no issuer schema in {_unpassworded(url)}:" in error
        password = make_url(url).password  # the test cluster's URL may have none
        assert not password or str(password) not in error
        with database_engine(issuer_settings(elsewhere / "data")).connect() as connection:
            assert not connection.dialect.has_table(connection, "alembic_version")


def test_an_explicit_sqlite_url_is_checked_too(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ISSUER_DATABASE_URL naming a SQLite file that is not there: refused, path made absolute."""
    monkeypatch.setenv("ISSUER_DATABASE_URL", "sqlite:///issuer-copy.db")
    assert 2 == main(["users", "list"])
    assert f"no database at {elsewhere / 'issuer-copy.db'}:" in capsys.readouterr().err
    assert not (elsewhere / "issuer-copy.db").exists()


def test_db_upgrade_creates_the_database_and_then_commands_work(
    elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`db upgrade` is the way to make a new database on purpose; the commands then run."""
    assert 0 == main(["db", "upgrade"])
    assert 0 == main(["users", "list"])
    assert 0 == main(["db", "current"])
    assert capsys.readouterr().out.endswith(" (head)\n")


def test_db_current_needs_the_sqlite_file_but_not_a_schema(
    database: str, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`db current` creates nothing: a missing SQLite file is refused like elsewhere, while a
    database without the schema (PostgreSQL's, or an empty file) is at revision none."""
    if database == "sqlite":
        assert 2 == main(["db", "current"])
        assert "no database at" in capsys.readouterr().err
        (elsewhere / "data").mkdir()
        (elsewhere / "data" / "issuer.db").touch()
    assert 0 == main(["db", "current"])
    assert capsys.readouterr().out.startswith("none (head is ")


@pytest.mark.parametrize(
    "argv",
    [["db", "upgrade"], ["users", "list"], ["keys", "list", "--json"], ["sessions", "list"]],
)
def test_verbose_names_the_database_on_stderr(
    argv: list[str],
    database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`-v` before the command: one line on stderr with the database's absolute path, or its
    URL without the password; stdout is what it is without `-v`."""
    data = tmp_path / "data"
    monkeypatch.setenv("ISSUER_DATA_DIR", str(data))
    open_database(issuer_settings(data))
    assert 0 == main(argv)
    quiet = capsys.readouterr()
    assert 0 == main(["-v", *argv])
    verbose = capsys.readouterr()
    if database == "sqlite":
        expected = f"database: {data / 'issuer.db'} (SQLite)"
    else:
        expected = f"database: {_unpassworded(os.environ['ISSUER_DATABASE_URL'])} (PostgreSQL)"
    assert expected == verbose.err.splitlines()[0]
    assert quiet.out == verbose.out


def test_verbose_names_the_database_even_when_it_is_missing(
    database: str, elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The line comes before the refusal, so a wrong setting shows at once."""
    assert 2 == main(["--verbose", "clients", "list"])
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("database: ")
    if database == "sqlite":
        assert f"{elsewhere / 'data' / 'issuer.db'} (SQLite)" in first


@pytest.mark.slow
def test_serve_names_its_database_with_verbose(tmp_path: Path) -> None:
    """`-v serve`: the first line on stderr is the database, before the server's own logs."""
    data = tmp_path / "data"
    env = {**os.environ, **issuer_process_env(ISSUER, data)}
    argv = ["-v", "serve", "--port", str(free_port())]
    with subprocess.Popen(
        [sys.executable, "-m", "issuer", *argv],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        try:
            ready, _, _ = select.select([process.stderr], [], [], 30)
            assert ready, "nothing on stderr within 30 s"
            first = process.stderr.readline()
        finally:
            process.terminate()
    if "ISSUER_DATABASE_URL" in os.environ:
        assert first.startswith("database: postgresql+psycopg://"), first
    else:
        assert f"database: {data / 'issuer.db'} (SQLite)\n" == first


def test_the_database_is_named_without_its_password(tmp_path: Path) -> None:
    """What `-v` and the refusal show of a PostgreSQL URL: everything but the password."""
    url = "postgresql+psycopg://issuer:s3cret@db.example:5432/issuer"
    shown = describe_database(issuer_settings(tmp_path, database_url=url))
    assert "postgresql+psycopg://issuer:***@db.example:5432/issuer (PostgreSQL)" == shown
