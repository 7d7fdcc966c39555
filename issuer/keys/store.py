"""Signing keys in the database, private halves envelope-encrypted at rest (wrapping.py).

Stored private halves come in three forms, told apart by their first bytes:
- `aesgcm-scrypt-v1:…` — wrapped under the passphrase's key-encryption key (the current form);
- `-----BEGIN ENCRYPTED PRIVATE KEY-----` — PKCS#8 with PBKDF2, as the first release wrote;
  upgraded to the wrapped form when the store opens (`upgrade_legacy`);
- an unencrypted PKCS#8 PEM, when no passphrase is configured.
"""

import json
import logging

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from issuer.keys.schedule import SigningKey
from issuer.keys.wrapping import KdfParameters, KeyEncryptionKey, WrongPassphrase, is_wrapped
from issuer.store.db import scrub_deleted_content, session
from issuer.store.models import KeyEncryptionRow, SigningKeyRow
from jwtkit.contract import DEFAULT_ALGORITHM, PrivateKey, generate_private_key, public_jwk

logger = logging.getLogger(__name__)

_PBKDF2_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"


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
        algorithm=row.algorithm,
    )


def _wrong_passphrase(what: str, variable: str = "ISSUER_KEY_PASSPHRASE") -> KeyDecryptionFailed:
    return KeyDecryptionFailed(
        f"cannot read {what} with the configured {variable} (wrong, missing or unexpected "
        "passphrase)"
    )


class KeyEncryption:
    """The passphrase, and the key-encryption keys derived from it (one per salt, cached)."""

    def __init__(self, passphrase: bytes | None, variable: str = "ISSUER_KEY_PASSPHRASE") -> None:
        self.passphrase = passphrase
        self.variable = variable
        self._keks: dict[KdfParameters, KeyEncryptionKey] = {}

    def kek(self, parameters: KdfParameters) -> KeyEncryptionKey:
        if self.passphrase is None:
            raise _wrong_passphrase("the encrypted signing keys", self.variable)
        if parameters not in self._keks:
            self._keks[parameters] = KeyEncryptionKey(self.passphrase, parameters)
        return self._keks[parameters]

    def decrypt(self, kid: str, blob: bytes, parameters: KdfParameters | None) -> PrivateKey:
        """The private key in any stored form; KeyDecryptionFailed when this passphrase can't."""
        try:
            if is_wrapped(blob):
                if parameters is None:
                    raise WrongPassphrase
                der = self.kek(parameters).unwrap(kid, blob)
                key = serialization.load_der_private_key(der, password=None)
            elif blob.startswith(_PBKDF2_PEM):
                key = serialization.load_pem_private_key(blob, password=self.passphrase)
            else:  # stored unencrypted: readable with or without a passphrase
                key = serialization.load_pem_private_key(blob, password=None)
        except (WrongPassphrase, ValueError, TypeError):
            raise _wrong_passphrase(f"signing key {kid}", self.variable) from None
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | Ed25519PrivateKey):
            raise KeyDecryptionFailed(f"signing key {kid} is not of a supported type")
        return key

    def encrypt(self, kid: str, key: PrivateKey, parameters: KdfParameters | None) -> bytes:
        if parameters is None:
            return key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return self.kek(parameters).wrap(kid, der)


def _kdf_row(db: Session) -> KeyEncryptionRow | None:
    return db.get(KeyEncryptionRow, 1)


def _parameters(row: KeyEncryptionRow | None) -> KdfParameters | None:
    return None if row is None else KdfParameters(salt=row.salt, n=row.n, r=row.r, p=row.p)


