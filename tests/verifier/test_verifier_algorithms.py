"""RS256, PS256, ES256 and EdDSA: each verifies when allowed; a key's algorithm comes from
its JWK (kty, crv, alg) and a token's alg must equal it; every cross pair, HS256 keyed with a
public key, none, and the key size and curve minimums are refused (RFC 8725 §3.1, §3.5)."""

import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, rsa

from jwtkit import AccessTokenVerifier, InvalidToken, JwksCache, TrustedIssuer
from jwtkit.contract import ALGORITHMS, b64url, public_jwk
from jwtkit.testing import FakeClock, FakeIssuer, sign

pytestmark = pytest.mark.anyio


@pytest.fixture(params=ALGORITHMS)
def issuer(request: pytest.FixtureRequest, clock: FakeClock) -> FakeIssuer:
    return FakeIssuer(f"https://{request.param.lower()}.test", algorithm=request.param, clock=clock)


@pytest.fixture
async def every_algorithm(issuer: FakeIssuer) -> AsyncIterator[AccessTokenVerifier]:
    """A verifier allowing all four: only the key decides which one a token may use."""
    async with issuer.verifier(algorithms=ALGORITHMS) as verifier:
        yield verifier


async def refused(verifier: AccessTokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    return caught.value.description


def claims_of(issuer: FakeIssuer) -> dict[str, Any]:
    token = issuer.token()
    return dict(jwt.decode(token, options={"verify_signature": False}))


async def test_each_algorithm_verifies_when_allowed(issuer: FakeIssuer) -> None:
    async with issuer.verifier() as verifier:  # allows exactly the issuer's algorithm
        assert "alice" == (await verifier.verify(issuer.token("alice"))).subject


async def test_each_algorithm_is_refused_when_not_allowed(issuer: FakeIssuer) -> None:
    others = [alg for alg in ALGORITHMS if alg != issuer.algorithm]
    async with issuer.verifier(algorithms=others) as verifier:
        assert "algorithm is not allowed" in await refused(verifier, issuer.token())


async def test_rfc8725_a_token_alg_other_than_its_keys_is_refused(
    every_algorithm: AccessTokenVerifier, issuer: FakeIssuer
) -> None:
    """Every cross pair: an RS256 key with an ES256 header, an EC key with an EdDSA header,
    an RSA key for PS256 with an RS256 header, … (signed by the right key, even)."""
    for header_alg in ALGORITHMS:
        if header_alg != issuer.algorithm:
            token = issuer.token(header={"alg": header_alg})
            assert "not its key's" in await refused(every_algorithm, token), header_alg


async def test_rfc8725_rs256_signature_under_a_ps256_key_is_refused(clock: FakeClock) -> None:
    """The same RSA key material, published for PS256: a valid RS256 signature is refused."""
    ps = FakeIssuer("https://ps.test", algorithm="PS256", clock=clock)
    key = ps.keys[ps.signing_kid]
    header = {"alg": "RS256", "typ": "at+jwt", "kid": ps.signing_kid}
    async with ps.verifier(algorithms=ALGORITHMS) as verifier:
        token = sign(header, claims_of(ps), key, "RS256")
        assert "not its key's" in await refused(verifier, token)


async def test_rfc8725_hs256_keyed_with_the_public_key_is_refused(
    every_algorithm: AccessTokenVerifier, issuer: FakeIssuer
) -> None:
    """The classic confusion: HMAC with the published key (PEM or JWK text) as the secret."""
    public = issuer.keys[issuer.signing_kid].public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "at+jwt", "kid": issuer.signing_kid}
    for secret in (pem, json.dumps(public_jwk(public, issuer.algorithm)).encode()):
        segments = ".".join(
            b64url(json.dumps(part).encode()) for part in (header, claims_of(issuer))
        )
        mac = hmac.new(secret, segments.encode(), "sha256").digest()
        token = f"{segments}.{b64url(mac)}"
        assert "algorithm is not allowed" in await refused(every_algorithm, token)


async def test_rfc8725_alg_none_is_refused(
    every_algorithm: AccessTokenVerifier, issuer: FakeIssuer
) -> None:
    token = issuer.token(header={"alg": "none"})
    unsigned = token.rsplit(".", 1)[0] + "."
    assert "algorithm is not allowed" in await refused(every_algorithm, unsigned)


