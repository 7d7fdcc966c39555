"""Which algorithm a published key is for, and the signature check itself, done with
`cryptography` on the segments `read_header` has already validated (PyJWT parses keys; its
decoder would check the base64url alphabet byte by byte in Python, the larger part of a
fresh verification's cost).

The algorithm comes from the key (its `kty`, `crv` and `alg`), never from the token: a
token's `alg` must be allowed and equal its key's (RFC 8725 §3.1).
"""

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from jwtkit.contract import MIN_RSA_BITS

_P256_SIGNATURE_BYTES = 64  # r and s, 32 bytes each (RFC 7518 §3.4)


def load_key(jwk: Mapping[str, Any], algorithm: str) -> jwt.PyJWK:
    """The parsed key (PyJWT), its minimum strength checked; ValueError when unusable."""
    key = jwt.PyJWK(dict(jwk), algorithm=algorithm)
    public = key.key
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size < MIN_RSA_BITS:
            raise ValueError(f"an RSA key shorter than {MIN_RSA_BITS} bits")
    elif isinstance(public, ec.EllipticCurvePublicKey):
        if not isinstance(public.curve, ec.SECP256R1):
            raise ValueError("an EC key on another curve than P-256")
    elif not isinstance(public, ed25519.Ed25519PublicKey):
        raise ValueError("not a public key of a supported type")
    return key


def signature_verifies(key: jwt.PyJWK, signing_input: bytes, signature_b64: str) -> bool:
    """Whether `signature_b64` (base64url, alphabet already checked) signs `signing_input`
    with `key`, under the key's own algorithm."""
    try:
        signature = base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4))
    except (binascii.Error, ValueError):
        return False
    public = key.key
    algorithm = key.algorithm_name
    try:
        if algorithm == "RS256":
            public.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        elif algorithm == "PS256":
            # RFC 7518 §3.5: MGF1 with SHA-256, salt as long as the hash.
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            public.verify(signature, signing_input, pss, hashes.SHA256())
        elif algorithm == "ES256":
            # JWS carries r || s, fixed length (RFC 7518 §3.4); cryptography wants DER.
            if len(signature) != _P256_SIGNATURE_BYTES:
                return False
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            public.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
        elif algorithm == "EdDSA":
            public.verify(signature, signing_input)
        else:
            return False
    except InvalidSignature:
        return False
    return True
