"""The issuer on PostgreSQL next to SQLite, in one run (issue: PostgreSQL as the production
store). Two real issuer processes, one per store, each with the same load in turn:

- password grant tokens per second (4 at once, as benchmarks/password_grant.py);
- JWKS requests per second (wrk, 32 connections), which never touch the database.

Goal: the password grant on PostgreSQL >= 0.95x its rate on SQLite (password checks dominate,
so the store's cost must stay in the noise). Both servers run durably (fsync on); PostgreSQL
listens on a unix socket in a throwaway cluster.
"""

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from benchmarks import password_grant, servers
from benchmarks.load import wrk
from tests.postgres import Cluster, server_binaries

GOAL = 0.95


@contextlib.contextmanager
def postgres_url() -> Iterator[str]:
    bindir = server_binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL is needed: scripts/install-postgres")
    cluster = Cluster(bindir)
    try:
        cluster.start(durable=True)
        yield cluster.url(cluster.database())
    finally:
        cluster.remove()


def run(seconds: float = 10) -> list[tuple[str, bool]]:
    rates: dict[str, tuple[float, float]] = {}
    with postgres_url() as url, tempfile.TemporaryDirectory() as data:
        for store, env in (("sqlite", {}), ("postgresql", {"ISSUER_DATABASE_URL": url})):
            with servers.issuer(Path(data) / store, **env) as (base, _pid):
                password_grant.token_rate(base, 1)  # warm up
                rates[store] = (
                    password_grant.token_rate(base, seconds),
                    wrk(f"{base}/.well-known/jwks.json", int(seconds / 2)),
                )
    (sqlite_tokens, sqlite_jwks), (pg_tokens, pg_jwks) = rates["sqlite"], rates["postgresql"]
    token_ratio, jwks_ratio = pg_tokens / sqlite_tokens, pg_jwks / sqlite_jwks
    return [
        (
            f"PostgreSQL store: password grant {pg_tokens:,.1f} vs SQLite {sqlite_tokens:,.1f} "
            f"tokens/s -> {token_ratio:.2f}x (goal >= {GOAL}x)",
            token_ratio >= GOAL,
        ),
        (
            f"PostgreSQL store: JWKS {pg_jwks:,.0f} vs SQLite {sqlite_jwks:,.0f} req/s -> "
            f"{jwks_ratio:.2f}x (served from memory: no goal)",
            True,
        ),
    ]


if __name__ == "__main__":
    for line, met in run():
        print(("ok   " if met else "MISS ") + line)