def test_hs256_and_none_cannot_be_allowed() -> None:
    jwks = JwksCache("https://issuer.test")
    for algorithms in (["HS256"], ["none"], ["RS256", "HS512"], ["RS512"]):
        with pytest.raises(ValueError, match="unsupported algorithms"):
            TrustedIssuer(jwks, "api", algorithms)


WEAK_KEYS: dict[str, Any] = {
    "rsa-1024": (lambda: rsa.generate_private_key(65537, 1024), "RS256"),  # noqa: S505 (weak on purpose)
    "ec-p384": (lambda: ec.generate_private_key(ec.SECP384R1()), "ES384"),
    "ec-p256k": (lambda: ec.generate_private_key(ec.SECP256K1()), "ES256K"),
}


@pytest.mark.parametrize("weak", sorted(WEAK_KEYS))
async def test_key_size_and_curve_minimums(clock: FakeClock, weak: str) -> None:
    """An RSA key under 2048 bits, an EC key on another curve than P-256: never loaded, so
    their tokens are signed by an unknown key, whatever the header claims."""
    make, algorithm = WEAK_KEYS[weak]
    fake = FakeIssuer("https://weak.test", clock=clock)
    key = make()
    jwk = dict(
        jwt.algorithms.get_default_algorithms()[algorithm].to_jwk(key.public_key(), as_dict=True)
    )
    jwk.update(kid="weak", use="sig")
    published = fake.jwks

    def with_weak_key() -> dict[str, Any]:
        return {"keys": [*published()["keys"], jwk]}

    fake.jwks = with_weak_key  # type: ignore[method-assign]
    async with fake.verifier(algorithms=ALGORITHMS) as verifier:
        for alg in ALGORITHMS:
            token = _signed_anyhow({"alg": alg, "typ": "at+jwt", "kid": "weak"}, fake, key)
            assert "unknown key" in await refused(verifier, token)
        assert not verifier.jwks.knows("weak")


def _signed_anyhow(header: dict[str, Any], fake: FakeIssuer, key: Any) -> str:
    """Signed by the weak key itself, with the nearest algorithm it can do."""
    algorithm = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    if algorithm == "ES256" and not isinstance(key.curve, ec.SECP256R1):
        algorithm = "ES384" if isinstance(key.curve, ec.SECP384R1) else "ES256K"
    return sign(header, claims_of(fake), key, algorithm)


async def test_ed448_and_mismatched_jwk_alg_are_not_loaded(clock: FakeClock) -> None:
    fake = FakeIssuer("https://odd.test", clock=clock)
    ed448_key = ed448.Ed448PrivateKey.generate().public_key()
    raw = ed448_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ec_jwk = public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), "ES256")
    extra = [
        {"kty": "OKP", "crv": "Ed448", "x": b64url(raw), "kid": "ed448"},
        {**ec_jwk, "alg": "RS256", "kid": "ec-says-rs256"},
        {**ec_jwk, "alg": "EdDSA", "kid": "ec-says-eddsa"},
    ]
    published = fake.jwks
    fake.jwks = lambda: {"keys": [*published()["keys"], *extra]}  # type: ignore[method-assign]
    async with fake.verifier(algorithms=ALGORITHMS) as verifier:
        await verifier.verify(fake.token())  # the good key still works
        for kid in ("ed448", "ec-says-rs256", "ec-says-eddsa"):
            assert not verifier.jwks.knows(kid)


async def test_es256_signature_must_be_the_raw_64_bytes(clock: FakeClock) -> None:
    """RFC 7518 §3.4: r || s. A DER signature over the same input, valid for ECDSA, is not a
    JWS signature."""
    fake = FakeIssuer("https://es.test", algorithm="ES256", clock=clock)
    token = fake.token()
    signing_input = token.rsplit(".", 1)[0]
    key = fake.keys[fake.signing_kid]
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    async with fake.verifier() as verifier:
        assert "signature" in await refused(verifier, f"{signing_input}.{b64url(der)}")
        assert "signature" in await refused(verifier, f"{signing_input}.{b64url(b'x' * 64)}")