class KeyStore:
    def __init__(self, engine: Engine, passphrase: bytes | None, key_size: int) -> None:
        self._engine = engine
        self._encryption = KeyEncryption(passphrase)
        self._key_size = key_size

    @property
    def encrypted(self) -> bool:
        return self._encryption.passphrase is not None

    def open(self, *, upgrade: bool) -> None:
        """Checks the passphrase against the stored check value, then (with `upgrade`, which
        `serve` asks for) rewraps keys the first release encrypted; raises KeyDecryptionFailed,
        changing nothing, when the passphrase is wrong."""
        with session(self._engine) as db:
            row = _kdf_row(db)
        parameters = _parameters(row)
        if row is not None and parameters is not None:
            try:
                self._encryption.kek(parameters).verify(row.check_value)
            except WrongPassphrase:
                raise _wrong_passphrase("the signing keys") from None
        if upgrade:
            self.upgrade_legacy()

    def upgrade_legacy(self) -> int:
        """Wraps keys the first release stored as PKCS#8 with PBKDF2 under the KEK, in place.
        Unencrypted keys stay as they are: processes without a passphrase may be reading them,
        and adding one is `keys rewrap`'s job."""
        if not self.encrypted:
            return 0
        with session(self._engine) as db:
            blobs = db.scalars(
                select(SigningKeyRow.private_pem).where(SigningKeyRow.private_pem.is_not(None))
            )
            if not any(blob.startswith(_PBKDF2_PEM) for blob in blobs if blob is not None):
                return 0
        parameters = self._kdf_parameters(create=True)
        upgraded = 0
        with session(self._engine) as db, db.begin():
            rows = db.scalars(select(SigningKeyRow).where(SigningKeyRow.private_pem.is_not(None)))
            for row in rows:
                assert row.private_pem is not None
                if not row.private_pem.startswith(_PBKDF2_PEM):
                    continue
                key = self._encryption.decrypt(row.kid, row.private_pem, parameters)
                row.private_pem = self._encryption.encrypt(row.kid, key, parameters)
                row.encrypted = True
                upgraded += 1
        if upgraded:
            scrub_deleted_content(self._engine)
            logger.info("signing keys rewrapped under scrypt", extra={"keys": upgraded})
        return upgraded

    def load(self) -> list[SigningKey]:
        with session(self._engine) as db:
            rows = db.scalars(select(SigningKeyRow).order_by(SigningKeyRow.generation))
            return [_signing_key(row) for row in rows]

    def create(
        self,
        generation: int,
        activates_at: float,
        now: float,
        algorithm: str = DEFAULT_ALGORITHM,
    ) -> SigningKey:
        private_key = generate_private_key(algorithm, rsa_key_size=self._key_size)
        jwk = public_jwk(private_key.public_key(), algorithm)
        kid = str(jwk["kid"])
        parameters = self._kdf_parameters(create=self.encrypted)
        row = SigningKeyRow(
            kid=kid,
            generation=generation,
            algorithm=algorithm,
            public_jwk=json.dumps(jwk),
            private_pem=self._encryption.encrypt(kid, private_key, parameters),
            encrypted=parameters is not None,
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

    def private_key(self, kid: str) -> PrivateKey:
        with session(self._engine) as db:
            blob = db.scalar(select(SigningKeyRow.private_pem).where(SigningKeyRow.kid == kid))
            parameters = _parameters(_kdf_row(db))
        if blob is None:
            raise KeyNotFound(kid)
        return self._encryption.decrypt(kid, blob, parameters)

    def set_activation(self, kid: str, activates_at: float) -> None:
        self._update(kid, activates_at=activates_at)

    def revoke(self, kid: str, now: float) -> None:
        self._update(kid, revoked_at=now, private_pem=None, destroyed_at=now)
        scrub_deleted_content(self._engine)

    def destroy_private(self, kid: str, now: float) -> None:
        self._update(kid, private_pem=None, destroyed_at=now)
        scrub_deleted_content(self._engine)

    def rewrap(self, old_passphrase: bytes | None) -> int:
        """Re-encrypts every private key from `old_passphrase` to this store's passphrase, with
        a fresh salt, in one transaction: all or nothing. The keys themselves (and so every
        token they signed) stay the same. Returns how many keys were rewrapped."""
        old = KeyEncryption(old_passphrase, "ISSUER_KEY_PASSPHRASE_OLD")
        new_parameters = KdfParameters.fresh() if self.encrypted else None
        with session(self._engine) as db, db.begin():
            kdf_row = _kdf_row(db)
            old_parameters = _parameters(kdf_row)
            if kdf_row is not None and old_parameters is not None:
                try:
                    old.kek(old_parameters).verify(kdf_row.check_value)
                except WrongPassphrase:
                    raise _wrong_passphrase("the signing keys", old.variable) from None
                db.delete(kdf_row)
                db.flush()
            if new_parameters is not None:
                db.add(self._new_kdf_row(new_parameters))
            rows = list(
                db.scalars(select(SigningKeyRow).where(SigningKeyRow.private_pem.is_not(None)))
            )
            for row in rows:
                assert row.private_pem is not None
                key = old.decrypt(row.kid, row.private_pem, old_parameters)
                row.private_pem = self._encryption.encrypt(row.kid, key, new_parameters)
                row.encrypted = new_parameters is not None
        scrub_deleted_content(self._engine)
        return len(rows)

    def _kdf_parameters(self, *, create: bool) -> KdfParameters | None:
        """The stored KDF parameters; made (with a fresh salt) on first use when `create`."""
        with session(self._engine) as db:
            row = _kdf_row(db)
        if row is not None or not create:
            return _parameters(row)
        parameters = KdfParameters.fresh()
        try:
            with session(self._engine) as db, db.begin():
                db.add(self._new_kdf_row(parameters))
        except IntegrityError:
            pass  # another process made it first: use theirs
        with session(self._engine) as db:
            return _parameters(_kdf_row(db))

    def _new_kdf_row(self, parameters: KdfParameters) -> KeyEncryptionRow:
        return KeyEncryptionRow(
            id=1,
            salt=parameters.salt,
            n=parameters.n,
            r=parameters.r,
            p=parameters.p,
            check_value=self._encryption.kek(parameters).check_value(),
        )

    def _update(self, kid: str, **values: object) -> None:
        with session(self._engine) as db, db.begin():
            result = db.execute(
                update(SigningKeyRow).where(SigningKeyRow.kid == kid).values(**values)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                raise KeyNotFound(kid)
