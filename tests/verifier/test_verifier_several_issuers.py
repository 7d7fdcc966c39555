"""One verifier, several trusted issuers: the token's `iss` picks the issuer before any key
work, each issuer with its own audiences and key set (issue: several issuers or tenants)."""

from collections.abc import AsyncIterator

import pytest

from jwtkit import (
    AccessTokenVerifier,
    InvalidToken,
    JwksCache,
    KeysUnavailable,
    TrustedIssuer,
)
from jwtkit.testing import FakeClock, FakeIssuer

pytestmark = pytest.mark.anyio


@pytest.fixture
def tenants(clock: FakeClock) -> tuple[FakeIssuer, FakeIssuer]:
    return (
        FakeIssuer("https://a.issuer.test", audience="api-a", clock=clock),
        FakeIssuer("https://b.issuer.test", audience="api-b", clock=clock),
    )


def trusted(fake: FakeIssuer, clock: FakeClock, *audiences: str) -> TrustedIssuer:
    jwks = JwksCache(fake.issuer, transport=fake.transport(), clock=clock)
    return TrustedIssuer(jwks, audiences or fake.audience)


@pytest.fixture
async def verifier(
    tenants: tuple[FakeIssuer, FakeIssuer], clock: FakeClock
) -> AsyncIterator[AccessTokenVerifier]:
    a, b = tenants
    issuers = [trusted(a, clock), trusted(b, clock, "api-b", "api-b-legacy")]
    async with AccessTokenVerifier(issuers=issuers, clock=clock) as v:
        yield v


def requests(*fakes: FakeIssuer) -> int:
    return sum(sum(fake.requests.values()) for fake in fakes)


async def test_each_issuer_is_verified_with_its_own_audience(
    verifier: AccessTokenVerifier, tenants: tuple[FakeIssuer, FakeIssuer]
) -> None:
    a, b = tenants
    assert "alice" == (await verifier.verify(a.token("alice"))).subject
    assert "bob" == (await verifier.verify(b.token("bob"))).subject
    assert "carol" == (await verifier.verify(b.token("carol", audience="api-b-legacy"))).subject
    with pytest.raises(InvalidToken, match="another audience"):
        await verifier.verify(a.token(audience="api-b"))  # b's audience is not a's


async def test_untrusted_issuer_is_refused_without_a_request(
    verifier: AccessTokenVerifier, tenants: tuple[FakeIssuer, FakeIssuer], clock: FakeClock
) -> None:
    """RFC 8725 §3.8: a token naming an issuer we do not trust never triggers key work, even
    with a kid nobody knows (which would otherwise refetch a JWKS)."""
    stranger = FakeIssuer("https://evil.test", clock=clock)
    before = requests(*tenants)
    for token in (
        stranger.token(),
        stranger.token(header={"kid": "never-seen"}),
        tenants[0].token(iss="https://evil.test"),
        tenants[0].token(iss=["https://a.issuer.test"]),
    ):
        with pytest.raises(InvalidToken, match="another issuer"):
            await verifier.verify(token)
    with pytest.raises(InvalidToken, match="no iss"):
        await verifier.verify(tenants[0].token(iss=None))
    assert before == requests(*tenants)
    assert 0 == requests(stranger)


async def test_a_token_is_checked_only_against_the_key_set_of_the_issuer_it_names(
    verifier: AccessTokenVerifier, tenants: tuple[FakeIssuer, FakeIssuer]
) -> None:
    """Claiming b's iss with a's key fails: b's key set is looked up (and refetched once for
    the unknown kid), a's is never consulted."""
    a, b = tenants
    forged = a.token(iss=b.issuer, audience="api-b")
    a_before, b_before = a.requests["/.well-known/jwks.json"], b.requests["/.well-known/jwks.json"]
    with pytest.raises(InvalidToken, match="unknown key"):
        await verifier.verify(forged)
    assert a_before == a.requests["/.well-known/jwks.json"]
    assert b_before + 1 == b.requests["/.well-known/jwks.json"]


async def test_one_issuer_down_leaves_the_other_working(
    tenants: tuple[FakeIssuer, FakeIssuer], clock: FakeClock
) -> None:
    a, b = tenants
    down = JwksCache("https://down.issuer.test", jwks_url="http://127.0.0.1:9/jwks.json")
    issuers = [TrustedIssuer(down, "api-down"), trusted(b, clock)]
    async with AccessTokenVerifier(issuers=issuers, clock=clock) as verifier:
        assert "bob" == (await verifier.verify(b.token("bob"))).subject
        with pytest.raises(KeysUnavailable):
            await verifier.verify(a.token(iss="https://down.issuer.test", audience="api-down"))
        assert not verifier.issuers["https://down.issuer.test"].jwks.status()["keys_loaded"]


async def test_cached_token_follows_its_own_issuers_key_set(
    verifier: AccessTokenVerifier, tenants: tuple[FakeIssuer, FakeIssuer], clock: FakeClock
) -> None:
    """A verified token stays cached only while its issuer still publishes its key."""
    a, _b = tenants
    token = a.token()
    await verifier.verify(token)
    assert verifier.cached(token) is not None
    old = a.signing_kid
    a.rotate()
    a.retire(old)
    clock.advance(30)
    await verifier.issuers[a.issuer].jwks.refresh()
    assert verifier.cached(token) is None
    with pytest.raises(InvalidToken, match="unknown key"):
        await verifier.verify(token)


def test_configuration_mistakes_are_refused(
    tenants: tuple[FakeIssuer, FakeIssuer], clock: FakeClock
) -> None:
    a, _b = tenants
    with pytest.raises(ValueError, match="once"):
        AccessTokenVerifier(issuers=[trusted(a, clock), trusted(a, clock)])
    with pytest.raises(ValueError, match="not both"):
        AccessTokenVerifier(trusted(a, clock).jwks, audience="x", issuers=[trusted(a, clock)])
    with pytest.raises(ValueError, match="at least one issuer"):
        AccessTokenVerifier(issuers=[])
    with pytest.raises(ValueError, match="audience"):
        trusted(a, clock, "")
