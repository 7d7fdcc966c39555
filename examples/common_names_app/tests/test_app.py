"""The app's own tests, with the `fake_issuer` fixture from jwtkit's installed pytest plugin."""

from fastapi.testclient import TestClient

from jwtkit.testing import FakeIssuer
from shared import create_app


def test_the_app_accepts_a_good_token_and_refuses_bad_ones(fake_issuer: FakeIssuer) -> None:
    """A good token passes; an expired one is 401; one without the scope is 403."""
    with TestClient(create_app(fake_issuer.verifier())) as client:

        def me(token: str) -> int:
            response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
            return int(response.status_code)

        assert 200 == me(fake_issuer.token("alice"))
        assert 401 == me(fake_issuer.token(expired=True))
        assert 403 == me(fake_issuer.token(scopes=()))
