"""A process's view of the signing keys: the active private key and the JWKS, in memory.

`refresh` runs on a timer (and at start); signing and serving the JWKS never touch the
database, so both stay fast under load.

Failing safe: a key this process cannot decrypt is skipped (and logged), never aborting the
refresh, so revocations and new public keys still arrive; and a process whose last successful
refresh is older than `stale_after` stops signing, because it can no longer know whether its
active key was revoked.
"""

import hashlib
import json
import logging
import threading
from dataclasses import dataclass
from typing import NamedTuple

from issuer.keys import schedule as sched
from issuer.keys.lifecycle import KeyLifecycle
from issuer.keys.schedule import KeyState, SigningKey
from issuer.keys.store import KeyDecryptionFailed
from jwtkit import Clock
from jwtkit.contract import PrivateKey

logger = logging.getLogger(__name__)


class NoSigningKey(RuntimeError):
    """No key is active yet: the issuer is not ready to sign. `retry_after`: seconds until a
    waiting key starts signing, when one is (a revoked signer's replacement)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class JwksDocument:
    body: bytes
    etag: str
    kids: tuple[str, ...]


def jwks_document(keys: list[SigningKey]) -> JwksDocument:
    body = json.dumps({"keys": [key.public_jwk for key in keys]}, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return JwksDocument(body=body, etag=etag, kids=tuple(key.kid for key in keys))


class Signer(NamedTuple):
    kid: str
    key: PrivateKey
    algorithm: str


class KeyRing:
    def __init__(self, lifecycle: KeyLifecycle, clock: Clock, stale_after: float) -> None:
        self.lifecycle = lifecycle
        self._clock = clock
        self.stale_after = stale_after
        self._keys: list[SigningKey] = []
        self._private: dict[str, PrivateKey] = {}
        self._lock = threading.Lock()
        self.jwks = jwks_document([])
        self.refreshed_at: float | None = None

    def refresh(self) -> None:
        """Runs the schedule, then loads what this process needs to sign and publish."""
        now = self._clock()
        keys = self.lifecycle.maintain(now)
        schedule = self.lifecycle.schedule
        signers = [
            key
            for key in keys
            if key.has_private
            and sched.state(key, keys, now, schedule) in (KeyState.NEXT, KeyState.ACTIVE)
        ]
        # Decrypting is slow on purpose (a KDF): only for keys not yet in memory.
        private = {key.kid: self._private.get(key.kid) for key in signers}
        for kid, loaded in private.items():
            if loaded is None:
                private[kid] = self._decrypt(kid)
        with self._lock:
            self._keys = keys
            self._private = {kid: key for kid, key in private.items() if key is not None}
            self.jwks = jwks_document(sched.published_keys(keys, now, schedule))
            self.refreshed_at = now

    @property
    def keys(self) -> list[SigningKey]:
        """Every key in the table, as the last refresh read them."""
        with self._lock:
            return list(self._keys)

    def _decrypt(self, kid: str) -> PrivateKey | None:
        try:
            return self.lifecycle.store.private_key(kid)
        except KeyDecryptionFailed as error:
            # Keep going: other keys, the JWKS and revocations must still be picked up.
            logger.error("skipping a signing key", extra={"kid": kid, "error": str(error)})
            return None

    def stale(self, now: float) -> bool:
        return self.refreshed_at is None or now - self.refreshed_at > self.stale_after

    def signer(self, now: float) -> Signer:
        """The key that signs at `now`, with its algorithm; a pre-published next key takes
        over at its activation."""
        if self.stale(now):
            raise NoSigningKey("the signing keys have not been refreshed recently")
        with self._lock:
            active = sched.active_key(self._keys, now)
            private = self._private.get(active.kid) if active else None
            waiting = None if active else sched.next_signer(self._keys, now)
            loaded = waiting is not None and waiting.kid in self._private
        if active is None or private is None:
            # A revoked signer's replacement, loaded here, that every process must publish
            # before it signs: the client may try again at its activation.
            retry_after = waiting.activates_at - now if waiting and loaded else None
            raise NoSigningKey("no active signing key is loaded", retry_after)
        return Signer(active.kid, private, active.algorithm)

    def signing_key(self, now: float) -> tuple[str, PrivateKey]:
        kid, key, _algorithm = self.signer(now)
        return kid, key

    @property
    def ready(self) -> bool:
        """Signing, or about to: a revoked signer's replacement is loaded and waits only for
        every process to publish it (its seconds of 503s must not take every replica out of
        a load balancer, which would take the JWKS out too)."""
        try:
            self.signing_key(self._clock())
        except NoSigningKey as missing:
            return missing.retry_after is not None
        return True
