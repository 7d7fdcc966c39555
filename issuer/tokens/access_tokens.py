"""Access tokens as RFC 9068 JWTs, signed with the active key's algorithm."""

import functools
import json
import uuid
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from jwtkit.contract import (
    ACCESS_TOKEN_TYPE,
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    KEY_TYPES,
    PrivateKey,
    b64url,
    key_type,
)


def access_token_claims(
    *,
    subject: str,
    username: str | None,
    scopes: frozenset[str],
    client_id: str,
    issuer: str,
    audience: str,
    ttl: int,
    now: float,
) -> dict[str, Any]:
    """RFC 9068 §2.2 claims. `sub` is a user's stable id (never the renameable username), or the
    client id for a token a service got for itself, which then has no username."""
    issued_at = int(now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "exp": issued_at + ttl,
        "iat": issued_at,
        "jti": uuid.uuid4().hex,
        "client_id": client_id,
        "scope": " ".join(sorted(scopes)),
    }
    if username is not None:
        claims["preferred_username"] = username
    return claims


def sign_access_token(
    claims: dict[str, Any], kid: str, key: PrivateKey, algorithm: str = DEFAULT_ALGORITHM
) -> str:
    """The compact JWS (RFC 7515 §7.1): the header segment is the same for every token a key
    signs and is built once; the signature is `cryptography`'s, in JWS form."""
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{_header_segment(kid, algorithm)}.{payload}"
    return f"{signing_input}.{b64url(_signature(key, algorithm, signing_input.encode()))}"


@functools.lru_cache(maxsize=64)
def _header_segment(kid: str, algorithm: str) -> str:
    header = {"alg": algorithm, "kid": kid, "typ": ACCESS_TOKEN_TYPE}
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
    raise ImportError("issuer.tokens.access_tokens must sign exactly the contract's algorithms")
