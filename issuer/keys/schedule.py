"""The key lifecycle as pure functions of the stored keys, the settings and `now`.

A key's state is never stored: it follows from its times, so every issuer process that reads
the same rows agrees on which key signs at any instant, with no message between them.

    created ─ publish-ahead ─▶ activates ─ rotation interval ─▶ successor activates
    │ next: published,        │ active: signs, published       │ retired: published until
    │ does not sign           │                                │ TTL + leeway, then removed
    └─────────────────────────┴────────────────────────────────┴──── and destroyed

A revoked key leaves the JWKS at once and its private material is destroyed.
"""

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from shared.jwk import Jwk

# An activation meant to take effect at once (the first key, `rotate --now`, a revoked
# signer's replacement) is dated this far back, so that processes whose clocks run up to this
# much behind the one that wrote it also sign with the key at once, instead of answering 503
# until their clock catches up. Backdating is harmless: no other live key is then waiting.
IMMEDIATE_SKEW = 5.0


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
    algorithm: str = "RS256"


@dataclass(frozen=True, slots=True)
class Schedule:
    rotation_interval: float
    publish_ahead: float
    # A retired key stays published this long after its last signature:
    # the access-token TTL plus the verifiers' clock-skew leeway.
    retired_grace: float


def _live(keys: Sequence[SigningKey]) -> list[SigningKey]:
    return [key for key in keys if key.revoked_at is None]


def retires_at(key: SigningKey, keys: Sequence[SigningKey]) -> float | None:
    """When the key stopped (or will stop) signing: its successor's activation."""
    later = [k.activates_at for k in _live(keys) if k.generation > key.generation]
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
    """The one key that signs at `now`: the newest live key whose activation has come."""
    started = [key for key in _live(keys) if key.activates_at <= now]
    return max(started, key=lambda key: key.generation, default=None)


def published_keys(keys: Sequence[SigningKey], now: float, schedule: Schedule) -> list[SigningKey]:
    """Every key a verifier may meet at `now`: next, active and retired ones."""
    visible = (KeyState.NEXT, KeyState.ACTIVE, KeyState.RETIRED)
    return [key for key in keys if state(key, keys, now, schedule) in visible]


def next_activation(keys: Sequence[SigningKey], now: float, schedule: Schedule) -> float | None:
    """When a key created now should activate, or None when no new key is due yet."""
    live = _live(keys)
    if not live:
        return now - IMMEDIATE_SKEW  # first start, or every key revoked: sign at once
    newest = max(live, key=lambda key: key.generation)
    if newest.activates_at > now:
        return None  # a next key is already published and waiting
    due = newest.activates_at + schedule.rotation_interval
    if now < due - schedule.publish_ahead:
        return None
    # A late start (the issuer was down) still publishes the key for the full publish-ahead.
    return max(due, now + schedule.publish_ahead)


def keys_to_destroy(keys: Sequence[SigningKey], now: float, schedule: Schedule) -> list[SigningKey]:
    """Keys whose private material must go: expired or revoked ones that still hold it."""
    gone = (KeyState.EXPIRED, KeyState.REVOKED)
    return [key for key in keys if key.has_private and state(key, keys, now, schedule) in gone]


def next_generation(keys: Sequence[SigningKey]) -> int:
    return max((key.generation for key in keys), default=0) + 1
