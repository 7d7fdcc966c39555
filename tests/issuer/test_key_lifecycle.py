"""Signing-key lifecycle: a simulated 100 days of scheduled rotation, with the invariants a
verifier relies on checked at every step; two processes on one database; revocation; and the
rule that no process signs with a key another may not publish yet (`rotate --now`, a revoked
signer's replacement), with processes refreshing on their own timers."""

import base64
import json
import math
import re
import threading
from pathlib import Path

import pytest

from issuer.cli.main import main
from issuer.config import IssuerSettings
from issuer.keys.keyring import NoSigningKey
from issuer.keys.schedule import ACTIVATION_MARGIN, IMMEDIATE_SKEW, KeyState
from issuer.services import IssuerServices
from issuer.wiring import build_services
from jwtkit import system_clock
from jwtkit.testing import FakeClock
from tests.support import issuer_client, issuer_settings

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
        # Each process's timer, as deployed: a new key signs one key check plus a margin
        # after it is stored (the tests tick the schedule themselves).
        "key_check_interval": 5,
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


def test_rotate_now_activates_once_every_process_publishes_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    """`keys rotate --now`: the old key stays published and keeps signing until every process
    has had a key check to publish the new key; then the new key signs."""
    settings = lifecycle_settings(tmp_path / "data")
    services = build_services(settings, clock)
    services.keyring.refresh()
    old, _ = services.keyring.signing_key(clock())
    rotation = services.keyring.lifecycle.rotate(clock(), immediately=True)
    services.keyring.refresh()
    assert old == services.keyring.signing_key(clock())[0]
    clock.advance(activation_delay(settings))
    services.keyring.refresh()
    assert rotation.key.kid == services.keyring.signing_key(clock())[0]
    assert {old, rotation.key.kid} == published(services)


def activation_delay(settings: IssuerSettings) -> float:
    """How long a key is stored before it may sign: one key check plus the margin."""
    return settings.key_check_interval + ACTIVATION_MARGIN


def test_rule_rotate_now_does_not_sign_before_a_key_check_plus_margin(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Issue 19, "a key signs only after it has been stored for at least one key-check
    interval plus a margin", `rotate --now` included: not a moment before created_at +
    interval + margin, and from then on. Regression: it signed at once (backdated 5 s), while
    other processes still published the old set."""
    settings = lifecycle_settings(tmp_path / "data")
    services = build_services(settings, clock)
    services.keyring.refresh()
    old, _ = services.keyring.signing_key(clock())
    new = services.keyring.lifecycle.rotate(clock(), immediately=True).key
    assert new.created_at + activation_delay(settings) == new.activates_at
    services.keyring.refresh()
    clock.advance(activation_delay(settings) - 0.001)
    assert old == services.keyring.signing_key(clock())[0]
    clock.advance(0.001)
    assert new.kid == services.keyring.signing_key(clock())[0]


@pytest.mark.parametrize("stored_for", [0.0, 3.0, 1800.0])
def test_rule_rotate_now_promotes_a_next_key_once_it_has_been_stored_long_enough(
    tmp_path: Path, clock: FakeClock, stored_for: float
) -> None:
    """`rotate --now` with a next key already published: it signs at once when it has been
    stored for a key check plus the margin, otherwise at the earliest instant it has; no
    second key is made."""
    settings = lifecycle_settings(tmp_path / "data")
    services = build_services(settings, clock)
    services.keyring.refresh()
    lifecycle = services.keyring.lifecycle
    waiting = lifecycle.rotate(clock()).key
    clock.advance(stored_for)
    rotation = lifecycle.rotate(clock(), immediately=True)
    services.keyring.refresh()
    assert (waiting.kid, False) == (rotation.key.kid, rotation.created)
    safe = waiting.created_at + activation_delay(settings)
    assert max(clock() - IMMEDIATE_SKEW, safe) == rotation.key.activates_at
    clock.advance(max(0.0, safe - clock()))
    assert waiting.kid == services.keyring.signing_key(clock())[0]


class Process:
    """An issuer process: its own key ring, refreshed at start and then on its own timer
    (every key-check interval from `offset`), all on one database and one clock."""

    def __init__(self, settings: IssuerSettings, clock: FakeClock, offset: float) -> None:
        self.services = build_services(settings, clock)
        self.services.keyring.refresh()
        self.interval = settings.key_check_interval
        self.due = clock() + offset

    def tick(self, now: float) -> None:
        if now >= self.due:
            self.services.keyring.refresh()
            self.due += self.interval

    def signer(self, now: float) -> str | None:
        try:
            return self.services.keyring.signing_key(now)[0]
        except NoSigningKey:
            return None


def simulate(processes: list[Process], clock: FakeClock, seconds: float, revoked: str) -> set[str]:
    """Steps the clock by 0.1 s; at every instant each key a process signs with is in every
    other process's JWKS (bar a just revoked key, which a process signs with until its next
    key check by design). Returns the kids that signed."""
    signed = set()
    end = clock() + seconds
    while clock() < end:
        for process in processes:
            process.tick(clock())
        for process in processes:
            kid = process.signer(clock())
            if kid is None or kid == revoked:
                continue
            signed.add(kid)
            for other in processes:
                assert kid in published(other.services), (kid, clock())
        clock.advance(0.1)
    return signed


@pytest.mark.parametrize("operation", ["rotate --now", "revoke", "rotate, then --now"])
def test_rule_no_process_signs_with_a_key_another_does_not_publish_yet(
    tmp_path: Path, clock: FakeClock, operation: str
) -> None:
    """Issue 19: two processes on one database, each refreshing on its own 5 s timer (2.5 s
    apart), and an operator's command from a third at an unlucky instant (just after one
    process's key check). At every 0.1 s either process signs with a key that the other
    already publishes, and the new key does take over. Regression: `rotate --now` and a
    revoked signer's replacement signed at once, in the process that read them first."""
    settings = lifecycle_settings(tmp_path / "data")
    processes = [Process(settings, clock, 0.0), Process(settings, clock, 2.5)]
    admin = build_services(settings, clock).keyring.lifecycle
    simulate(processes, clock, 12, revoked="")
    old = processes[0].signer(clock())
    assert old is not None
    if operation == "rotate, then --now":
        admin.rotate(clock())
        simulate(processes, clock, 0.3, revoked="")  # before either process read it
    clock.advance(0.05)  # the command runs just after a key check
    if operation == "revoke":
        new = admin.revoke(old, clock())
    else:
        new = admin.rotate(clock(), immediately=True).key
    assert new is not None
    signed = simulate(processes, clock, 30, revoked=old if operation == "revoke" else "")
    assert new.kid in signed
    assert [new.kid, new.kid] == [process.signer(clock()) for process in processes]


