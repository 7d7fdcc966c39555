"""JSON Web Key helpers for RSA signing keys (RFC 7517, RFC 7518 §6.3, RFC 7638)."""

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

Jwk = dict[str, Any]

# RFC 7638 §3.2: the thumbprint of an RSA key covers exactly these members.
_RSA_THUMBPRINT_MEMBERS = ("e", "kty", "n")


def b64url_uint(value: int) -> str:
    """Base64url of the big-endian octets of a positive integer (RFC 7518 §2, Base64urlUInt)."""
    length = max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(length, "big"))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rsa_thumbprint(jwk: Jwk) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of an RSA JWK, base64url encoded."""
    # RFC 7638 §3: members in lexicographic order, no whitespace.
    canonical = json.dumps(
        {name: jwk[name] for name in _RSA_THUMBPRINT_MEMBERS}, separators=(",", ":"), sort_keys=True
    )
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def rsa_public_jwk(public_key: RSAPublicKey) -> Jwk:
    """The public JWK a verifier needs: never a private member; `kid` is the RFC 7638 thumbprint."""
    numbers = public_key.public_numbers()
    jwk: Jwk = {"kty": "RSA", "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e)}
    return {**jwk, "use": "sig", "alg": "RS256", "kid": rsa_thumbprint(jwk)}
