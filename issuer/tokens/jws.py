"""Compact JWS (RFC 7515 §7.1) of the issuer's tokens, signed with the active key's algorithm:
access tokens (typ at+jwt), ID tokens (JWT) and logout tokens (logout+jwt) alike. The header
is {alg, kid, typ}, sorted, the same for every token one key signs with one typ, and built
once; the signature is `cryptography`'s, in JWS form."""

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from issuer.keys.keyring import Signer
from jwtkit.contract import ALGORITHMS, KEY_TYPES, PrivateKey, b64url, key_type


def sign_jwt(claims: Mapping[str, object], signer: Signer, typ: str) -> str:
    """`claims` signed by `signer` (its kid, key and algorithm) with `typ` in the header."""
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{_header_segment(signer.kid, signer.algorithm, typ)}.{payload}"
    signature = _signature(signer.key, signer.algorithm, signing_input.encode())
    return f"{signing_input}.{b64url(signature)}"


@functools.lru_cache(maxsize=64)
def _header_segment(kid: str, algorithm: str, typ: str) -> str:
    header = {"alg": algorithm, "kid": kid, "typ": typ}
    return b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def _signature(key: PrivateKey, algorithm: str, signing_input: bytes) -> bytes:
    sign = _SIGNERS.get(algorithm)
    # The contract says which key type signs which algorithm.
    if sign is None or KEY_TYPES[algorithm] != key_type(key):
        raise ValueError(f"a {type(key).__name__} cannot sign {algorithm}")
    return sign(key, signing_input)


def _rs256(key: Any, signing_input: bytes) -> bytes:
    signature: bytes = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signature


def _ps256(key: Any, signing_input: bytes) -> bytes:
    # RFC 7518 §3.5: MGF1 with SHA-256, a salt as long as the hash.
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    signature: bytes = key.sign(signing_input, pss, hashes.SHA256())
    return signature


def _es256(key: Any, signing_input: bytes) -> bytes:
    # RFC 7518 §3.4: r || s, 32 octets each, not the DER that cryptography returns.
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _eddsa(key: Any, signing_input: bytes) -> bytes:
    signature: bytes = key.sign(signing_input)
    return signature


# One signer per algorithm of the contract (jwtkit.contract.ALGORITHMS).
_SIGNERS: dict[str, Callable[[Any, bytes], bytes]] = {
    "RS256": _rs256,
    "PS256": _ps256,
    "ES256": _es256,
    "EdDSA": _eddsa,
}
if set(_SIGNERS) != set(ALGORITHMS):  # pragma: no cover - a contract change needs a signer
    raise ImportError("issuer.tokens.jws must sign exactly the contract's algorithms")
