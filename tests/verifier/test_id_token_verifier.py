"""One named test per rule of OpenID Connect Core 1.0 §3.1.3.7 (ID token validation) that
`IdTokenVerifier` enforces, the hint rules of RP-Initiated Logout 1.0 §2, and the RFC 9068 §4
line between ID tokens and access tokens, both ways."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from jwtkit import IdTokenVerifier, InvalidToken
from jwtkit.contract import ALGORITHMS, LOGOUT_TOKEN_TYPE
from jwtkit.testing import FakeClock, FakeIssuer

pytestmark = pytest.mark.anyio

CLIENT = "my-app"
NONCE = "n-0S6_WzA2Mj"
ACCESS_TOKEN = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"  # Core A.3's


@pytest.fixture
def issuer(clock: FakeClock) -> FakeIssuer:
    return FakeIssuer(clock=clock)


@pytest.fixture
async def verifier(issuer: FakeIssuer) -> AsyncIterator[IdTokenVerifier]:
    async with issuer.id_token_verifier(CLIENT) as verifier:
        yield verifier


async def refused(verifier: IdTokenVerifier, token: str, **expected: Any) -> str:
    """The rule that refused the token (InvalidToken.rule)."""
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token, **expected)
    return caught.value.rule


async def test_valid_id_token_is_accepted(issuer: FakeIssuer, verifier: IdTokenVerifier) -> None:
    """The baseline each refusal below differs from by one thing: its claims come back."""
    token = issuer.id_token("alice", CLIENT, nonce=NONCE, auth_time=int(issuer.clock()))
    claims = await verifier.verify(token, nonce=NONCE, max_age=60)
    assert ("alice", CLIENT, NONCE) == (claims["sub"], claims["aud"], claims["nonce"])


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "iat"])
async def test_required_claims_core_2(
    issuer: FakeIssuer, verifier: IdTokenVerifier, claim: str
) -> None:
    """Core §2: iss, sub, aud, exp and iat are REQUIRED (iss is needed first, to pick keys)."""
    rule = await refused(verifier, issuer.id_token("alice", CLIENT, **{claim: None}))
    assert ("issuer" if claim == "iss" else "required") == rule


async def test_iss_is_the_issuer_core_3_1_3_7_2(
    issuer: FakeIssuer, verifier: IdTokenVerifier
) -> None:
    """§3.1.3.7 (2): the iss claim MUST exactly match the issuer (no trailing slash)."""
    for iss in (issuer.issuer + "/", "https://elsewhere.test"):
        assert "issuer" == await refused(verifier, issuer.id_token("alice", CLIENT, iss=iss))


async def test_aud_contains_the_client_id_core_3_1_3_7_3(
    issuer: FakeIssuer, verifier: IdTokenVerifier
) -> None:
    """§3.1.3.7 (3): refused unless aud lists this client; a list that does is accepted (with
    azp, rule 4)."""
    assert "aud" == await refused(verifier, issuer.id_token("alice", "other-app"))
    assert "aud" == await refused(verifier, issuer.id_token("alice", CLIENT, aud=["other-app"]))
    token = issuer.id_token("alice", CLIENT, aud=[CLIENT, "api"], azp=CLIENT)
    assert [CLIENT, "api"] == (await verifier.verify(token))["aud"]


async def test_several_audiences_need_azp_core_3_1_3_7_4(
    issuer: FakeIssuer, verifier: IdTokenVerifier
) -> None:
    """§3.1.3.7 (4): with several audiences the azp claim must be present."""
    token = issuer.id_token("alice", CLIENT, aud=[CLIENT, "api"])
    assert "azp" == await refused(verifier, token)
    assert (
        CLIENT == (await verifier.verify(issuer.id_token("alice", CLIENT, aud=[CLIENT])))["aud"][0]
    )


async def test_azp_is_the_client_id_core_3_1_3_7_5(
    issuer: FakeIssuer, verifier: IdTokenVerifier
) -> None:
    """§3.1.3.7 (5): an azp claim, when present, must be this client's id."""
    for aud in (CLIENT, [CLIENT, "api"]):
        token = issuer.id_token("alice", CLIENT, aud=aud, azp="other-app")
        assert "azp" == await refused(verifier, token)
    assert CLIENT == (await verifier.verify(issuer.id_token("alice", CLIENT, azp=CLIENT)))["azp"]


async def test_signature_by_the_issuers_key_core_3_1_3_7_6(
    issuer: FakeIssuer, verifier: IdTokenVerifier
) -> None:
    """§3.1.3.7 (6): validated by the issuer's published key, found by kid; a token signed by
    another key, or one whose signature was altered, is refused."""
    impostor = FakeIssuer(issuer.issuer + "#impostor", clock=issuer.clock)
    for kid, rule in ((issuer.signing_kid, "signature"), (impostor.signing_kid, "unknown_key")):
        forged = impostor.id_token("alice", CLIENT, iss=issuer.issuer, header={"kid": kid})
        assert rule == await refused(verifier, forged)
    head, _, signature = issuer.id_token("alice", CLIENT).split(".")
    tampered = issuer.id_token("mallory", CLIENT).split(".")[1]
    assert "signature" == await refused(verifier, f"{head}.{tampered}.{signature}")


