"""The JWKS client against a fake issuer that counts requests, rotates keys, fails and
stalls; time comes from a fake clock."""

import asyncio
import tracemalloc
import uuid
from collections.abc import AsyncIterator

import pytest

from jwtkit import (
    AccessTokenVerifier,
    InvalidToken,
    JwksCache,
    JwksPolicy,
    KeysUnavailable,
)
from jwtkit.testing import FakeClock
from tests.basics import ISSUER
from tests.verifier.fake_issuer import FakeSleep, FaultyIssuer
from tests.waiting import until

pytestmark = pytest.mark.anyio


async def never(_seconds: float) -> None:
    """The background refresher's sleep: tests call refresh() themselves, in fake time."""
    await asyncio.Event().wait()


def make_verifier(
    fake: FaultyIssuer,
    clock: FakeClock,
    policy: JwksPolicy | None = None,
    jwks_url: str | None = None,
    sleep: FakeSleep | None = None,
) -> AccessTokenVerifier:
    cache = JwksCache(
        ISSUER,
        jwks_url=jwks_url,
        transport=fake.transport(),
        clock=clock,
        policy=policy or JwksPolicy(),
        sleep=sleep or never,
    )
    return AccessTokenVerifier(cache, audience="resource-api", clock=clock)


@pytest.fixture
async def verifier(fake: FaultyIssuer, clock: FakeClock) -> AsyncIterator[AccessTokenVerifier]:
    async with make_verifier(fake, clock) as v:
        yield v


async def test_start_fetches_discovery_then_jwks(
    verifier: AccessTokenVerifier, fake: FaultyIssuer
) -> None:
    """One discovery request (RFC 8414 path), one JWKS request, keys loaded."""
    assert 1 == fake.requests["/.well-known/oauth-authorization-server"]
    assert 1 == fake.jwks_requests
    assert {"keys_loaded": True, "keys": 1, "stale": False} == {
        k: verifier.jwks.status()[k] for k in ("keys_loaded", "keys", "stale")
    }


async def test_jwks_url_override_skips_discovery(fake: FaultyIssuer, clock: FakeClock) -> None:
    """RESOURCE_API_JWKS_URL: keys from there, no discovery request."""
    async with make_verifier(fake, clock, jwks_url="http://issuer:8000/.well-known/jwks.json"):
        pass
    assert (0, 1) == (fake.requests["/.well-known/oauth-authorization-server"], fake.jwks_requests)


@pytest.mark.parametrize(("max_age", "lifetime"), [(5, 60), (300, 300), (10**9, 86400), (None, 60)])
async def test_lifetime_follows_max_age_within_bounds(
    fake: FaultyIssuer, clock: FakeClock, max_age: int | None, lifetime: float
) -> None:
    """Cache-Control max-age, clamped to [min_ttl, max_ttl]; refresh at 80 % of it."""
    fake.max_age = max_age
    async with make_verifier(fake, clock) as verifier:
        assert pytest.approx(lifetime * 0.8) == verifier.jwks.next_refresh_delay()


async def test_background_refresh_picks_up_new_keys(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, clock: FakeClock
) -> None:
    """When the refresh is due, a fetch replaces the key set."""
    new_kid = fake.add_key()
    clock.advance(verifier.jwks.next_refresh_delay())
    assert await verifier.jwks.scheduled_refresh()
    assert verifier.jwks.knows(new_kid)


async def test_new_kid_is_accepted_on_first_sight(
    verifier: AccessTokenVerifier, fake: FaultyIssuer
) -> None:
    """A key the issuer has just added is fetched at once, and its token passes."""
    new_kid = fake.add_key()
    assert "user-1" == (await verifier.verify(fake.signed(new_kid))).subject
    assert 2 == fake.jwks_requests


async def test_unknown_kids_refetch_once_per_cooldown(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, clock: FakeClock
) -> None:
    """A flood of random kids over two simulated minutes costs one request per cooldown."""
    for _ in range(1200):
        token = fake.signed(next(iter(fake.keys)), header={"kid": uuid.uuid4().hex})
        with pytest.raises(InvalidToken, match="unknown key"):
            await verifier.verify(token)
        clock.advance(0.1)
    # 120 s at a 30 s cooldown: at most 4 refetches, plus the one at start.
    assert 5 >= fake.jwks_requests


