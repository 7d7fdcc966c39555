"""Signing keys in the database, private halves encrypted at rest with the passphrase."""

import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from issuer.db import SigningKeyRow, session
from issuer.keys.schedule import SigningKey
from shared.jwk import rsa_public_jwk


class KeyRaceLost(Exception):
    """Another process created the key for this generation first; reload and use theirs."""


class KeyNotFound(LookupError):
    pass


class KeyDecryptionFailed(RuntimeError):
    """A stored private key cannot be read with the configured passphrase."""


def _signing_key(row: SigningKeyRow) -> SigningKey:
    return SigningKey(
        kid=row.kid,
        generation=row.generation,
        public_jwk=json.loads(row.public_jwk),
        created_at=row.created_at,
        activates_at=row.activates_at,
        revoked_at=row.revoked_at,
        destroyed_at=row.destroyed_at,
        has_private=row.private_pem is not None,
    )


class KeyStore:
    def __init__(self, engine: Engine, passphrase: bytes | None, key_size: int) -> None:
        self._engine = engine
        self._passphrase = passphrase
        self._key_size = key_size

    def load(self) -> list[SigningKey]:
        with session(self._engine) as db:
            rows = db.scalars(select(SigningKeyRow).order_by(SigningKeyRow.generation))
            return [_signing_key(row) for row in rows]

    def create(self, generation: int, activates_at: float, now: float) -> SigningKey:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=self._key_size)
        public_jwk = rsa_public_jwk(private_key.public_key())
        row = SigningKeyRow(
            kid=public_jwk["kid"],
            generation=generation,
            public_jwk=json.dumps(public_jwk),
            private_pem=self._serialize(private_key),
            encrypted=self._passphrase is not None,
            created_at=now,
            activates_at=activates_at,
            revoked_at=None,
            destroyed_at=None,
        )
        try:
            with session(self._engine) as db, db.begin():
                db.add(row)
        except IntegrityError:
            raise KeyRaceLost(generation) from None
        return _signing_key(row)

    def private_key(self, kid: str) -> rsa.RSAPrivateKey:
        with session(self._engine) as db:
            pem = db.scalar(select(SigningKeyRow.private_pem).where(SigningKeyRow.kid == kid))
        if pem is None:
            raise KeyNotFound(kid)
        try:
            key = serialization.load_pem_private_key(pem, password=self._passphrase)
        except (ValueError, TypeError) as error:
            raise KeyDecryptionFailed(
                f"cannot read signing key {kid} with the configured ISSUER_KEY_PASSPHRASE "
                f"(wrong, missing or unexpected passphrase): {error}"
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyDecryptionFailed(f"signing key {kid} is not an RSA key")
        return key

    def set_activation(self, kid: str, activates_at: float) -> None:
        self._update(kid, activates_at=activates_at)

    def revoke(self, kid: str, now: float) -> None:
        self._update(kid, revoked_at=now, private_pem=None, destroyed_at=now)

    def destroy_private(self, kid: str, now: float) -> None:
        self._update(kid, private_pem=None, destroyed_at=now)

    def _update(self, kid: str, **values: object) -> None:
        with session(self._engine) as db, db.begin():
            result = db.execute(
                update(SigningKeyRow).where(SigningKeyRow.kid == kid).values(**values)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                raise KeyNotFound(kid)

    def _serialize(self, key: rsa.RSAPrivateKey) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(self._passphrase)
            if self._passphrase is not None
            else serialization.NoEncryption()
        )
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
