"""GET /users/me through the resource API app: RFC 6750 challenges, scopes, 503 on a cold
start, and no 500 for any bearer string."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jwtkit.testing import FakeClock
from resource_api.app import create_app
from resource_api.config import ResourceApiSettings
from tests.support import ISSUER, b64, running
from tests.verifier.fake_issuer import FaultyIssuer

pytestmark = pytest.mark.anyio


@pytest.fixture
async def api(fake: FaultyIssuer, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        ResourceApiSettings(issuer_url=ISSUER), clock=clock, transport=fake.transport()
    )
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_users_me_names_the_user(api: httpx.AsyncClient, fake: FaultyIssuer) -> None:
    """A valid token with scope profile: 200 with username and scopes."""
    response = await api.get("/users/me", headers=bearer(fake.signed(next(iter(fake.keys)))))
    assert 200 == response.status_code
    assert ("alice", ["profile"]) == (response.json()["username"], response.json()["scopes"])


async def test_rfc6750_no_credentials(api: httpx.AsyncClient) -> None:
    """§3.1: a request without a token gets a challenge with no error code."""
    response = await api.get("/users/me")
    assert (401, 'Bearer realm="resource-api"') == (
        response.status_code,
        response.headers["www-authenticate"],
    )


async def test_rfc6750_other_scheme_is_no_credentials(api: httpx.AsyncClient) -> None:
    """Basic credentials are not bearer credentials: the plain challenge."""
    response = await api.get("/users/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert (401, 'Bearer realm="resource-api"') == (
        response.status_code,
        response.headers["www-authenticate"],
    )


async def test_rfc6750_invalid_token(
    api: httpx.AsyncClient, fake: FaultyIssuer, clock: FakeClock
) -> None:
    """§3.1 invalid_token: 401 with the error and a description in the challenge."""
    expired = fake.signed(next(iter(fake.keys)), exp=int(clock()) - 3600, iat=int(clock()) - 4000)
    response = await api.get("/users/me", headers=bearer(expired))
    assert 401 == response.status_code
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="resource-api", error="invalid_token", error_description="'
    )
    assert "invalid_token" == response.json()["error"]


async def test_rfc6750_insufficient_scope(api: httpx.AsyncClient, fake: FaultyIssuer) -> None:
    """§3.1 insufficient_scope: 403 naming the scope needed."""
    token = fake.signed(next(iter(fake.keys)), scope="email")
    response = await api.get("/users/me", headers=bearer(token))
    assert 403 == response.status_code
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="profile"' in challenge


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b", "Bearer ä"])
async def test_rfc6750_malformed_header_is_invalid_request(
    api: httpx.AsyncClient, header: str
) -> None:
    """A bearer header without a well-formed b64token is 400 invalid_request."""
    response = await api.get("/users/me", headers={b"Authorization": header.encode("latin-1")})
    assert (400, "invalid_request") == (response.status_code, response.json()["error"])


async def test_two_authorization_headers_are_invalid_request(
    api: httpx.AsyncClient, fake: FaultyIssuer
) -> None:
    """One request, one token."""
    token = fake.signed(next(iter(fake.keys)))
    headers = [("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
    response = await api.get("/users/me", headers=headers)
    assert 400 == response.status_code


async def test_token_in_query_string_is_never_taken(
    api: httpx.AsyncClient, fake: FaultyIssuer
) -> None:
    """RFC 6750 §2.3's query parameter leaks into logs: refused, even with a valid token."""
    token = fake.signed(next(iter(fake.keys)))
    response = await api.get("/users/me", params={"access_token": token})
    assert (400, "invalid_request") == (response.status_code, response.json()["error"])


async def test_cold_start_answers_503_with_retry_after(
    fake: FaultyIssuer, clock: FakeClock
) -> None:
    """Issuer down at start: 503 with Retry-After (not 401), and /readyz says not ready."""
    fake.mode = "down"
    app = create_app(
        ResourceApiSettings(issuer_url=ISSUER), clock=clock, transport=fake.transport()
    )
    transport = httpx.ASGITransport(app=app)
    async with running(app), httpx.AsyncClient(transport=transport, base_url="http://a") as client:
        token = fake.signed(next(iter(fake.keys)))
        response = await client.get("/users/me", headers=bearer(token))
        ready = await client.get("/readyz")
    assert (503, "5") == (response.status_code, response.headers["retry-after"])
    assert (503, "not ready") == (ready.status_code, ready.json()["status"])


async def test_readyz_reports_freshness(
    api: httpx.AsyncClient, fake: FaultyIssuer, clock: FakeClock
) -> None:
    """Keys loaded: ready with their age; past their lifetime with the issuer down: stale."""
    ready = (await api.get("/readyz")).json()
    assert ("ready", 1, 0.0) == (ready["status"], ready["keys"], ready["age_seconds"])
    fake.mode = "down"
    clock.advance(400)
    stale = await api.get("/readyz")
    assert (200, "stale") == (stale.status_code, stale.json()["status"])


async def test_openapi_declares_password_flow_at_the_issuer(api: httpx.AsyncClient) -> None:
    """/docs' Authorize button logs in at the issuer's token endpoint."""
    schema = (await api.get("/openapi.json")).json()
    flow = schema["components"]["securitySchemes"]["issuer"]["flows"]["password"]
    assert f"{ISSUER}/token" == flow["tokenUrl"]
    assert {"issuer": ["profile"]} in schema["paths"]["/users/me"]["get"]["security"]


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
bearer_strings = (
    st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
        max_size=300,
    )
    | st.from_regex(
        r"[A-Za-z0-9_\-]{1,80}\.[A-Za-z0-9_\-]{0,200}\.[A-Za-z0-9_\-]{0,80}", fullmatch=True
    )
    # Well-encoded segments holding arbitrary bytes, arbitrary JSON, or deep nesting.
    | st.tuples(st.binary(max_size=120), st.binary(max_size=120)).map(
        lambda parts: f"{b64(parts[0])}.{b64(parts[1])}.c2ln"
    )
    | st.tuples(json_like, json_like).map(
        lambda parts: (
            f"{b64(json.dumps(parts[0]).encode())}.{b64(json.dumps(parts[1]).encode())}.c2ln"
        )
    )
    | st.integers(min_value=1, max_value=6000).map(lambda depth: f"{b64(b'[' * depth)}.e30.c2ln")
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(token=bearer_strings)
async def test_arbitrary_bearer_strings_never_give_500(api: httpx.AsyncClient, token: str) -> None:
    """Whatever follows "Bearer ", the answer is 400 or 401."""
    header = f"Bearer {token}".encode("latin-1")
    response = await api.get("/users/me", headers={b"Authorization": header})
    assert response.status_code in (400, 401)


async def test_service_token_on_users_me_is_a_clear_403(
    api: httpx.AsyncClient, fake: FaultyIssuer
) -> None:
    """A client_credentials token (sub = client_id, no username) is valid but names no user:
    /users/me answers 403 with an explanation (Principal.kind is "service")."""
    kid = next(iter(fake.keys))
    token = fake.signed(kid, sub="billing", client_id="billing", preferred_username=None)
    response = await api.get("/users/me", headers=bearer(token))
    assert 403 == response.status_code
    assert "issued to a service" in response.json()["detail"]
    assert "billing" == response.json()["client_id"]