async def test_concurrent_misses_share_one_request(
    verifier: AccessTokenVerifier, fake: FaultyIssuer
) -> None:
    """Fifty requests with a new kid while the fetch is under way: one JWKS request."""
    new_kid = fake.add_key()
    fake.mode = "stall"
    tasks = [asyncio.create_task(verifier.verify(fake.signed(new_kid))) for _ in range(50)]
    await until(lambda: fake.jwks_requests >= 2, *tasks)
    fake.mode = "ok"
    fake.stalled.set()
    principals = await asyncio.gather(*tasks)
    assert 50 == len(principals)
    assert 2 == fake.jwks_requests


@pytest.mark.parametrize("mode", ["down", "garbage", "redirect", "huge"])
async def test_failed_fetch_keeps_good_keys(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, clock: FakeClock, mode: str
) -> None:
    """Unreachable, garbage, a redirect (never followed) or an oversized body: the last good
    key set keeps verifying, and the status says what went wrong."""
    token = fake.signed(next(iter(fake.keys)))
    fake.mode = mode
    clock.advance(600)  # past the lifetime: stale
    assert not await verifier.jwks.refresh()
    clock.advance(1)
    verifier._cache.discard(token)  # force the full path, not the verified-token cache
    assert "user-1" == (await verifier.verify(token)).subject
    status = verifier.jwks.status()
    assert status["stale"] and status["keys_loaded"] and status["last_error"]


async def test_stalled_issuer_times_out_and_keeps_keys(
    fake: FaultyIssuer, clock: FakeClock
) -> None:
    """A fetch that never answers ends at the fetch timeout; the keys stay."""
    async with make_verifier(fake, clock, JwksPolicy(fetch_timeout=0.05)) as verifier:
        fake.mode = "stall"
        assert not await verifier.jwks.refresh()
        assert "TimeoutError" == verifier.jwks.status()["last_error"]
        assert verifier.jwks.knows(next(iter(fake.keys)))


async def test_keys_expire_after_max_stale(fake: FaultyIssuer, clock: FakeClock) -> None:
    """Past the maximum stale age with no successful fetch, verification answers 503."""
    async with make_verifier(fake, clock, JwksPolicy(max_stale=3600)) as verifier:
        token = fake.signed(next(iter(fake.keys)), exp=int(clock()) + 7200)
        fake.mode = "down"
        clock.advance(3601)
        with pytest.raises(KeysUnavailable):
            await verifier.verify(token)


async def test_cold_start_while_issuer_down(fake: FaultyIssuer, clock: FakeClock) -> None:
    """No keys yet: KeysUnavailable (503), not InvalidToken; keys load once the issuer is back."""
    fake.mode = "down"
    async with make_verifier(fake, clock) as verifier:
        token = fake.signed(next(iter(fake.keys)))
        with pytest.raises(KeysUnavailable):
            await verifier.verify(token)
        # Two failures (start, then this request): the background retry waits 2 s.
        assert 2.0 == verifier.jwks.next_refresh_delay()
        fake.mode = "ok"
        clock.advance(30)
        assert "user-1" == (await verifier.verify(token)).subject


async def test_retry_backoff_is_bounded(fake: FaultyIssuer, clock: FakeClock) -> None:
    """Failed fetches retry after 1, 2, 4 … seconds, never more than 30."""
    fake.mode = "down"
    async with make_verifier(fake, clock) as verifier:
        delays = []
        for _ in range(8):
            delays.append(verifier.jwks.next_refresh_delay())
            await verifier.jwks.scheduled_refresh()
    assert [1, 2, 4, 8, 16, 30, 30, 30] == delays


