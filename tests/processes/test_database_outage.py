"""PostgreSQL stopped under a running issuer: token requests get 503 temporarily_unavailable
with Retry-After (never a 500), /readyz says not ready, JWKS and discovery answer from memory;
once the server is back, the same process recovers without a restart."""

from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from jwtkit.testing import FakeClock
from tests import postgres
from tests.support import issuer_client, issuer_settings

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, pytest.mark.slow]

LOGIN = {"username": "alice", "password": "alice-pw"}


async def test_postgres_outage_is_503_then_recovers(tmp_path: Path, clock: FakeClock) -> None:
    """The server is stopped and started again (pg_ctl) while the app keeps running."""
    bindir = postgres.server_binaries()
    if bindir is None:
        postgres.skip_or_fail()
        return
    cluster = postgres.Cluster(bindir)
    try:
        cluster.start()
        settings = issuer_settings(
            tmp_path / "data",
            database_url=cluster.url(cluster.database()),
            demo_users=["alice:alice-pw"],
        )
        async with issuer_client(settings, clock) as (client, _services):
            assert 200 == (await client.post("/token", data=LOGIN)).status_code
            errors_before = REGISTRY.get_sample_value("issuer_database_errors_total") or 0
            cluster.stop()
            down = await client.post("/token", data=LOGIN)
            assert (503, "temporarily_unavailable") == (down.status_code, down.json()["error"])
            assert int(down.headers["retry-after"]) >= 1
            assert 503 == (await client.get("/readyz")).status_code
            errors = REGISTRY.get_sample_value("issuer_database_errors_total") or 0
            assert errors > errors_before  # counted (the metric an operator alerts on)
            assert 200 == (await client.get("/.well-known/jwks.json")).status_code
            assert 200 == (await client.get("/.well-known/openid-configuration")).status_code
            cluster.start()
            assert 200 == (await client.get("/readyz")).status_code
            assert 200 == (await client.post("/token", data=LOGIN)).status_code
    finally:
        cluster.remove()