@pytest.mark.parametrize("with_next_key", [False, True])
def test_revoking_the_active_key(tmp_path: Path, clock: FakeClock, with_next_key: bool) -> None:
    """Revoked: out of the JWKS at the next refresh, private half destroyed at once, and
    signing continues with the published next key (or a new one) once every process
    publishes it."""
    services = build_services(lifecycle_settings(tmp_path / "data"), clock)
    services.keyring.refresh()
    lifecycle = services.keyring.lifecycle
    compromised, _ = services.keyring.signing_key(clock())
    waiting = lifecycle.rotate(clock()).key if with_next_key else None
    replacement = lifecycle.revoke(compromised, clock())
    revoked_at = clock()
    services.keyring.refresh()
    assert replacement is not None
    assert compromised not in published(services)
    clock.advance(replacement.activates_at - clock())  # the replacement's activation
    assert replacement.kid == services.keyring.signing_key(clock())[0]
    if waiting is not None:
        assert waiting.kid == replacement.kid
    revoked = next(key for key in lifecycle.store.load() if key.kid == compromised)
    assert (False, revoked_at) == (revoked.has_private, revoked.revoked_at)


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


@pytest.mark.anyio
async def test_rule_revoked_signer_is_503_with_retry_after_until_its_replacement_signs(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Issue 19: after `keys revoke` of the key that signs, with no next key to promote,
    nothing is safe to sign with: /token answers 503 temporarily_unavailable, its Retry-After
    the seconds until the replacement starts, never a token from the revoked key; then the
    replacement signs; /readyz stays ready meanwhile. Regression: the replacement signed at
    once."""
    settings = lifecycle_settings(tmp_path / "data", demo_users=["alice:pw"])
    login = {"username": "alice", "password": "pw"}
    async with issuer_client(settings, clock) as (client, services):
        keyring = services.keyring
        compromised, _ = keyring.signing_key(clock())
        replacement = keyring.lifecycle.revoke(compromised, clock())
        keyring.refresh()
        assert replacement is not None
        for waited in (0.0, 4.5, activation_delay(settings) - 4.5 - 0.1):
            clock.advance(waited)
            refused = await client.post("/token", data=login)
            assert (503, "temporarily_unavailable") == (
                refused.status_code,
                refused.json()["error"],
            )
            left = replacement.activates_at - clock()
            assert str(math.ceil(left)) == refused.headers["retry-after"]
            # Still ready, so a load balancer keeps the replica (and its JWKS) in.
            assert 200 == (await client.get("/readyz")).status_code
        clock.advance(replacement.activates_at - clock())
        issued = await client.post("/token", data=login)
        assert 200 == issued.status_code, issued.text
        header = issued.json()["access_token"].split(".")[0]
        assert replacement.kid == json.loads(base64.urlsafe_b64decode(header + "=="))["kid"]


def test_keys_cli_says_when_the_new_key_starts_signing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What an operator sees: `keys rotate --now` names the new key, when it starts signing
    (in about one key check plus the margin) and that the old key signs until then; `keys
    revoke` of the key that signs names its replacement, when it starts, and the 503s until
    then. The commands run on the wall clock, as from a shell."""
    data = tmp_path / "data"
    settings = lifecycle_settings(data)
    running = build_services(settings, system_clock)
    running.keyring.refresh()
    old, _ = running.keyring.signing_key(system_clock())
    monkeypatch.setenv("ISSUER_DATA_DIR", str(data))
    monkeypatch.setenv("ISSUER_KEY_CHECK_INTERVAL", "5")
    assert 0 == main(["keys", "rotate", "--now"])
    rotated = capsys.readouterr().out
    new = next(key for key in running.keyring.lifecycle.store.load() if key.kid != old)
    assert f"published {new.kid}; it signs from " in rotated
    assert re.search(r"\(in (9|10) s\)", rotated), rotated
    assert f"{old} keeps signing until then" in rotated
    assert 0 == main(["keys", "revoke", old, "--yes"])
    revoked = capsys.readouterr().out
    assert f"revoked {old}; {new.kid} signs from " in revoked
    assert "until then /token answers 503 with Retry-After" in revoked