async def test_only_rsa_signing_keys_for_rs256_are_kept(
    fake: FaultyIssuer, clock: FakeClock
) -> None:
    """EC keys, encryption keys, other algorithms, keys without kid and short RSA keys are
    skipped; the good key still works."""
    good = next(iter(fake.keys))
    good_jwk = fake.jwks()["keys"][0]
    fake.extra_jwks = [
        {"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "kid": "ec"},
        {**good_jwk, "kid": "enc", "use": "enc"},
        {**good_jwk, "kid": "rs512", "alg": "RS512"},
        {key: value for key, value in good_jwk.items() if key != "kid"},
        {"kty": "RSA", "kid": "short", "e": "AQAB", "n": "wQ" * 64},
        {"kty": "RSA", "kid": "broken", "e": "AQAB", "n": "!!"},
        "not an object",
    ]
    async with make_verifier(fake, clock) as verifier:
        assert [True, False, False, False, False, False] == [
            verifier.jwks.knows(kid) for kid in (good, "ec", "enc", "rs512", "short", "broken")
        ]


async def test_discovery_for_another_issuer_is_refused(clock: FakeClock) -> None:
    """RFC 8414 §3.3: metadata naming another issuer is not used."""
    fake = FaultyIssuer(clock, issuer="http://impostor.test")
    fake.add_key()
    async with make_verifier(fake, clock) as verifier:
        assert not verifier.jwks.status()["keys_loaded"]
        assert 0 == fake.jwks_requests


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_jwks_behind_a_compressing_proxy(
    fake: FaultyIssuer, clock: FakeClock, encoding: str
) -> None:
    """A JWKS served gzip- or deflate-encoded (nginx, Traefik, a CDN) loads and verifies; the
    request says which codings we read. Regression: the body was decoded twice, 503 forever."""
    fake.content_encoding = encoding
    kid = next(iter(fake.keys))
    async with make_verifier(fake, clock) as verifier:
        assert "alice" == (await verifier.verify(fake.signed(kid))).username
    assert all(header == "gzip, deflate" for header in fake.accept_encodings)


async def test_compression_bomb_is_refused_without_inflating(
    fake: FaultyIssuer, clock: FakeClock
) -> None:
    """A gzip body that inflates to 100 MB is refused once its decoded size passes max_bytes;
    memory stays near the policy's bound (tracemalloc peak well under the inflated size)."""
    kid = next(iter(fake.keys))
    fake.mode = "bomb"
    tracemalloc.start()
    try:
        async with make_verifier(fake, clock) as verifier:
            with pytest.raises(KeysUnavailable):
                await verifier.verify(fake.signed(kid))
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "unreadable body" in str(verifier.jwks.status()["last_error"])
    assert peak < 32 * 1024 * 1024


async def test_bad_entries_never_break_the_good_keys(fake: FaultyIssuer, clock: FakeClock) -> None:
    """A JWKS with a key of unknown kty, an RSA key with broken parameters and a kid that names
    two different keys: the good key verifies, the duplicated kid is refused (ambiguous)."""
    good = next(iter(fake.keys))
    dup = fake.add_key()
    duplicate_entry = {**fake.jwks()["keys"][0], "kid": dup}  # another key under kid `dup`
    fake.extra_jwks = [
        {"kty": "OKP", "crv": "X448", "x": "AAAA", "kid": "unknown-type"},
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        duplicate_entry,
    ]
    async with make_verifier(fake, clock) as verifier:
        assert "alice" == (await verifier.verify(fake.signed(good))).username
        with pytest.raises(InvalidToken):
            await verifier.verify(fake.signed(dup))
        assert 1 == verifier.jwks.status()["keys"]  # only the good key is loaded


async def test_refresh_forces_a_fetch_once_per_cooldown(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, clock: FakeClock
) -> None:
    """`refresh()` fetches now (a key published a moment ago is known at once), but a burst
    of calls costs one request per cooldown, and concurrent calls share one fetch."""
    new_kid = fake.add_key()
    assert await verifier.jwks.refresh()
    assert verifier.jwks.knows(new_kid)
    assert 2 == fake.jwks_requests
    fake.add_key()
    assert all(await asyncio.gather(*(verifier.jwks.refresh() for _ in range(10))))
    assert 2 == fake.jwks_requests  # within the 30 s cooldown: no fetch
    clock.advance(30)
    assert all(await asyncio.gather(*(verifier.jwks.refresh() for _ in range(10))))
    assert 3 == fake.jwks_requests  # one fetch, shared by the ten callers


async def test_refresh_within_cooldown_reports_the_last_failure(
    verifier: AccessTokenVerifier, fake: FaultyIssuer
) -> None:
    """A refresh skipped by the cooldown does not claim the keys are fresh after a failure."""
    fake.mode = "down"
    assert not await verifier.jwks.refresh()
    fake.mode = "ok"
    assert not await verifier.jwks.refresh()
    assert 2 == fake.jwks_requests


async def test_rule_keys_rotated_in_quick_succession_are_each_accepted_on_first_sight(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, clock: FakeClock
) -> None:
    """Issue 19: three keys, 15 s apart (an operator's `rotate --now` three times in a row):
    each one's token passes at once. A refetch that finds the kid it was made for does not
    hold the next one back. Regression: the second key's tokens were refused until the 30 s
    cooldown had passed."""
    for _ in range(3):
        clock.advance(15)
        new_kid = fake.add_key()
        assert "user-1" == (await verifier.verify(fake.signed(new_kid))).subject
    assert 1 + 3 == fake.jwks_requests


async def test_rule_a_lagging_key_set_heals_after_the_one_second_retry(
    fake: FaultyIssuer, clock: FakeClock
) -> None:
    """Issue 19, "when a refetch for an unknown kid comes back without it, try again after
    short bounded delays": the first refetch reaches a replica (or CDN) still serving the old
    set, so the token is refused; one second later the cache fetches again, gets the new set,
    and the token passes. Regression: refused until the 30 s cooldown had passed."""
    sleep = FakeSleep(clock)
    async with make_verifier(fake, clock, sleep=sleep) as verifier:
        old_set = fake.jwks()
        new_kid = fake.add_key()
        fake.lagging.append(old_set)
        token = fake.signed(new_kid)
        with pytest.raises(InvalidToken, match="unknown key"):
            await verifier.verify(token)
        assert 2 == fake.jwks_requests  # at start, then the refetch that met the old set
        await sleep.elapse(1)
        assert "user-1" == (await verifier.verify(token)).subject
        assert 3 == fake.jwks_requests
        assert 1 == sleep.asked.count(1)


async def test_rule_a_kid_that_never_appears_costs_exactly_the_retries(
    fake: FaultyIssuer, clock: FakeClock
) -> None:
    """A kid the issuer never publishes: one refetch, retries after 1, 2 and 4 s, then
    refused; a hundred requests with it during the retries and until the cooldown ends add no
    fetch (single flight, one retry sequence), and every one is refused at once."""
    sleep = FakeSleep(clock)
    async with make_verifier(fake, clock, sleep=sleep) as verifier:
        token = fake.signed(next(iter(fake.keys)), header={"kid": "never-published"})
        for _ in range(25):
            with pytest.raises(InvalidToken, match="unknown key"):
                await verifier.verify(token)
        assert 1 + 1 == fake.jwks_requests
        for delay in (1, 2, 4):
            await sleep.elapse(delay)
            results = await asyncio.gather(
                *(verifier.verify(token) for _ in range(25)), return_exceptions=True
            )
            assert all(isinstance(result, InvalidToken) for result in results)
        assert 1 + 1 + 3 == fake.jwks_requests
        assert [1, 2, 4] == [delay for delay in sleep.asked if delay in (1, 2, 4)]
        await sleep.elapse(30 - 7 - 0.1)  # the rest of the cooldown: no more fetches
        assert 1 + 1 + 3 == fake.jwks_requests


async def test_stale_keys_with_the_issuer_down_refetch_once_per_cooldown(
    fake: FaultyIssuer, clock: FakeClock
) -> None:
    """Keys past their maximum stale age, the issuer down: fifty requests with a kid the
    cache knows cost one refetch per cooldown, not one each (a found kid forgets the cooldown
    only when a fetch brought it)."""
    async with make_verifier(fake, clock, JwksPolicy(max_stale=3600)) as verifier:
        token = fake.signed(next(iter(fake.keys)), exp=int(clock()) + 7200)
        fake.mode = "down"
        clock.advance(3601)
        for _ in range(50):
            with pytest.raises(KeysUnavailable):
                await verifier.verify(token)
        assert 1 + 1 == fake.jwks_requests
