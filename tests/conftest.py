import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from jwtkit.testing import FakeClock
from tests import postgres
from tests.postgres import Cluster
from tests.verifier.fake_issuer import FaultyIssuer

# The services are imported inside the fixtures that need them, so that tests/verifier/ runs
# where only jwtkit is installed (scripts/check-verifier-install).
if TYPE_CHECKING:
    from issuer.config import IssuerSettings


@pytest.fixture(autouse=True)
def _no_service_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings in tests come from the test, never from the developer's shell."""
    for name in list(os.environ):
        if name.startswith(("ISSUER_", "RESOURCE_API_")):
            monkeypatch.delenv(name)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster | None]:
    """One PostgreSQL server for the session, started on first use."""
    with postgres.cluster() as running:
        yield running


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Runs the test once per store: issuer_settings() then points at SQLite (the default, in
    the test's data dir) or at a fresh database on the session's PostgreSQL server. A module
    that touches the database opts in with `pytest.mark.usefixtures("database")`."""
    from sqlalchemy import Engine

    import issuer.wiring
    from issuer.store.db import create_database_engine
    from tests import support

    if request.param == "sqlite":
        yield "sqlite"
        return
    running: Cluster | None = request.getfixturevalue("postgres_cluster")
    if running is None:
        postgres.skip_or_fail()
        return
    name = running.database()
    url = running.url(name)
    monkeypatch.setenv("ISSUER_DATABASE_URL", url)  # for CLI calls and real processes
    token = support.DATABASE_URL.set(url)
    engines: list[Engine] = []

    def recorded(*args: Any, **kwargs: Any) -> Engine:
        engine = create_database_engine(*args, **kwargs)
        engines.append(engine)
        return engine

    # Tests build services and never close them; their pooled connections are closed here.
    monkeypatch.setattr(issuer.wiring, "create_database_engine", recorded)
    try:
        yield "postgresql"
    finally:
        support.DATABASE_URL.reset(token)
        for engine in engines:
            engine.dispose()
        running.drop(name)


@pytest.fixture
def settings(tmp_path: Path) -> "IssuerSettings":
    from tests.support import issuer_settings

    return issuer_settings(tmp_path / "data")


@pytest.fixture
def fake(clock: FakeClock) -> FaultyIssuer:
    """A fake issuer's key endpoints, with one signing key."""
    issuer = FaultyIssuer(clock)
    issuer.add_key()
    return issuer


@pytest.fixture(scope="session")
def attacker_key() -> rsa.RSAPrivateKey:
    """A key the issuer never published."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
