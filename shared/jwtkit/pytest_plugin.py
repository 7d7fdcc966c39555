"""pytest plugin (entry point `pytest11`): the `fake_issuer` fixture for testing an app that
uses this verifier. Installed with the package; nothing to configure."""

import pytest

from jwtkit.testing import FakeIssuer


@pytest.fixture
def fake_issuer() -> FakeIssuer:
    """An in-process issuer (`https://issuer.test`, audience `my-api`) with its own keys."""
    return FakeIssuer()
