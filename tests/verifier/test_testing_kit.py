"""The verifier's testing kit (jwtkit.testing and its pytest plugin), used exactly as
docs/protect.md shows: `fake_issuer` comes from the installed plugin, not from our conftest."""

# --8<-- [start:test]
from fastapi.testclient import TestClient

from jwtkit.testing import FakeIssuer
from tests.verifier.example_api import create_app


def test_me(fake_issuer: FakeIssuer) -> None:
    """The example of docs/protect.md: a good token passes; each preset bad token is refused."""
    with TestClient(create_app(fake_issuer.verifier())) as client:

        def me(token: str) -> int:
            response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
            return int(response.status_code)

        assert 200 == me(fake_issuer.token("alice"))
        assert 401 == me(fake_issuer.token(expired=True))
        assert 401 == me(fake_issuer.token(audience="other"))
        assert 401 == me(fake_issuer.token(foreign_key=True))
        assert 401 == me(fake_issuer.token(typ="JWT"))
        assert 403 == me(fake_issuer.token(scopes=()))


# --8<-- [end:test]


def test_rotated_key_is_accepted_on_first_sight(fake_issuer: FakeIssuer) -> None:
    """After rotate(), a token signed by the new key verifies (the verifier refetches on an
    unknown kid), and one signed by the old key still does."""
    with TestClient(create_app(fake_issuer.verifier())) as client:
        old = fake_issuer.token("alice")
        fake_issuer.rotate()
        new = fake_issuer.token("alice")
        for token in (old, new):
            response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
            assert {"user": "alice"} == response.json()
    assert 2 == fake_issuer.requests["/.well-known/jwks.json"]


def test_claims_can_be_overridden_or_removed(fake_issuer: FakeIssuer) -> None:
    """Any claim can be set; None removes it (a token without jti is refused, RFC 9068)."""
    with TestClient(create_app(fake_issuer.verifier())) as client:
        no_jti = fake_issuer.token(jti=None)
        other_issuer = fake_issuer.token(iss="https://elsewhere.test")
        for token in (no_jti, other_issuer):
            response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
            assert 401 == response.status_code
