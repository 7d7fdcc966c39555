"""The verified-token cache: no RSA or JSON work for a token already verified, and never
past its exp or its key's presence in the JWKS."""

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Self

import jwt
import pytest

from jwtkit import (
    AccessTokenVerifier,
    InvalidToken,
    JwksCache,
    VerifiedTokenCache,
)
from jwtkit.testing import FakeClock
from tests.basics import ISSUER
from tests.verifier.fake_issuer import FaultyIssuer
from tests.verifier.test_jwks_cache import never

pytestmark = pytest.mark.anyio


class CountedKeys:
    """A KeySource that counts the keys handed out: a token that needs signature work
    needs its key first, and a cached one needs neither."""

    def __init__(self, jwks: JwksCache) -> None:
        self.jwks = jwks
        self.handed_out = 0

    @property
    def issuer(self) -> str:
        return self.jwks.issuer

    def knows(self, kid: str) -> bool:
        return self.jwks.knows(kid)

    def key_at_hand(self, kid: str) -> jwt.PyJWK | None:
        self.handed_out += 1
        return self.jwks.key_at_hand(kid)

    async def key(self, kid: str) -> jwt.PyJWK:
        self.handed_out += 1
        return await self.jwks.key(kid)

    async def __aenter__(self) -> Self:
        await self.jwks.__aenter__()
        return self

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self.jwks.__aexit__(*exc)


class CountingVerifier:
    def __init__(
        self, verifier: AccessTokenVerifier, keys: CountedKeys, cache: VerifiedTokenCache
    ) -> None:
        self.verifier, self.keys, self.cache = verifier, keys, cache

    @property
    def signature_checks(self) -> int:
        return self.keys.handed_out


@pytest.fixture
async def counted(clock: FakeClock) -> AsyncIterator[tuple[CountingVerifier, FaultyIssuer]]:
    fake = FaultyIssuer(clock)
    fake.add_key()
    keys = CountedKeys(JwksCache(ISSUER, transport=fake.transport(), clock=clock, sleep=never))
    cache = VerifiedTokenCache(3)
    verifier = AccessTokenVerifier(keys, audience="resource-api", clock=clock, cache=cache)
    async with verifier:
        yield CountingVerifier(verifier, keys, cache), fake


async def test_second_use_does_no_signature_work(
    counted: tuple[CountingVerifier, FaultyIssuer],
) -> None:
    """The same token twice: one signature check."""
    checker, fake = counted
    token = fake.signed(next(iter(fake.keys)))
    first = await checker.verifier.verify(token)
    assert first == await checker.verifier.verify(token)
    assert 1 == checker.signature_checks


async def test_entry_ends_at_exp(
    counted: tuple[CountingVerifier, FaultyIssuer], clock: FakeClock
) -> None:
    """At exp the cache stops answering; full verification (with its leeway) takes over."""
    checker, fake = counted
    token = fake.signed(next(iter(fake.keys)), exp=int(clock()) + 60)
    await checker.verifier.verify(token)
    clock.advance(60)
    await checker.verifier.verify(token)  # within the 30 s leeway: still valid
    assert 2 == checker.signature_checks
    clock.advance(30)
    with pytest.raises(InvalidToken, match="expired"):
        await checker.verifier.verify(token)


async def test_entry_dropped_when_its_kid_leaves_the_jwks(
    counted: tuple[CountingVerifier, FaultyIssuer], clock: FakeClock
) -> None:
    """A revoked key's tokens fail within one JWKS refresh, cached or not."""
    checker, fake = counted
    old = next(iter(fake.keys))
    token = fake.signed(old)
    await checker.verifier.verify(token)
    fake.add_key()
    fake.retire(old)
    await checker.keys.jwks.refresh()
    clock.advance(31)  # past the refetch cooldown, so the unknown kid is looked up again
    with pytest.raises(InvalidToken, match="unknown key"):
        await checker.verifier.verify(token)


async def test_cache_is_bounded(counted: tuple[CountingVerifier, FaultyIssuer]) -> None:
    """Past its size the oldest entry goes."""
    checker, fake = counted
    tokens = [fake.signed(next(iter(fake.keys))) for _ in range(4)]
    for token in tokens:
        await checker.verifier.verify(token)
    assert 3 == len(checker.cache)
    await checker.verifier.verify(tokens[0])
    assert 5 == checker.signature_checks