async def test_alg_is_the_configured_one_core_3_1_3_7_7(clock: FakeClock) -> None:
    """§3.1.3.7 (7): the alg is the one the client registered (RS256 unless told): an ES256
    token from an issuer the app expects RS256 from is refused, as is alg none."""
    issuer = FakeIssuer(algorithm="ES256", clock=clock)
    async with issuer.id_token_verifier(CLIENT, algorithms=["RS256"]) as verifier:
        assert "alg" == await refused(verifier, issuer.id_token("alice", CLIENT))
    async with issuer.id_token_verifier(CLIENT) as verifier:
        unsigned = issuer.id_token("alice", CLIENT, header={"alg": "none"}).rsplit(".", 1)[0]
        assert "alg" == await refused(verifier, unsigned + ".")


async def test_exp_has_not_passed_core_3_1_3_7_9(
    issuer: FakeIssuer, verifier: IdTokenVerifier, clock: FakeClock
) -> None:
    """§3.1.3.7 (9): the current time MUST be before exp, give or take the leeway (30 s)."""
    token = issuer.id_token("alice", CLIENT, exp=int(clock()) + 10)
    clock.advance(39)
    await verifier.verify(token)
    clock.advance(1)
    assert "exp" == await refused(verifier, token)


async def test_iat_is_not_in_the_future_core_3_1_3_7_10(
    issuer: FakeIssuer, verifier: IdTokenVerifier, clock: FakeClock
) -> None:
    """§3.1.3.7 (10): iat can reject tokens issued too far from now: beyond the leeway ahead."""
    assert "iat" == await refused(verifier, issuer.id_token("alice", CLIENT, iat=clock() + 31))
    assert "iat" == await refused(verifier, issuer.id_token("alice", CLIENT, iat="now"))


async def test_nonce_is_the_one_sent_core_3_1_3_7_11(
    issuer: FakeIssuer, verifier: IdTokenVerifier
) -> None:
    """§3.1.3.7 (11): a nonce sent must come back, the same value: missing or different is
    refused (a token replayed from another sign-in)."""
    assert "nonce" == await refused(verifier, issuer.id_token("alice", CLIENT), nonce=NONCE)
    other = issuer.id_token("alice", CLIENT, nonce="another")
    assert "nonce" == await refused(verifier, other, nonce=NONCE)
    not_text: dict[str, Any] = {"nonce": 12}  # the kit types nonce as a string
    number = issuer.id_token("alice", CLIENT, **not_text)
    assert "nonce" == await refused(verifier, number, nonce="12")


async def test_no_nonce_when_none_was_sent_core_3_1_3_7_11(
    issuer: FakeIssuer, verifier: IdTokenVerifier
) -> None:
    """A nonce in a token for a request that sent none belongs to another sign-in: refused
    (openid-client's expectNoNonce)."""
    assert "nonce" == await refused(verifier, issuer.id_token("alice", CLIENT, nonce=NONCE))


async def test_max_age_needs_auth_time_core_3_1_3_7_13(
    issuer: FakeIssuer, verifier: IdTokenVerifier
) -> None:
    """§3.1.3.7 (13) and §2: with max_age asked for, auth_time is required."""
    assert "auth_time" == await refused(verifier, issuer.id_token("alice", CLIENT), max_age=300)
    await verifier.verify(issuer.id_token("alice", CLIENT))  # without max_age: optional


async def test_auth_time_within_max_age_core_3_1_3_7_13(
    issuer: FakeIssuer, verifier: IdTokenVerifier, clock: FakeClock
) -> None:
    """§3.1.3.7 (13): a sign-in longer ago than max_age (plus the leeway) is refused, one
    second younger is accepted; an auth_time that is no number never is."""
    signed_in = int(clock())
    clock.advance(330)
    token = issuer.id_token("alice", CLIENT, auth_time=signed_in)
    assert signed_in == (await verifier.verify(token, max_age=300))["auth_time"]
    clock.advance(1)
    assert "auth_time" == await refused(verifier, token, max_age=300)
    not_number: dict[str, Any] = {"auth_time": str(signed_in)}
    text = issuer.id_token("alice", CLIENT, **not_number)
    assert "auth_time" == await refused(verifier, text)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_at_hash_is_the_access_tokens_core_3_1_3_8(clock: FakeClock, algorithm: str) -> None:
    """§3.1.3.8 and §3.2.2.9: given the access token, at_hash must be present and its half
    hash under the ID token's alg; another token's, or none, is refused."""
    issuer = FakeIssuer(algorithm=algorithm, clock=clock)
    async with issuer.id_token_verifier(CLIENT) as verifier:
        token = issuer.id_token("alice", CLIENT, access_token=ACCESS_TOKEN)
        await verifier.verify(token, access_token=ACCESS_TOKEN)
        assert "at_hash" == await refused(verifier, token, access_token=ACCESS_TOKEN + "x")
        without = issuer.id_token("alice", CLIENT)
        assert "at_hash" == await refused(verifier, without, access_token=ACCESS_TOKEN)
        await verifier.verify(token)  # no access token at hand: nothing to compare


