"""Envelope encryption of private signing keys under a key derived from the passphrase.

    passphrase ──scrypt(salt, N=2^17, r=8, p=1)──▶ key-encryption key (KEK, 256 bits)
    private key (PKCS#8 DER) ──AES-256-GCM(KEK, random nonce, aad=kid)──▶ stored blob

- scrypt with OWASP's recommended parameters (Password Storage Cheat Sheet: N=2^17, r=8, p=1,
  128 MiB) replaces PKCS#8's PBKDF2 with 2,048 iterations, which a GPU tries by the billion.
  It is derived once per process and salt, not once per key load.
- GCM authenticates: a wrong passphrase fails loudly, and the kid as associated data stops a
  blob being moved onto another key's row.
- The salt, the parameters and a check value live in one row, so a wrong passphrase is
  reported before any key is touched, and `keys rewrap` replaces them with every blob in one
  transaction.
"""

import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
_SCRYPT_MAXMEM = 256 * 1024 * 1024  # 128 * N * r bytes is needed; OpenSSL's default cap is 32 MiB
_NONCE_BYTES = 12
PREFIX = b"aesgcm-scrypt-v1:"
_CHECK_PLAINTEXT = b"jwt-issuer-kit key encryption check"
_CHECK_AAD = b"check"


class WrongPassphrase(Exception):
    pass


@dataclass(frozen=True, slots=True)
class KdfParameters:
    salt: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    @classmethod
    def fresh(cls) -> "KdfParameters":
        return cls(salt=os.urandom(16))


class KeyEncryptionKey:
    def __init__(self, passphrase: bytes, parameters: KdfParameters) -> None:
        self.parameters = parameters
        derived = hashlib.scrypt(
            passphrase,
            salt=parameters.salt,
            n=parameters.n,
            r=parameters.r,
            p=parameters.p,
            maxmem=_SCRYPT_MAXMEM,
            dklen=32,
        )
        self._aead = AESGCM(derived)

    def check_value(self) -> bytes:
        return self._seal(_CHECK_PLAINTEXT, _CHECK_AAD)

    def verify(self, check_value: bytes) -> None:
        """Raises WrongPassphrase unless this KEK made `check_value`."""
        if self._open(check_value, _CHECK_AAD) != _CHECK_PLAINTEXT:
            raise WrongPassphrase

    def wrap(self, kid: str, private_der: bytes) -> bytes:
        return PREFIX + self._seal(private_der, kid.encode())

    def unwrap(self, kid: str, blob: bytes) -> bytes:
        if not blob.startswith(PREFIX):
            raise ValueError("not an envelope-encrypted key")
        return self._open(blob[len(PREFIX) :], kid.encode())

    def _seal(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def _open(self, sealed: bytes, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], aad)
        except InvalidTag:
            raise WrongPassphrase from None


def is_wrapped(blob: bytes) -> bool:
    return blob.startswith(PREFIX)
