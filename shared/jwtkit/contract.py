"""The token contract, defined once for the issuer that writes tokens and the verifier that
checks them: the signing algorithms and their keys as JSON Web Keys (RFC 7517; RSA: RFC 7518
§6.3; EC: RFC 7518 §6.2; OKP Ed25519: RFC 8037, each with its RFC 7638 thumbprint as `kid`),
the access token's `typ` and required claims (RFC 9068), and the ID token's (OpenID Connect
Core 1.0 §2) with the half hash its `at_hash` is (§3.1.3.6)."""

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

# The asymmetric algorithms we sign and verify with; never HS* (a public key as a secret)
# nor none. `Algorithm` is for settings' types (mypy cannot build a Literal from a tuple);
# a test holds it equal to ALGORITHMS.
Algorithm = Literal["RS256", "PS256", "ES256", "EdDSA"]
ALGORITHMS: tuple[Algorithm, ...] = ("RS256", "PS256", "ES256", "EdDSA")
# The one algorithm a verifier accepts, and new keys sign with, unless configured otherwise
# (RFC 8725 §3.1: pinned).
DEFAULT_ALGORITHM: Algorithm = "RS256"
MIN_RSA_BITS = 2048
# RFC 9068 §2.1: access tokens MUST carry typ "at+jwt" (written without "application/").
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105  # a media type, not a secret
# RFC 9068 §4: typ MUST be "at+jwt" or "application/at+jwt" (media types compare without case).
ACCEPTED_ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
# RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat and jti are REQUIRED in an access token.
REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")
# OpenID Connect Core §2 defines no typ for ID tokens; we write the generic "JWT" (RFC 7519
# §5.1), which keeps them apart from access tokens (RFC 9068 §4) and logout tokens.
ID_TOKEN_TYPE = "JWT"  # noqa: S105  # a media type, not a secret
# What a verifier takes as an ID token's typ besides none at all (RFC 7519 §5.1: "JWT", or
# the media type): never at+jwt nor logout+jwt, so that no token passes for another kind.
ACCEPTED_ID_TOKEN_TYPES = frozenset({"jwt", "application/jwt"})
# OpenID Connect Back-Channel Logout 1.0 §2.4: logout tokens are explicitly typed.
LOGOUT_TOKEN_TYPE = "logout+jwt"  # noqa: S105  # a media type, not a secret
# Core §2: iss, sub, aud, exp and iat are REQUIRED in an ID token.
ID_TOKEN_REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat")

Jwk = dict[str, Any]
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

# RFC 7638 §3.2 and RFC 8037 §2: the thumbprint covers exactly these members, per key type.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}
# The key type each algorithm signs with (an RSA key: RS256 or PS256, as configured).
KEY_TYPES: dict[str, str] = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}
RSA_ALGORITHMS = tuple(algorithm for algorithm in ALGORITHMS if KEY_TYPES[algorithm] == "RSA")

# Core §3.1.3.6: at_hash (and c_hash) use "the hash algorithm used in the alg Header Parameter
# of the ID Token's JOSE Header": SHA-256 for the *256 algorithms; for EdDSA over Ed25519,
# SHA-512, the hash Ed25519 itself uses (as node-oidc-provider and Authlib both do).
_HALF_HASHES: dict[str, Callable[[bytes], "hashlib._Hash"]] = {
    "RS256": hashlib.sha256,
    "PS256": hashlib.sha256,
    "ES256": hashlib.sha256,
    "EdDSA": hashlib.sha512,
}
if set(_HALF_HASHES) != set(ALGORITHMS):  # pragma: no cover - a contract change needs a hash
    raise ImportError("jwtkit.contract must say how each of its algorithms half-hashes")


