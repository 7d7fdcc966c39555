"""What changes keys: scheduled rotation and destruction, manual rotation, revocation.

Every operation reads the keys, decides with `schedule`, and writes; creating a key relies on
the unique `generation` to settle races between processes.
"""

import logging
from dataclasses import dataclass

from issuer.keys import schedule as sched
from issuer.keys.schedule import KeyState, Schedule, SigningKey
from issuer.keys.store import KeyNotFound, KeyRaceLost, KeyStore
from jwtkit.contract import DEFAULT_ALGORITHM

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rotation:
    key: SigningKey
    created: bool  # False when an already published next key was used


class KeyLifecycle:
    def __init__(
        self, store: KeyStore, schedule: Schedule, algorithm: str = DEFAULT_ALGORITHM
    ) -> None:
        self.store = store
        self.schedule = schedule
        self.algorithm = algorithm  # what new keys sign with (ISSUER_SIGNING_ALG)

    def maintain(self, now: float) -> list[SigningKey]:
        """Creates the key a rotation needs, destroys what has expired; returns all keys."""
        keys = self.store.load()
        activates_at = sched.next_activation(keys, now, self.schedule)
        if activates_at is None and self._algorithm_changed(keys, now):
            # A new algorithm goes through the normal rotation: its first key is published
            # for the full publish-ahead before it signs, and the old key retires as usual.
            activates_at = sched.after_publish_ahead(now, self.schedule)
        if activates_at is not None:
            self._create(keys, activates_at, now)
            keys = self.store.load()
        expired = sched.keys_to_destroy(keys, now, self.schedule)
        for key in expired:
            self.store.destroy_private(key.kid, now)
            logger.info("signing key destroyed", extra={"kid": key.kid})
        # The usual tick changes nothing: one read of the table, not three.
        return self.store.load() if expired else keys

    def rotate(self, now: float, *, immediately: bool = False) -> Rotation:
        """Publishes a next key now, activating after publish-ahead; `immediately`, as soon
        as every process publishes it (a waiting next key that every process already
        publishes: at once). Until then the current key keeps signing."""
        keys = self.store.load()
        waiting = self._next_key(keys, now)
        if waiting is not None:
            promoted = sched.promoted_activation(waiting, now, self.schedule)
            if immediately and promoted < waiting.activates_at:
                self.store.set_activation(waiting.kid, promoted)
            return Rotation(self._reload(waiting.kid), created=False)
        activates_at = (
            sched.earliest_activation(now, self.schedule)
            if immediately
            else sched.after_publish_ahead(now, self.schedule)
        )
        return Rotation(self._create(keys, activates_at, now), created=True)

    def revoke(self, kid: str, now: float) -> SigningKey | None:
        """Unpublishes and destroys a key at once; returns the key that signs from now on, or
        (the active key revoked) its replacement, which signs from its `activates_at`."""
        keys = self.store.load()
        target = next((key for key in keys if key.kid == kid), None)
        if target is None:
            raise KeyNotFound(kid)
        was_active = sched.active_key(keys, now) == target
        self.store.revoke(kid, now)
        logger.warning("signing key revoked", extra={"kid": kid})
        if not was_active:
            return sched.active_key(self.store.load(), now)
        # The revoked key signed: promote the published next key, or make a new one. Either
        # signs only once every process publishes it; until then nothing signs (503).
        return self.rotate(now, immediately=True).key

    def check_readable(self, now: float) -> None:
        """Raises KeyDecryptionFailed unless this process can decrypt the active key: a
        process that cannot must not change the keys of the processes that can."""
        active = sched.active_key(self.store.load(), now)
        if active is not None and active.has_private:
            self.store.private_key(active.kid)

    def states(self, now: float) -> list[tuple[SigningKey, KeyState, float | None]]:
        keys = self.store.load()
        return [
            (key, sched.state(key, keys, now, self.schedule), sched.retires_at(key, keys))
            for key in keys
        ]

    def _create(self, keys: list[SigningKey], activates_at: float, now: float) -> SigningKey:
        generation = sched.next_generation(keys)
        try:
            key = self.store.create(generation, activates_at, now, self.algorithm)
        except KeyRaceLost:
            # Another process made this generation's key first: that one is the key.
            return next(key for key in self.store.load() if key.generation == generation)
        logger.info(
            "signing key created",
            extra={
                "kid": key.kid,
                "generation": generation,
                "activates_at": activates_at,
                "algorithm": key.algorithm,
            },
        )
        return key

    def _algorithm_changed(self, keys: list[SigningKey], now: float) -> bool:
        """The active key signs with another algorithm than configured, and no next key is
        waiting (when one is, the change waits for it to take over)."""
        active = sched.active_key(keys, now)
        return (
            active is not None
            and active.algorithm != self.algorithm
            and self._next_key(keys, now) is None
        )

    def _next_key(self, keys: list[SigningKey], now: float) -> SigningKey | None:
        return next(
            (key for key in keys if sched.state(key, keys, now, self.schedule) is KeyState.NEXT),
            None,
        )

    def _reload(self, kid: str) -> SigningKey:
        return next(key for key in self.store.load() if key.kid == kid)
