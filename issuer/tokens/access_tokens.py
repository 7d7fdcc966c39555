"""Access tokens as RFC 9068 JWTs, signed with the active key's algorithm."""

import functools
import json
import uuid
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from jwtkit.contract import ACCESS_TOKEN_TYPE, DEFAULT_ALGORITHM, PrivateKey, b64url


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
    if algorithm == "RS256" and isinstance(key, rsa.RSAPrivateKey):
        return key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    if algorithm == "PS256" and isinstance(key, rsa.RSAPrivateKey):
        # RFC 7518 §3.5: MGF1 with SHA-256, a salt as long as the hash.
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        return key.sign(signing_input, pss, hashes.SHA256())
    if algorithm == "ES256" and isinstance(key, ec.EllipticCurvePrivateKey):
        # RFC 7518 §3.4: r || s, 32 octets each, not the DER that cryptography returns.
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if algorithm == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(signing_input)
    raise ValueError(f"a {type(key).__name__} cannot sign {algorithm}")
