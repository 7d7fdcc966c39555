"""The key lifecycle as pure functions of the stored keys, the settings and `now`.

A key's state is never stored: it follows from its times, so every issuer process that reads
the same rows agrees on which key signs at any instant, with no message between them.

    created ─ publish-ahead ─▶ activates ─ rotation interval ─▶ successor activates
    │ next: published,        │ active: signs, published       │ retired: published until
    │ does not sign           │                                │ TTL + leeway, then removed
    └─────────────────────────┴────────────────────────────────┴──── and destroyed

A revoked key leaves the JWKS at once and its private material is destroyed.

No process signs with a key that another process may not publish yet. Each process reads the
keys on its own timer, every key-check interval, so a key signs only once it has been stored
for `Schedule.activation_delay` (that interval plus ACTIVATION_MARGIN): the publish-ahead for a
scheduled rotation, and no less for `rotate --now` or a revoked signer's replacement. Meanwhile
`rotate --now` keeps signing with the old key; a revoked signer leaves nothing to sign with,
and the issuer answers 503 with Retry-After (`next_signer`) until the replacement starts.
The one exception is the first key of a new database: no verifier can hold an older set.
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from jwtkit.contract import DEFAULT_ALGORITHM, Jwk

# An activation meant to take effect at once (the first key, or a next key every process
# already publishes) is dated this far back, so that processes whose clocks run up to this much
# behind the one that wrote it also sign with the key at once, instead of answering 503 until
# their clock catches up. Backdating such a key is harmless: every process publishes it.
IMMEDIATE_SKEW = 5.0

# A key stored at `created_at` is in every process's JWKS by created_at + the key-check
# interval + however late that process's timer tick and refresh run (a read, a decrypt; under
# load, a busy event loop), and it must be there before any process, whose clock may run ahead
# of the writer's, signs with it. Five seconds: the 2 s of clock skew the processes are tested
# against, and 3 s for a late tick, a slow refresh and generating the key before it is stored
# (`created_at` is read before). A verifier that refetches through a load balancer a moment
# early still heals within its own retries (1, 2 and 4 s, shared/jwtkit/_jwks_cache.py).
ACTIVATION_MARGIN = 5.0


class KeyState(enum.StrEnum):
    NEXT = "next"
    ACTIVE = "active"
    RETIRED = "retired"
    EXPIRED = "expired"  # retired and past every token it signed: unpublished, destroyed
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A signing key's public half and its timeline, as stored."""

    kid: str
    generation: int
    public_jwk: Jwk
    created_at: float
    activates_at: float
    revoked_at: float | None
    destroyed_at: float | None
    has_private: bool
    algorithm: str = DEFAULT_ALGORITHM


@dataclass(frozen=True, slots=True)
class Schedule:
    rotation_interval: float
    publish_ahead: float
    # A retired key stays published this long after its last signature:
    # the access-token TTL plus the verifiers' clock-skew leeway.
    retired_grace: float
    # A key signs no sooner than this after it was stored: the key-check interval plus
    # ACTIVATION_MARGIN, so that every process publishes it first.
    activation_delay: float


def _live(keys: Sequence[SigningKey]) -> list[SigningKey]:
    return [key for key in keys if key.revoked_at is None]


def _takes_over(key: SigningKey) -> bool:
    """The key ends its predecessors' signing at its activation: it is live, or it was
    revoked only after it had started (a key revoked while waiting never took over)."""
    return key.revoked_at is None or key.activates_at <= key.revoked_at


def retires_at(key: SigningKey, keys: Sequence[SigningKey]) -> float | None:
    """When the key stopped (or will stop) signing: its successor's activation. A retired
    key never signs again, not even when its successor is revoked."""
    later = [k.activates_at for k in keys if k.generation > key.generation and _takes_over(k)]
    return min(later) if later else None


def unpublishes_at(key: SigningKey, keys: Sequence[SigningKey], schedule: Schedule) -> float | None:
    retired = retires_at(key, keys)
    return None if retired is None else retired + schedule.retired_grace


def state(key: SigningKey, keys: Sequence[SigningKey], now: float, schedule: Schedule) -> KeyState:
    if key.revoked_at is not None:
        return KeyState.REVOKED
    if now < key.activates_at:
        return KeyState.NEXT
    retired = retires_at(key, keys)
    if retired is None or now < retired:
        return KeyState.ACTIVE
    if now < retired + schedule.retired_grace:
        return KeyState.RETIRED
    return KeyState.EXPIRED


def active_key(keys: Sequence[SigningKey], now: float) -> SigningKey | None:
    """The one key that signs at `now`: the newest key whose activation has come, unless it
    has been revoked (then none does until its replacement's activation)."""
    started = [key for key in keys if _takes_over(key) and key.activates_at <= now]
    newest = max(started, key=lambda key: key.generation, default=None)
    return newest if newest is not None and newest.revoked_at is None else None


def next_signer(keys: Sequence[SigningKey], now: float) -> SigningKey | None:
    """The key that signs next, from its `activates_at` (None when none is waiting)."""
    waiting = [key for key in _live(keys) if key.activates_at > now]
    return min(waiting, key=lambda key: key.activates_at, default=None)


def earliest_activation(now: float, schedule: Schedule) -> float:
    """When a key stored at `now` may sign: once every process has had a key check in which to
    publish it."""
    return now + schedule.activation_delay


def after_publish_ahead(now: float, schedule: Schedule) -> float:
    """When a key stored at `now` signs in a planned rotation: after the publish-ahead."""
    return max(now + schedule.publish_ahead, earliest_activation(now, schedule))


def promoted_activation(key: SigningKey, now: float, schedule: Schedule) -> float:
    """When a waiting next key signs if asked to at once (`rotate --now`, its predecessor
    revoked): now, when it has been stored long enough; otherwise as soon as it has."""
    return max(now - IMMEDIATE_SKEW, key.created_at + schedule.activation_delay)


def published_keys(keys: Sequence[SigningKey], now: float, schedule: Schedule) -> list[SigningKey]:
    """Every key a verifier may meet at `now`: next, active and retired ones."""
    visible = (KeyState.NEXT, KeyState.ACTIVE, KeyState.RETIRED)
    return [key for key in keys if state(key, keys, now, schedule) in visible]


def next_activation(keys: Sequence[SigningKey], now: float, schedule: Schedule) -> float | None:
    """When a key created now should activate, or None when no new key is due yet."""
    if not keys:
        # The first key of a new database signs at once: no verifier can hold an older set,
        # and a process that has not read it yet has no key to sign with either.
        return now - IMMEDIATE_SKEW
    live = _live(keys)
    if not live:
        return earliest_activation(now, schedule)  # every key revoked
    newest = max(live, key=lambda key: key.generation)
    if newest.activates_at > now:
        return None  # a next key is already published and waiting
    due = newest.activates_at + schedule.rotation_interval
    if now < due - schedule.publish_ahead:
        return None
    # A late start (the issuer was down) still publishes the key for the full publish-ahead.
    return max(due, after_publish_ahead(now, schedule))


def keys_to_destroy(keys: Sequence[SigningKey], now: float, schedule: Schedule) -> list[SigningKey]:
    """Keys whose private material must go: expired or revoked ones that still hold it."""
    gone = (KeyState.EXPIRED, KeyState.REVOKED)
    return [key for key in keys if key.has_private and state(key, keys, now, schedule) in gone]


def next_generation(keys: Sequence[SigningKey]) -> int:
    return max((key.generation for key in keys), default=0) + 1
