"""Property tests (hypothesis) for the verifier: signed tokens with arbitrary claims and
headers only ever verify or raise InvalidToken; issued claims round-trip."""

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jwtkit import AccessTokenVerifier, InvalidToken, JwksCache
from jwtkit.testing import FakeClock
from tests.basics import ISSUER
from tests.verifier.fake_issuer import FaultyIssuer

pytestmark = pytest.mark.anyio

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, -(10**400), 2**63, 1e308])
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
claim_names = st.sampled_from(
    ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "preferred_username"]
)
header_names = st.sampled_from(["typ", "kid", "crit", "jku", "jwk", "x5c", "b64", "cty"])
SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=300, deadline=None, suppress_health_check=SUPPRESS)
@given(
    claims=st.dictionaries(claim_names, json_values, max_size=5),
    header=st.dictionaries(header_names, json_values, max_size=2),
)
async def test_arbitrary_claims_and_headers_verify_or_raise_invalid_token(
    fake: FaultyIssuer, clock: FakeClock, claims: dict[str, Any], header: dict[str, Any]
) -> None:
    """Properly signed tokens whose claims and header members hold any JSON values: the
    verifier answers with a principal or InvalidToken, nothing else (so no 500)."""
    jwks = JwksCache(ISSUER, transport=fake.transport(), clock=clock)
    async with AccessTokenVerifier(jwks, audience="resource-api", clock=clock) as verifier:
        kid = next(iter(fake.keys))
        with contextlib.suppress(InvalidToken):
            await verifier.verify(fake.signed(kid, header=header, **claims))


@settings(max_examples=100, deadline=None, suppress_health_check=SUPPRESS)
@given(
    subject=st.text(min_size=1, max_size=40),
    scopes=st.sets(st.from_regex(r"[a-z:._-]{1,12}", fullmatch=True), max_size=4),
    ttl=st.integers(min_value=1, max_value=86400),
    elapsed=st.integers(min_value=0, max_value=86400 + 30),
)
async def test_issued_claims_round_trip(
    fake: FaultyIssuer, clock: FakeClock, subject: str, scopes: set[str], ttl: int, elapsed: int
) -> None:
    """verify(issue(claims)) gives back the subject and scopes while exp + leeway has not
    passed, and InvalidToken from that instant on."""
    jwks = JwksCache(ISSUER, transport=fake.transport(), clock=clock)
    async with AccessTokenVerifier(
        jwks, audience="resource-api", leeway=30, clock=clock
    ) as verifier:
        issued_at = int(clock())
        token = fake.signed(
            next(iter(fake.keys)), sub=subject, scope=" ".join(scopes), exp=issued_at + ttl
        )
        clock.advance(elapsed)
        try:
            if elapsed < ttl + 30:
                principal = await verifier.verify(token)
                assert (subject, frozenset(scopes)) == (principal.subject, principal.scopes)
            else:
                with pytest.raises(InvalidToken, match="expired"):
                    await verifier.verify(token)
        finally:
            clock.advance(-elapsed)
