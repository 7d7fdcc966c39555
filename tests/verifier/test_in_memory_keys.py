"""Keys at hand: InMemoryJwks (a JWKS document this process holds, parsed again only when it
changes), `verify_at` (judged at a given instant, synchronously, never fetching) and
ANY_AUDIENCE (the issuer judging its own tokens, whatever their audience)."""

import json

import pytest

from jwtkit import ANY_AUDIENCE, AccessTokenVerifier, InMemoryJwks, InvalidToken
from jwtkit.testing import FakeClock, FakeIssuer

pytestmark = pytest.mark.anyio


def _document(fake: FakeIssuer) -> bytes:
    return json.dumps(fake.jwks()).encode()


async def test_a_token_verifies_against_a_document_at_hand(clock: FakeClock) -> None:
    """The same rules as over HTTP: a good token passes, one for another audience does not."""
    fake = FakeIssuer(clock=clock)
    verifier = AccessTokenVerifier(
        InMemoryJwks(fake.issuer, _document(fake)), audience=fake.audience, clock=clock
    )
    async with verifier:
        assert "alice" == (await verifier.verify(fake.token("alice"))).subject
        with pytest.raises(InvalidToken, match="another audience"):
            await verifier.verify(fake.token("alice", audience="other"))


def test_any_audience_accepts_every_audience_and_nothing_else_changes(clock: FakeClock) -> None:
    """ANY_AUDIENCE leaves out the aud rule only: another audience passes, an expired token
    or one signed by a key never published (under a published kid) does not."""
    fake = FakeIssuer(clock=clock)
    verifier = AccessTokenVerifier(
        InMemoryJwks(fake.issuer, _document(fake)), audience=ANY_AUDIENCE, clock=clock
    )
    assert "other" == verifier.verify_at(fake.token("a", audience="other"), clock()).claims["aud"]
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify_at(fake.token("a", expired=True), clock())
    with pytest.raises(InvalidToken, match="signature does not verify"):
        verifier.verify_at(fake.token("a", foreign_key=True), clock())


def test_verify_at_judges_at_the_instant_given(clock: FakeClock) -> None:
    """exp flips at `now`, not at the verifier's clock (which never moves here)."""
    fake = FakeIssuer(clock=clock)
    verifier = AccessTokenVerifier(
        InMemoryJwks(fake.issuer, _document(fake)), audience=fake.audience, leeway=0
    )
    token = fake.token("alice", expires_in=60)
    assert "alice" == verifier.verify_at(token, clock() + 59).subject
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify_at(token, clock() + 60)


def test_the_document_is_parsed_again_only_when_it_changes(clock: FakeClock) -> None:
    """A rotation shows at once: the new key verifies, the retired one is unknown; while
    the bytes stay the same, the parsed keys are the same objects."""
    fake = FakeIssuer(clock=clock)
    published = [_document(fake)]
    keys = InMemoryJwks(fake.issuer, lambda: published[0])
    old = fake.signing_kid
    first = keys.key_at_hand(old)
    published[0] = bytes(bytearray(published[0]))  # equal bytes, another object
    assert first is keys.key_at_hand(old)
    new = fake.rotate()
    fake.retire(old)
    published[0] = _document(fake)
    assert (False, True) == (keys.knows(old), keys.knows(new))
    verifier = AccessTokenVerifier(keys, audience=fake.audience, clock=clock)
    assert "alice" == verifier.verify_at(fake.token("alice"), clock()).subject