async def test_sub_is_at_most_255_characters_core_2(
    issuer: FakeIssuer, verifier: IdTokenVerifier
) -> None:
    """Core §2: sub is a string that MUST NOT exceed 255 ASCII characters."""
    await verifier.verify(issuer.id_token("a" * 255, CLIENT))
    for sub in ("a" * 256, "", 42):
        assert "claim_types" == await refused(verifier, issuer.id_token("x", CLIENT, sub=sub))


async def test_critical_header_extensions_are_refused_rfc7515_4_1_11(
    issuer: FakeIssuer, verifier: IdTokenVerifier
) -> None:
    """RFC 7515 §4.1.11, as for access tokens: a crit we do not understand voids the token."""
    token = issuer.id_token("alice", CLIENT, header={"crit": ["exp"], "exp": 1})
    assert "crit" == await refused(verifier, token)


async def test_typ_jwt_or_none_is_an_id_tokens(
    issuer: FakeIssuer, verifier: IdTokenVerifier
) -> None:
    """Core §2 requires no typ: none at all, JWT or application/jwt (any case) is accepted."""
    for typ in (None, "JWT", "jwt", "application/jwt"):
        await verifier.verify(issuer.id_token("alice", CLIENT, header={"typ": typ}))


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT"])
async def test_access_token_is_not_an_id_token_rfc9068_4(
    issuer: FakeIssuer, verifier: IdTokenVerifier, typ: str
) -> None:
    """RFC 9068 §4 and RFC 8725 §3.11: an access token, even one whose aud is the client's,
    is refused on its typ, by verify and by verify_hint."""
    token = issuer.token("alice", audience=CLIENT, typ=typ)
    assert "typ" == await refused(verifier, token)
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify_hint(token)
    assert "typ" == caught.value.rule


async def test_logout_token_is_not_an_id_token_backchannel_2_4(
    issuer: FakeIssuer, verifier: IdTokenVerifier
) -> None:
    """Back-Channel Logout 1.0 §2.4: logout tokens are typed logout+jwt so that they cannot
    pass for ID tokens."""
    for typ in (LOGOUT_TOKEN_TYPE, "application/logout+jwt"):
        token = issuer.id_token("alice", CLIENT, header={"typ": typ})
        assert "typ" == await refused(verifier, token)


async def test_id_token_is_not_an_access_token_rfc9068_4(issuer: FakeIssuer) -> None:
    """RFC 9068 §4: an API's AccessTokenVerifier refuses an ID token on its typ (JWT), and
    even one forged to say at+jwt on its aud (a client id, never the API)."""
    # The access token's other required claims, so that only typ or aud can refuse it.
    access: dict[str, Any] = {"client_id": CLIENT, "jti": "j"}
    at_jwt = {"typ": "at+jwt"}
    async with issuer.verifier() as api:
        for token, rule in (
            (issuer.id_token("alice", CLIENT, **access), "typ"),
            (issuer.id_token("alice", issuer.audience, **access), "typ"),
            (issuer.id_token("alice", CLIENT, header=at_jwt), "required"),
            (issuer.id_token("alice", CLIENT, header=at_jwt, **access), "aud"),
        ):
            with pytest.raises(InvalidToken) as caught:
                await api.verify(token)
            assert rule == caught.value.rule


async def test_hint_is_accepted_after_expiry_rp_initiated_logout_2(
    issuer: FakeIssuer, verifier: IdTokenVerifier, clock: FakeClock
) -> None:
    """RP-Initiated Logout 1.0 §2: the OP SHOULD accept an id_token_hint whose exp has passed;
    its nonce is not asked about either."""
    token = issuer.id_token("alice", CLIENT, nonce=NONCE, sid="s-1")
    clock.advance(86_400)
    assert "exp" == await refused(verifier, token, nonce=NONCE)
    claims = await verifier.verify_hint(token)
    assert ("alice", "s-1") == (claims["sub"], claims["sid"])


async def test_hint_is_signed_by_the_issuer_for_this_client_rp_initiated_logout_2(
    issuer: FakeIssuer, verifier: IdTokenVerifier
) -> None:
    """RP-Initiated Logout 1.0 §2: a hint is an ID token the OP issued to the client: another
    client's, another issuer's, or a forged signature is refused."""
    head, body, _ = issuer.id_token("alice", CLIENT).split(".")
    other_signature = issuer.id_token("bob", CLIENT).split(".")[2]
    for token, rule in (
        (issuer.id_token("alice", "other-app"), "aud"),
        (issuer.id_token("alice", CLIENT, iss="https://elsewhere.test"), "issuer"),
        (f"{head}.{body}.{other_signature}", "signature"),
    ):
        with pytest.raises(InvalidToken) as caught:
            await verifier.verify_hint(token)
        assert rule == caught.value.rule


def test_a_verifier_needs_a_client_id(issuer: FakeIssuer) -> None:
    """An ID token is for one client: the verifier must know which."""
    with pytest.raises(ValueError, match="client"):
        issuer.id_token_verifier("")
