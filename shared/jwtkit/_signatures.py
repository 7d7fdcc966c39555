"""Which algorithm a published key is for, and the signature check itself, done with
`cryptography` on the segments `read_header` has already validated (PyJWT parses keys; its
decoder would check the base64url alphabet byte by byte in Python, the larger part of a
fresh verification's cost).

The algorithm comes from the key (its `kty`, `crv` and `alg`), never from the token: a
token's `alg` must be allowed and equal its key's (RFC 8725 §3.1). The algorithms and the
keys allowed for them are the contract's (jwtkit.contract); this module only checks.
"""

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from jwtkit.contract import ALGORITHMS, check_public_key

_P256_SIGNATURE_BYTES = 64  # r and s, 32 bytes each (RFC 7518 §3.4)
# RFC 7518 §3.5: MGF1 with SHA-256, salt as long as the hash.
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


def load_key(jwk: Mapping[str, Any], algorithm: str) -> jwt.PyJWK:
    """The parsed key (PyJWT), its minimum strength checked; ValueError when unusable."""
    if algorithm not in _CHECKS:
        raise ValueError(f"unsupported algorithm {algorithm}")
    key = jwt.PyJWK(dict(jwk), algorithm=algorithm)
    check_public_key(key.key)
    return key


def signature_verifies(key: jwt.PyJWK, signing_input: bytes, signature_b64: str) -> bool:
    """Whether `signature_b64` (base64url, alphabet already checked) signs `signing_input`
    with `key`, under the key's own algorithm."""
    try:
        signature = base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4))
    except (binascii.Error, ValueError):
        return False
    check = _CHECKS.get(key.algorithm_name)
    if check is None:
        return False
    try:
        return check(key.key, signature, signing_input)
    except InvalidSignature:
        return False


def _rs256(public: Any, signature: bytes, signing_input: bytes) -> bool:
    public.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    return True


def _ps256(public: Any, signature: bytes, signing_input: bytes) -> bool:
    public.verify(signature, signing_input, _PSS, hashes.SHA256())
    return True


def _es256(public: Any, signature: bytes, signing_input: bytes) -> bool:
    # JWS carries r || s, fixed length (RFC 7518 §3.4); cryptography wants DER.
    if len(signature) != _P256_SIGNATURE_BYTES:
        return False
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    public.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
    return True


def _eddsa(public: Any, signature: bytes, signing_input: bytes) -> bool:
    public.verify(signature, signing_input)
    return True


# One check per algorithm of the contract; raises InvalidSignature when it does not verify.
_CHECKS: dict[str, Callable[[Any, bytes, bytes], bool]] = {
    "RS256": _rs256,
    "PS256": _ps256,
    "ES256": _es256,
    "EdDSA": _eddsa,
}
if set(_CHECKS) != set(ALGORITHMS):  # pragma: no cover - a contract change needs a check here
    raise ImportError("jwtkit._signatures must check exactly the contract's algorithms")
