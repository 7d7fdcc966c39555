"""A throwaway PostgreSQL cluster from the machine's own server binaries (Debian's
`postgresql` package): initdb and pg_ctl on a temporary directory, listening on a unix socket
only, never on a TCP port. Tests get a fresh database each.

When the server is not installed the PostgreSQL tests are skipped with a message saying how to
install it, unless REQUIRE_POSTGRES is set (CI sets it): then they fail.
"""

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

INSTALL_HINT = (
    "PostgreSQL tests skipped: no PostgreSQL server here. Install it with "
    "`sudo apt-get install postgresql` (Debian) and run `make test` again."
)


def server_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def skip_or_fail() -> None:
    if os.environ.get("REQUIRE_POSTGRES"):
        pytest.fail("REQUIRE_POSTGRES is set but no PostgreSQL server is installed")
    pytest.skip(INSTALL_HINT)


class Cluster:
    """A running cluster; `database()` makes a new empty database and gives its URL."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="jwtkit-pg-"))
        self.data = self.root / "data"
        self._runner: list[str] = []
        if os.geteuid() == 0:  # the server refuses to run as root
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._runner = ["runuser", "-u", "postgres", "--"]
        self._count = 0

    def _run(self, *args: str) -> None:
        subprocess.run([*self._runner, *args], check=True, capture_output=True, timeout=120)

    def start(self, *, durable: bool = False) -> None:
        """`durable`: fsync as in production (benchmarks); tests skip it, for speed."""
        if not self.data.exists():
            self._run(
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
        options = f"-k {self.root} -c listen_addresses='' -c max_connections=200"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.root}"

    def _psql(self, sql: str) -> None:
        self._run(
            str(self.bindir / "psql"),
            "-h",
            str(self.root),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            sql,
        )

    def database(self) -> str:
        self._count += 1
        name = f"test_{self._count}"
        self._psql(f"CREATE DATABASE {name}")
        return name

    def drop(self, name: str) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def cluster() -> Iterator[Cluster | None]:
    bindir = server_binaries()
    if bindir is None:
        yield None
        return
    running = Cluster(bindir)
    try:
        running.start()
        yield running
    finally:
        running.remove()
