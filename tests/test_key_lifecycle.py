"""Signing-key lifecycle: a simulated 100 days of scheduled rotation, with the invariants a
verifier relies on checked at every step; two processes on one database; revocation."""

import threading
from pathlib import Path

import pytest

from issuer.config import IssuerSettings
from issuer.keys.schedule import KeyState
from issuer.services import IssuerServices
from issuer.wiring import build_services
from shared.clock import FakeClock
from tests.support import issuer_settings

pytestmark = pytest.mark.usefixtures("database")

DAY = 86400.0
STEP = 20 * 60.0


def lifecycle_settings(data: Path, **overrides: object) -> IssuerSettings:
    values: dict[str, object] = {
        "key_rotation_interval": 30 * DAY,
        "key_publish_ahead": 3600,
        "jwks_max_age": 300,
        "access_token_ttl": 900,
        "verifier_leeway": 60,
        **overrides,
    }
    return issuer_settings(data, **values)


def published(services: IssuerServices) -> set[str]:
    return set(services.keyring.jwks.kids)


def test_one_hundred_days_of_rotation(tmp_path: Path, clock: FakeClock) -> None:
    """Every 20 simulated minutes for 100 days: the JWKS holds exactly the keys a verifier may
    meet (the signer, keys whose tokens may still be live, and the pre-published next key);
    tokens are signed by the active key; no key signs before it has been published for the
    publish-ahead; retired keys leave, and lose their private half, on time."""
    settings = lifecycle_settings(tmp_path / "data")
    services = build_services(settings, clock)
    start = clock()
    grace = settings.access_token_ttl + settings.verifier_leeway
    first_published: dict[str, float] = {}
    last_signature: dict[str, float] = {}
    while clock() < start + 100 * DAY:
        now = clock()
        services.keyring.refresh()  # what the issuer's timer does
        keys = published(services)
        for kid in keys:
            first_published.setdefault(kid, now)
        kid, _ = services.keyring.signing_key(now)
        states = {key.kid: state for key, state, _ in services.keyring.lifecycle.states(now)}
        assert KeyState.ACTIVE == states[kid]
        if first_published[kid] != start:  # the very first key has no one to warn ahead
            assert now - first_published[kid] >= settings.key_publish_ahead
        last_signature[kid] = now
        # A key was last seen signing at `signed`; it may have signed until one step later.
        may_meet = {k for k, signed in last_signature.items() if now < signed + grace}
        may_still = {k for k, signed in last_signature.items() if now < signed + grace + STEP}
        waiting = {k for k, state in states.items() if state is KeyState.NEXT}
        assert may_meet | waiting <= keys <= may_still | waiting
        for gone in set(last_signature) - may_still:
            assert states[gone] is KeyState.EXPIRED
        clock.advance(STEP)
    stored = services.keyring.lifecycle.store.load()
    assert 4 == len(stored)  # day 0, 30, 60 and 90
    assert [False, False, False, True] == [key.has_private for key in stored]


