"""A process's view of the signing keys: the active private key and the JWKS, in memory.

`refresh` runs on a timer (and at start); signing and serving the JWKS never touch the
database, so both stay fast under load.
"""

import hashlib
import json
import threading
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from issuer.keys import schedule as sched
from issuer.keys.lifecycle import KeyLifecycle
from issuer.keys.schedule import KeyState, SigningKey
from shared.clock import Clock


class NoSigningKey(RuntimeError):
    """No key is active yet: the issuer is not ready to sign."""


@dataclass(frozen=True, slots=True)
class JwksDocument:
    body: bytes
    etag: str
    kids: tuple[str, ...]


def jwks_document(keys: list[SigningKey]) -> JwksDocument:
    body = json.dumps({"keys": [key.public_jwk for key in keys]}, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return JwksDocument(body=body, etag=etag, kids=tuple(key.kid for key in keys))


class KeyRing:
    def __init__(self, lifecycle: KeyLifecycle, clock: Clock) -> None:
        self.lifecycle = lifecycle
        self._clock = clock
        self._keys: list[SigningKey] = []
        self._private: dict[str, RSAPrivateKey] = {}
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
                private[kid] = self.lifecycle.store.private_key(kid)
        with self._lock:
            self._keys = keys
            self._private = {kid: key for kid, key in private.items() if key is not None}
            self.jwks = jwks_document(sched.published_keys(keys, now, schedule))
            self.refreshed_at = now

    def signing_key(self, now: float) -> tuple[str, RSAPrivateKey]:
        """The key that signs at `now`; a pre-published next key takes over at its activation."""
        with self._lock:
            active = sched.active_key(self._keys, now)
            private = self._private.get(active.kid) if active else None
        if active is None or private is None:
            raise NoSigningKey("no active signing key is loaded")
        return active.kid, private

    @property
    def ready(self) -> bool:
        try:
            self.signing_key(self._clock())
        except NoSigningKey:
            return False
        return True