def b64url_uint(value: int) -> str:
    """Base64url of the big-endian octets of a positive integer (RFC 7518 §2, Base64urlUInt)."""
    length = max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(length, "big"))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def half_hash(value: str, algorithm: str) -> str:
    """Core §3.1.3.6: base64url of the left-most half of the hash of the ASCII octets of
    `value` (an access token, for at_hash), with the hash of `algorithm` (the ID token's alg)."""
    hash_of = _HALF_HASHES.get(algorithm)
    if hash_of is None:
        raise ValueError(f"unsupported signing algorithm {algorithm}")
    digest = hash_of(value.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


def thumbprint(jwk: Jwk) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of a public JWK, base64url encoded."""
    # RFC 7638 §3: the required members only, in lexicographic order, no whitespace.
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps(
        {name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True
    )
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def rsa_thumbprint(jwk: Jwk) -> str:
    return thumbprint(jwk)


def key_type(key: PublicKey | PrivateKey) -> str:
    """The JWK `kty` of a key: RSA, EC or OKP (RFC 7518 §6.1, RFC 8037 §2)."""
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return "EC"
    return "OKP"


def check_public_key(public_key: object) -> None:
    """ValueError unless `public_key` is one the contract verifies with: RSA of MIN_RSA_BITS
    or more, EC on P-256, Ed25519."""
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise ValueError(f"an RSA key shorter than {MIN_RSA_BITS} bits")
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise ValueError("an EC key on another curve than P-256")
    elif not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise ValueError("not a public key of a supported type")


def public_jwk(public_key: PublicKey, algorithm: str = DEFAULT_ALGORITHM) -> Jwk:
    """The public JWK a verifier needs: never a private member; `kid` is the RFC 7638
    thumbprint; `alg` says which algorithm the key is for."""
    jwk: Jwk
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        jwk = {"kty": "RSA", "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e)}
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise ValueError("only P-256 EC keys are supported")
        point = public_key.public_numbers()
        # RFC 7518 §6.2.1.2: coordinates padded to the curve's full size (32 octets).
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(point.x.to_bytes(32, "big")),
            "y": b64url(point.y.to_bytes(32, "big")),
        }
    else:
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    if KEY_TYPES.get(algorithm) != jwk["kty"]:
        raise ValueError(f"a {jwk['kty']} key cannot sign {algorithm}")
    return {**jwk, "use": "sig", "alg": algorithm, "kid": thumbprint(jwk)}


def rsa_public_jwk(public_key: rsa.RSAPublicKey) -> Jwk:
    return public_jwk(public_key, "RS256")


def generate_private_key(algorithm: str, *, rsa_key_size: int = MIN_RSA_BITS) -> PrivateKey:
    """A new signing key for `algorithm`: RSA (2048 bits unless told), P-256 or Ed25519."""
    kty = KEY_TYPES.get(algorithm)
    if kty == "RSA":
        if rsa_key_size < MIN_RSA_BITS:
            raise ValueError(f"an RSA key shorter than {MIN_RSA_BITS} bits")
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_key_size)
    if kty == "EC":
        return ec.generate_private_key(ec.SECP256R1())
    if kty == "OKP":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unsupported signing algorithm {algorithm}")


def key_algorithm(jwk: Mapping[str, Any]) -> str | None:
    """The one algorithm a JWK may verify, from its type and curve; None when it names none
    we support, or when its `alg` disagrees with its type."""
    kty, crv, alg = jwk.get("kty"), jwk.get("crv"), jwk.get("alg")
    if kty == "RSA":
        # An RSA key without `alg` could serve RS256 or PS256: RS256, the JOSE default.
        return alg if alg in RSA_ALGORITHMS else ("RS256" if alg is None else None)
    if kty == "EC" and crv == "P-256" and alg in (None, "ES256"):
        return "ES256"
    if kty == "OKP" and crv == "Ed25519" and alg in (None, "EdDSA", "Ed25519"):
        return "EdDSA"
    return None


__all__ = [
    "ACCEPTED_ACCESS_TOKEN_TYPES",
    "ACCEPTED_ID_TOKEN_TYPES",
    "ACCESS_TOKEN_TYPE",
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "ID_TOKEN_REQUIRED_CLAIMS",
    "ID_TOKEN_TYPE",
    "KEY_TYPES",
    "LOGOUT_TOKEN_TYPE",
    "MIN_RSA_BITS",
    "REQUIRED_CLAIMS",
    "RSA_ALGORITHMS",
    "Algorithm",
    "Jwk",
    "PrivateKey",
    "PublicKey",
    "b64url",
    "b64url_uint",
    "check_public_key",
    "generate_private_key",
    "half_hash",
    "key_algorithm",
    "key_type",
    "public_jwk",
    "rsa_public_jwk",
    "rsa_thumbprint",
    "thumbprint",
]
