import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from issuer.config import IssuerSettings
from shared.clock import FakeClock
from tests.fake_issuer import FakeIssuer
from tests.support import issuer_settings


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


@pytest.fixture
def settings(tmp_path: Path) -> IssuerSettings:
    return issuer_settings(tmp_path / "data")


@pytest.fixture
def fake(clock: FakeClock) -> FakeIssuer:
    """A fake issuer's key endpoints, with one signing key."""
    issuer = FakeIssuer(clock)
    issuer.add_key()
    return issuer


@pytest.fixture(scope="session")
def attacker_key() -> rsa.RSAPrivateKey:
    """A key the issuer never published."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)
