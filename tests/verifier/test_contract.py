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
