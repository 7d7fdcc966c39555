"""The verifier's opt-in revocation check against the real issuer app (RFC 7662 over an
in-process transport): a revoked token stops working at once on an endpoint that asks, keeps
working on one that does not, and an issuer that cannot answer gives 503 (fail closed)."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Security

from issuer.config import IssuerSettings
from jwtkit import (
    AccessTokenVerifier,
    BearerAuth,
    JwksCache,
    Principal,
    RevocationCheck,
    add_bearer_error_handlers,
)
from jwtkit.testing import FakeClock
from tests.support import ISSUER, issuer_client, running

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]


async def _protected_api(
    issuer_transport: httpx.AsyncBaseTransport,
    introspection_transport: httpx.AsyncBaseTransport,
    secret: str,
    clock: FakeClock,
) -> tuple[FastAPI, AccessTokenVerifier]:
    verifier = AccessTokenVerifier(
        JwksCache(ISSUER, transport=issuer_transport, clock=clock),
        audience="resource-api",
        clock=clock,
    )
    check = RevocationCheck(
        f"{ISSUER}/introspect", "api", secret, transport=introspection_transport, clock=clock
    )
    plain = BearerAuth(verifier, token_url=f"{ISSUER}/token")
    strict = BearerAuth(verifier, token_url=f"{ISSUER}/token", check_revocation=check)
    app = FastAPI()
    add_bearer_error_handlers(app, realm="api")

    @app.get("/plain")
    async def plain_endpoint(who: Annotated[Principal, Security(plain)]) -> dict[str, Any]:
        return {"sub": who.subject}

    @app.get("/strict")
    async def strict_endpoint(who: Annotated[Principal, Security(strict)]) -> dict[str, Any]:
        return {"sub": who.subject}

    return app, verifier


@pytest.fixture
async def setup(
    settings: IssuerSettings, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with issuer_client(settings, clock) as (issuer, services):
        services.users.add("alice", "pw", frozenset({"profile"}))
        _c, secret = services.clients.add(
            "api",
            public=False,
            grants=frozenset({"introspection"}),
            scopes=frozenset(),
            audiences=(),
            auth_method="client_secret_basic",
        )
        issuer_transport = issuer._transport
        app, verifier = await _protected_api(
            issuer_transport, issuer_transport, secret or "", clock
        )
        async with running(app), verifier:
            api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")
            async with api:
                yield issuer, api


async def test_revoked_token_stops_within_the_positive_ttl_where_checked(
    setup: tuple[httpx.AsyncClient, httpx.AsyncClient], clock: FakeClock
) -> None:
    """Before revocation both endpoints answer 200. After it, the checking endpoint keeps its
    positive answer for at most positive_ttl (30 s), then answers 401 invalid_token; the plain
    endpoint accepts the token until its exp."""
    issuer, api = setup
    token = (await issuer.post("/token", data={"username": "alice", "password": "pw"})).json()[
        "access_token"
    ]
    auth = {"Authorization": f"Bearer {token}"}
    assert [200, 200] == [
        (await api.get(p, headers=auth)).status_code for p in ("/plain", "/strict")
    ]
    assert 200 == (await issuer.post("/revoke", data={"token": token})).status_code
    assert 200 == (await api.get("/strict", headers=auth)).status_code  # cached answer
    clock.advance(31)
    strict = await api.get("/strict", headers=auth)
    assert (
        401 == strict.status_code and 'error="invalid_token"' in strict.headers["www-authenticate"]
    )
    assert 200 == (await api.get("/plain", headers=auth)).status_code


async def test_issuer_that_cannot_answer_is_503(clock: FakeClock) -> None:
    """Introspection failing (here: the connection refused) fails closed with 503."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    check = RevocationCheck(
        f"{ISSUER}/introspect", "api", "x", transport=httpx.MockTransport(refuse), clock=clock
    )
    principal = Principal("u", "alice", frozenset(), "default", "j", clock() + 60, {})
    from jwtkit import RevocationUnavailable

    async with check:
        with pytest.raises(RevocationUnavailable):
            await check.ensure_active("token", principal)
