"""One named test per rule of RFC 8725 (JWT best practices) and RFC 9068 §4 (validating
access tokens) that the verifier enforces."""

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any, cast

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from jwtkit import AccessTokenVerifier, InvalidToken, JwksCache, JwksPolicy
from jwtkit.contract import ALGORITHMS, PrivateKey, public_jwk
from jwtkit.testing import FakeClock, FakeIssuer
from jwtkit.testing import sign as forge
from tests.basics import ISSUER, b64
from tests.verifier.fake_issuer import FaultyIssuer

pytestmark = pytest.mark.anyio


# Every rule, for every signing algorithm.
@pytest.fixture(params=ALGORITHMS)
def algorithm(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake(clock: FakeClock, algorithm: str) -> FaultyIssuer:
    issuer = FaultyIssuer(clock, algorithm=algorithm)
    issuer.add_key()
    return issuer


@pytest.fixture
def attacker_key(algorithm: str) -> PrivateKey:
    """A key of the same type the issuer never published."""
    return FakeIssuer("https://attacker.test", algorithm=algorithm).keys.popitem()[1]


@pytest.fixture
async def verifier(
    fake: FaultyIssuer, clock: FakeClock, algorithm: str
) -> AsyncIterator[AccessTokenVerifier]:
    jwks = JwksCache(ISSUER, transport=fake.transport(), clock=clock, policy=JwksPolicy())
    async with AccessTokenVerifier(
        jwks, audience="resource-api", leeway=30, clock=clock, algorithms=[algorithm]
    ) as v:
        yield v


def kid_of(fake: FaultyIssuer) -> str:
    return next(iter(fake.keys))


async def rejected(verifier: AccessTokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    return caught.value.description


async def test_valid_token_is_accepted(verifier: AccessTokenVerifier, fake: FaultyIssuer) -> None:
    """The baseline every rejection below differs from by one thing."""
    principal = await verifier.verify(fake.signed(kid_of(fake)))
    assert ("user-1", "alice", frozenset({"profile"})) == (
        principal.subject,
        principal.username,
        principal.scopes,
    )


# RFC 8725 §2.1, §3.1: algorithms come from configuration, never from the token.


async def test_rfc8725_alg_none_is_rejected(
    verifier: AccessTokenVerifier, fake: FaultyIssuer
) -> None:
    """An unsigned token (alg none) is refused."""
    header = {"alg": "none", "typ": "at+jwt", "kid": kid_of(fake)}
    claims = jwt.decode(fake.signed(kid_of(fake)), options={"verify_signature": False})
    token = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."
    assert "algorithm" in await rejected(verifier, token)


async def test_rfc8725_hs256_with_public_key_as_secret_is_rejected(
    verifier: AccessTokenVerifier, fake: FaultyIssuer
) -> None:
    """Algorithm confusion: HMAC keyed with the published RSA key does not pass."""
    kid = kid_of(fake)
    public_pem = (
        fake.keys[kid]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    claims = jwt.decode(fake.signed(kid), options={"verify_signature": False})
    header = {"alg": "HS256", "typ": "at+jwt", "kid": kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert "algorithm" in await rejected(verifier, f"{signing_input}.{b64(mac)}")


async def test_rfc8725_other_algorithm_of_the_same_family_is_rejected(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, algorithm: str
) -> None:
    """RS512, ES512 or Ed448 are fine algorithms, but not the configured one."""
    kid = kid_of(fake)
    other = {"RS256": "RS512", "PS256": "PS512", "ES256": "ES512", "EdDSA": "Ed448"}[algorithm]
    assert "algorithm" in await rejected(verifier, fake.signed(kid, header={"alg": other}))


@pytest.mark.parametrize("alg", [["RS256"], {"alg": "RS256"}, 256, None])
async def test_rfc8725_alg_that_is_not_a_string_is_an_invalid_token(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, alg: object
) -> None:
    """A header whose alg is a list, an object, a number or null is refused like any other
    alg not allowed (RFC 6750 invalid_token), never an unhandled TypeError (a 500)."""
    assert "algorithm" in await rejected(verifier, fake.signed(kid_of(fake), header={"alg": alg}))


# RFC 9068 §4 and RFC 8725 §3.11: explicit typing.


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "at+jwe", "application/jwt"])
async def test_rfc9068_typ_must_be_at_jwt(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, typ: str | None
) -> None:
    """An ID token or any other JWT signed by the same key is not an access token."""
    assert "typ" in await rejected(verifier, fake.signed(kid_of(fake), header={"typ": typ}))


async def test_rfc9068_typ_with_application_prefix_is_accepted(
    verifier: AccessTokenVerifier, fake: FaultyIssuer
) -> None:
    """typ application/at+jwt is the same media type."""
    token = fake.signed(kid_of(fake), header={"typ": "application/at+jwt"})
    assert "user-1" == (await verifier.verify(token)).subject


async def test_kid_is_required(verifier: AccessTokenVerifier, fake: FaultyIssuer) -> None:
    """Without a kid the key cannot be chosen from the JWKS: refused."""
    assert "kid" in await rejected(verifier, fake.signed(kid_of(fake), header={"kid": None}))


@pytest.mark.parametrize("crit", [["exp"], ["b64"], [], "x"])
async def test_rfc7515_unknown_crit_is_rejected(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, crit: object
) -> None:
    """RFC 7515 §4.1.11: a critical extension we do not understand invalidates the JWS."""
    token = fake.signed(kid_of(fake), header={"crit": crit, "exp": 1})
    assert "critical" in await rejected(verifier, token)


@pytest.mark.parametrize("member", ["jku", "x5u"])
async def test_rfc8725_header_key_urls_are_never_followed(
    verifier: AccessTokenVerifier,
    fake: FaultyIssuer,
    attacker_key: PrivateKey,
    member: str,
    algorithm: str,
) -> None:
    """A token signed by an outside key, pointing at a URL serving it, is refused without any
    request to that URL."""
    claims = jwt.decode(fake.signed(kid_of(fake)), options={"verify_signature": False})
    header = {"alg": algorithm, "typ": "at+jwt", "kid": kid_of(fake), member: "http://evil.test/k"}
    before = sum(fake.requests.values())
    assert "signature" in await rejected(verifier, forge(header, claims, attacker_key, algorithm))
    assert before == sum(fake.requests.values())


async def test_rfc8725_embedded_jwk_is_never_used(
    verifier: AccessTokenVerifier,
    fake: FaultyIssuer,
    attacker_key: PrivateKey,
    algorithm: str,
) -> None:
    """A token carrying its own key (jwk header) and signed by it is refused."""
    own = public_jwk(attacker_key.public_key(), algorithm)
    claims = jwt.decode(fake.signed(kid_of(fake)), options={"verify_signature": False})
    for kid in (kid_of(fake), own["kid"]):
        header = {"alg": algorithm, "typ": "at+jwt", "kid": kid, "jwk": own}
        await rejected(verifier, forge(header, claims, attacker_key, algorithm))


async def test_rfc8725_x5c_chain_is_never_used(
    verifier: AccessTokenVerifier,
    fake: FaultyIssuer,
    attacker_key: PrivateKey,
    algorithm: str,
) -> None:
    """An x5c header is ignored: only the JWKS's key for the kid counts."""
    claims = jwt.decode(fake.signed(kid_of(fake)), options={"verify_signature": False})
    der = base64.b64encode(b"not-a-real-certificate").decode()
    header = {"alg": algorithm, "typ": "at+jwt", "kid": kid_of(fake), "x5c": [der]}
    assert "signature" in await rejected(verifier, forge(header, claims, attacker_key, algorithm))


async def test_signature_from_another_key_is_rejected(
    verifier: AccessTokenVerifier,
    fake: FaultyIssuer,
    attacker_key: PrivateKey,
    algorithm: str,
) -> None:
    """A token naming the issuer's kid but signed by another key fails the signature check."""
    claims = jwt.decode(fake.signed(kid_of(fake)), options={"verify_signature": False})
    header = {"alg": algorithm, "typ": "at+jwt", "kid": kid_of(fake)}
    assert "signature" in await rejected(verifier, forge(header, claims, attacker_key, algorithm))


async def test_tampered_claims_are_rejected(
    verifier: AccessTokenVerifier, fake: FaultyIssuer
) -> None:
    """Changing one claim after signing breaks the signature."""
    header, _, signature = fake.signed(kid_of(fake)).split(".")
    claims = jwt.decode(fake.signed(kid_of(fake)), options={"verify_signature": False})
    claims["scope"] = "profile admin"
    token = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert "signature" in await rejected(verifier, token)


async def test_oversized_token_is_refused_before_parsing(verifier: AccessTokenVerifier) -> None:
    """A token past 8 KiB is refused by its length alone."""
    assert "too long" in await rejected(verifier, "a" * 8193)


# RFC 9068 §4: claims.


async def test_rfc9068_iss_must_match_exactly(
    verifier: AccessTokenVerifier, fake: FaultyIssuer
) -> None:
    """A trailing slash is another issuer."""
    token = fake.signed(kid_of(fake), iss=ISSUER + "/")
    assert "issuer" in await rejected(verifier, token)


@pytest.mark.parametrize("aud", ["other-api", ["other-api", "third"], 7, [7]])
async def test_rfc9068_aud_must_contain_ours(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, aud: object
) -> None:
    """A token meant for another resource server is refused."""
    description = await rejected(verifier, fake.signed(kid_of(fake), aud=aud))
    assert "aud" in description or "audience" in description


async def test_rfc9068_aud_list_with_ours_is_accepted(
    verifier: AccessTokenVerifier, fake: FaultyIssuer
) -> None:
    """aud may be a list; containing our identifier is enough."""
    token = fake.signed(kid_of(fake), aud=["other-api", "resource-api"])
    assert "user-1" == (await verifier.verify(token)).subject


@pytest.mark.parametrize("claim", ["iss", "aud", "exp", "sub", "iat", "jti", "client_id"])
async def test_rfc9068_required_claims(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, claim: str
) -> None:
    """RFC 9068 §2.2 lists these as REQUIRED: a token without one is refused."""
    description = await rejected(verifier, fake.signed(kid_of(fake), **{claim: None}))
    assert claim in description


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", ["1900000000", True, [1900000000], 1e400, 10**400, -(10**400)])
async def test_numeric_dates_must_be_numbers(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, claim: str, value: object
) -> None:
    """A string, boolean, list, infinite or out-of-range value is not a NumericDate."""
    description = await rejected(verifier, fake.signed(kid_of(fake), **{claim: cast(Any, value)}))
    assert f"the {claim} claim is not a number" == description


async def test_exp_flips_exactly_at_the_leeway_edge(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, clock: FakeClock
) -> None:
    """Accepted until exp + leeway, refused from that instant on."""
    token = fake.signed(kid_of(fake), exp=int(clock()) + 100)
    clock.advance(100 + 30 - 0.001)
    assert "user-1" == (await verifier.verify(token)).subject
    clock.advance(0.001)
    assert "expired" in await rejected(verifier, token)


async def test_nbf_in_the_future_is_rejected(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, clock: FakeClock
) -> None:
    """A token not valid yet (beyond the leeway) is refused; within the leeway it passes."""
    assert "not valid yet" in await rejected(
        verifier, fake.signed(kid_of(fake), nbf=int(clock()) + 31)
    )
    assert await verifier.verify(fake.signed(kid_of(fake), nbf=int(clock()) + 30))


async def test_iat_in_the_future_is_rejected(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, clock: FakeClock
) -> None:
    """A token issued later than now plus the leeway was minted by a wrong clock or a forger."""
    token = fake.signed(kid_of(fake), iat=int(clock()) + 31)
    assert "future" in await rejected(verifier, token)


@pytest.mark.parametrize("sub", ["", 42])
async def test_sub_must_be_a_nonempty_string(
    verifier: AccessTokenVerifier, fake: FaultyIssuer, sub: object
) -> None:
    """The subject identifies the user: it must be a string."""
    assert "sub" in await rejected(verifier, fake.signed(kid_of(fake), sub=sub))


async def test_deeply_nested_header_is_invalid_token(verifier: AccessTokenVerifier) -> None:
    """A header of thousands of nested arrays (it fits in 8 KiB) is InvalidToken, not a
    RecursionError escaping as a 500."""
    token = f"{b64(b'[' * 5000)}.e30.c2ln"
    assert "not valid JSON" in await rejected(verifier, token)
