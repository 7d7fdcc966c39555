"""The token contract (jwtkit.contract) is the one list of algorithms and key rules that the
issuer signs with and the verifier checks."""

from typing import get_args

import pytest

from jwtkit.contract import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    KEY_TYPES,
    Algorithm,
    generate_private_key,
    half_hash,
    key_type,
    public_jwk,
)


def test_the_algorithm_type_is_the_algorithm_list() -> None:
    """Settings typed with `Algorithm` accept exactly the contract's algorithms."""
    assert ALGORITHMS == get_args(Algorithm)
    assert DEFAULT_ALGORITHM in ALGORITHMS


def test_every_algorithm_has_its_key_type() -> None:
    """Each algorithm names the key type that signs it, and a new key for it is of that type
    and publishes as a JWK for it."""
    assert set(ALGORITHMS) == set(KEY_TYPES)
    for algorithm in ALGORITHMS:
        key = generate_private_key(algorithm)
        assert KEY_TYPES[algorithm] == key_type(key)
        jwk = public_jwk(key.public_key(), algorithm)
        assert (KEY_TYPES[algorithm], algorithm) == (jwk["kty"], jwk["alg"])


def test_rsa_keys_shorter_than_the_minimum_are_refused() -> None:
    """RFC 7518 §3.3: a key of 2048 bits or larger MUST be used with RS256 (and PS256)."""
    with pytest.raises(ValueError, match="shorter than 2048"):
        generate_private_key("RS256", rsa_key_size=1024)


# OpenID Connect Core 1.0 Appendix A.3: this access token and its at_hash (RS256). The EdDSA
# value is SHA-512's left half of the same token, computed with hashlib and equal to what
# Authlib's authlib.oidc.core.util.create_half_hash gives (tests/issuer/test_id_tokens_oidc_core.py
# cross-checks all four algorithms against it; Authlib is not in a jwtkit-only install).
CORE_A3_ACCESS_TOKEN = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"  # a vector
HALF_HASHES = {
    "RS256": "77QmUPtjPfzWtF2AnpK9RQ",
    "PS256": "77QmUPtjPfzWtF2AnpK9RQ",
    "ES256": "77QmUPtjPfzWtF2AnpK9RQ",
    "EdDSA": "q7nS86GgvvFaZkzALLWqJYaJIKw2wCDAVfCAsm5CrBM",
}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_at_hash_oidc_core_3_1_3_6(algorithm: str) -> None:
    """Core §3.1.3.6: the left-most half of the hash of the access token, base64url, with the
    hash of the ID token's alg (SHA-256 for the *256 algorithms, SHA-512 for Ed25519)."""
    assert set(HALF_HASHES) == set(ALGORITHMS)
    assert HALF_HASHES[algorithm] == half_hash(CORE_A3_ACCESS_TOKEN, algorithm)


def test_half_hash_of_an_unknown_algorithm_is_refused() -> None:
    """No hash is guessed for an algorithm outside the contract (HS256 included)."""
    with pytest.raises(ValueError, match="unsupported"):
        half_hash(CORE_A3_ACCESS_TOKEN, "HS256")
