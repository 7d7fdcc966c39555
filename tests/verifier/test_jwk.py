"""JWK helpers: RFC 7638 thumbprints and the public JWK's shape (RFC 7517, RFC 7518 §6.3)."""

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from jwtkit.contract import rsa_public_jwk, rsa_thumbprint

VECTORS = Path(__file__).parent.parent / "vectors"


def test_rfc7638_section_3_1_thumbprint() -> None:
    """The thumbprint of RFC 7638's example key is the one the RFC gives."""
    jwk = json.loads((VECTORS / "rfc7638-3.1-rsa-jwk.json").read_text())
    assert "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" == rsa_thumbprint(jwk)


def test_public_jwk_has_no_private_member() -> None:
    """The published JWK carries n and e only, never d, p, q, dp, dq or qi."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = rsa_public_jwk(key.public_key())
    assert {"kty", "n", "e", "use", "alg", "kid"} == set(jwk)
    assert ("RSA", "sig", "RS256", "AQAB") == (jwk["kty"], jwk["use"], jwk["alg"], jwk["e"])
    assert rsa_thumbprint(jwk) == jwk["kid"]
