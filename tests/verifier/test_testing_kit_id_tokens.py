"""The testing kit's ID tokens (jwtkit.testing.FakeIssuer.id_token and id_token_verifier), for
an app that signs users in: what it mints passes its own IdTokenVerifier, and only that."""

import pytest

from jwtkit import InvalidToken
from jwtkit.testing import FakeIssuer

pytestmark = pytest.mark.anyio


async def test_id_token_passes_the_kits_id_token_verifier(fake_issuer: FakeIssuer) -> None:
    """`id_token` mints what `id_token_verifier` accepts: aud the client, typ JWT, the nonce
    and auth_time given, at_hash of the access token given; the access token verifier
    refuses it."""
    access = fake_issuer.token("alice")
    token = fake_issuer.id_token("alice", "my-app", nonce="n-1", auth_time=1, access_token=access)
    async with fake_issuer.id_token_verifier("my-app") as verifier:
        claims = await verifier.verify(token, nonce="n-1", access_token=access)
    assert ("alice", "my-app", "n-1", 1) == (
        claims["sub"],
        claims["aud"],
        claims["nonce"],
        claims["auth_time"],
    )
    async with fake_issuer.verifier() as api:
        with pytest.raises(InvalidToken):
            await api.verify(token)


async def test_id_token_verifier_is_for_one_client(fake_issuer: FakeIssuer) -> None:
    """`id_token_verifier(client_id)` refuses another client's ID token, and claims passed to
    `id_token` override the defaults (None removes one)."""
    async with fake_issuer.id_token_verifier("my-app") as verifier:
        for token in (
            fake_issuer.id_token("alice", "other-app"),
            fake_issuer.id_token("alice", "my-app", exp=None),
        ):
            with pytest.raises(InvalidToken):
                await verifier.verify(token)