def test_two_processes_make_one_key_per_rotation(tmp_path: Path, clock: FakeClock) -> None:
    """Two issuers on one database, ticking at the same instant when a rotation is due:
    exactly one new key; both sign with it from its activation on."""
    settings = lifecycle_settings(tmp_path / "data")
    first, second = build_services(settings, clock), build_services(settings, clock)
    first.keyring.refresh()
    second.keyring.refresh()
    old_kid, _ = first.keyring.signing_key(clock())
    clock.advance(30 * DAY - 3600)  # the next key is due now
    barrier = threading.Barrier(2)

    def tick(services: IssuerServices) -> None:
        barrier.wait()
        services.keyring.refresh()

    threads = [threading.Thread(target=tick, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = first.keyring.lifecycle.store.load()
    assert [1, 2] == [key.generation for key in stored]
    assert published(first) == published(second) == {key.kid for key in stored}
    assert (
        old_kid == first.keyring.signing_key(clock())[0] == second.keyring.signing_key(clock())[0]
    )
    clock.advance(3600)  # activation: no refresh needed, the next key is already loaded
    new_kid = stored[1].kid
    assert (
        new_kid == first.keyring.signing_key(clock())[0] == second.keyring.signing_key(clock())[0]
    )


def test_manual_rotation_waits_for_publish_ahead(tmp_path: Path, clock: FakeClock) -> None:
    """`keys rotate`: published now, signing after the publish-ahead; a second call reuses it."""
    services = build_services(lifecycle_settings(tmp_path / "data"), clock)
    services.keyring.refresh()
    rotation = services.keyring.lifecycle.rotate(clock())
    again = services.keyring.lifecycle.rotate(clock())
    services.keyring.refresh()
    assert rotation.created and not again.created and rotation.key == again.key
    assert rotation.key.kid in published(services)
    assert rotation.key.kid != services.keyring.signing_key(clock())[0]
    clock.advance(3600)
    assert rotation.key.kid == services.keyring.signing_key(clock())[0]


def test_rotate_now_activates_at_once(tmp_path: Path, clock: FakeClock) -> None:
    """`keys rotate --now`: the new key signs immediately; the old one stays published."""
    services = build_services(lifecycle_settings(tmp_path / "data"), clock)
    services.keyring.refresh()
    old, _ = services.keyring.signing_key(clock())
    rotation = services.keyring.lifecycle.rotate(clock(), immediately=True)
    services.keyring.refresh()
    assert rotation.key.kid == services.keyring.signing_key(clock())[0]
    assert {old, rotation.key.kid} == published(services)


@pytest.mark.parametrize("with_next_key", [False, True])
def test_revoking_the_active_key(tmp_path: Path, clock: FakeClock, with_next_key: bool) -> None:
    """Revoked: out of the JWKS at the next refresh, private half destroyed at once, and
    signing continues with the published next key (or a new one)."""
    services = build_services(lifecycle_settings(tmp_path / "data"), clock)
    services.keyring.refresh()
    lifecycle = services.keyring.lifecycle
    compromised, _ = services.keyring.signing_key(clock())
    waiting = lifecycle.rotate(clock()).key if with_next_key else None
    replacement = lifecycle.revoke(compromised, clock())
    services.keyring.refresh()
    assert replacement is not None
    assert compromised not in published(services)
    assert replacement.kid == services.keyring.signing_key(clock())[0]
    if waiting is not None:
        assert waiting.kid == replacement.kid
    revoked = next(key for key in lifecycle.store.load() if key.kid == compromised)
    assert (False, clock()) == (revoked.has_private, revoked.revoked_at)


def test_late_start_still_publishes_ahead(tmp_path: Path, clock: FakeClock) -> None:
    """An issuer that was down when the rotation was due publishes the key for the full
    publish-ahead before it signs, rather than switching at once."""
    services = build_services(lifecycle_settings(tmp_path / "data"), clock)
    services.keyring.refresh()
    old, _ = services.keyring.signing_key(clock())
    clock.advance(31 * DAY)
    services.keyring.refresh()
    assert old == services.keyring.signing_key(clock())[0]
    clock.advance(3600)
    assert old != services.keyring.signing_key(clock())[0]


class SkewedClock:
    """Another process's wall clock: the shared fake clock plus a fixed skew."""

    def __init__(self, clock: FakeClock, skew: float) -> None:
        self._clock, self._skew = clock, skew

    def __call__(self) -> float:
        return self._clock() + self._skew


def test_two_seconds_of_clock_skew_between_processes_is_harmless(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Two processes on one database, one clock 2 s ahead and one 2 s behind, both running
    the schedule every 20 simulated minutes for 65 days (two rotations): one key per
    rotation, and at every step the key either one signs with is in the other's JWKS, so a
    token from either verifies against either (the next key is published an hour ahead, so
    the seconds around an activation are covered)."""
    settings = lifecycle_settings(tmp_path / "data")
    ahead = build_services(settings, SkewedClock(clock, +2))
    behind = build_services(settings, SkewedClock(clock, -2))
    end = clock() + 65 * DAY
    while clock() < end:
        for services in (ahead, behind):
            services.keyring.refresh()
        for signer, verifier in ((ahead, behind), (behind, ahead)):
            kid, _ = signer.keyring.signing_key(signer.clock())
            assert kid in published(verifier)
        clock.advance(STEP)
        # The instant around an activation, where the two clocks disagree on the signer.
        for services in (ahead, behind):
            kid, _ = services.keyring.signing_key(services.clock())
            assert kid in published(ahead) and kid in published(behind)
    assert [1, 2, 3] == [key.generation for key in ahead.keyring.lifecycle.store.load()]
