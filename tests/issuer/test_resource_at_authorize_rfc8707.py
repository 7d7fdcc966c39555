"""Resource indicators (RFC 8707) at the authorization endpoint: `resource` at /authorize is
checked as at /token, bound to the code, and the audience of every token the code yields (the
access token's, and each refresh's); a different one at the exchange or a refresh is
invalid_target. Scopes are narrowed to the resource's before the consent page, which names the
resource, and a consent to one resource is not one to another. On both stores, the clock
injected."""

import dataclasses
import importlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from issuer.app import create_app
from issuer.clients.resources import target
from issuer.errors import InvalidTarget
from issuer.services import IssuerServices
from jwtkit.testing import FakeClock
from tests.issuer.sign_in import (
    REDIRECT,
    VERIFIER,
    answer_consent,
    exchange,
    form_of,
    is_consent_page,
    params,
    returned,
    sign_in,
)
from tests.support import ISSUER, authlib_oauth2_client, issuer_settings, running

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

MCP = "https://mcp.example/mcp"  # audience mcp-api, accepts only `profile`
OTHER = "https://other.example/api"  # audience other-api, any scope
HR = "https://hr.example/api"  # audience hr: not one of the client's
IDENTITY = ("openid", "profile", "email")


def _add_client(services: IssuerServices, client_id: str, *, consent_required: bool) -> None:
    services.clients.add(
        client_id,
        public=True,
        grants=frozenset({"authorization_code", "refresh_token"}),
        scopes=frozenset(IDENTITY),
        audiences=("other-api", "mcp-api"),  # the first is the default audience
        auth_method="none",
        redirect_uris=(REDIRECT,),
        consent_required=consent_required,
    )


@dataclass
class World:
    client: httpx.AsyncClient  # the browser and the client's back channel, with cookies
    services: IssuerServices
    app: FastAPI  # the same app, for Authlib's client


@pytest.fixture
async def issuer(tmp_path: Path, clock: FakeClock) -> AsyncIterator[World]:
    """alice, the first-party `agent` and the third-party `third`, each allowed the audiences
    mcp-api and other-api (not hr), and the three resources."""
    configured = issuer_settings(tmp_path / "data", demo_users=["alice:alice-pw"])
    app = create_app(configured, clock)
    async with running(app):
        services: IssuerServices = app.state.services
        _add_client(services, "agent", consent_required=False)
        _add_client(services, "third", consent_required=True)
        services.resources.add(MCP, "mcp-api", frozenset({"profile"}))
        services.resources.add(OTHER, "other-api", frozenset())
        services.resources.add(HR, "hr", frozenset())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
            yield World(client, services, app)


def _query(resource: str | None = None, **overrides: str) -> dict[str, str]:
    values = {"client_id": "agent", "scope": "openid profile email", **overrides}
    return params(**values, **({} if resource is None else {"resource": resource}))


async def _code(client: httpx.AsyncClient, query: dict[str, str]) -> str:
    """A code for alice: signed in at the login page (first-party: no consent page)."""
    answer = returned(await sign_in(client, query))
    assert "code" in answer, answer
    return answer["code"]


async def _exchange(client: httpx.AsyncClient, code: str, **form: str) -> httpx.Response:
    return await exchange(client, code, client_id="agent", **form)


def _claims(response: httpx.Response) -> dict[str, Any]:
    assert 200 == response.status_code, response.text
    token = response.json()["access_token"]
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]


@pytest.mark.parametrize("at_exchange", [None, MCP])
async def test_rfc8707_2_1_resource_at_authorize_is_the_tokens_audience(
    issuer: World, at_exchange: str | None
) -> None:
    """§2.1: the resource asked for at /authorize is bound to the code. At the exchange (§2.2)
    the same resource, or none, gives a token for it: its audience, its scopes only (openid
    stays with the code, for the ID token)."""
    client = issuer.client
    code = await _code(client, _query(MCP))
    form = {} if at_exchange is None else {"resource": at_exchange}
    response = await _exchange(client, code, **form)
    claims = _claims(response)
    assert ("mcp-api", "profile") == (claims["aud"], claims["scope"])
    assert "id_token" in response.json()


async def test_rfc8707_2_2_another_resource_at_the_exchange_is_invalid_target(
    issuer: World,
) -> None:
    """§2.2: the resource of a code's token request must be the authorization request's: one
    the client may have otherwise is invalid_target, and does not use up the code."""
    client = issuer.client
    code = await _code(client, _query(MCP))
    refused = await _exchange(client, code, resource=OTHER)
    assert (400, "invalid_target") == _error(refused)
    assert "mcp-api" == _claims(await _exchange(client, code))["aud"]


async def test_rfc8707_2_2_a_resource_at_the_exchange_of_a_code_without_one_is_invalid_target(
    issuer: World,
) -> None:
    """A code asked for with no resource is for the client's default audience: a resource at
    its exchange is not one of the authorization request's, so invalid_target."""
    client = issuer.client
    code = await _code(client, _query())
    assert (400, "invalid_target") == _error(await _exchange(client, code, resource=MCP))
    assert "other-api" == _claims(await _exchange(client, code))["aud"]


@pytest.mark.parametrize(
    "resource",
    [
        "https://nowhere.example/",  # unknown
        HR,  # registered, but not for this client
        "/mcp",  # RFC 8707 §2: not an absolute URI
        f"{MCP}#part",  # §2: has a fragment
    ],
)
async def test_rfc8707_2_1_a_resource_the_client_may_not_have_is_invalid_target_at_its_redirect(
    issuer: World, resource: str
) -> None:
    """§2.1: an unacceptable resource is invalid_target, sent back to the client's (verified)
    redirect URI with state and iss, as the other authorization errors are; the same words
    for an unknown and a forbidden one."""
    client = issuer.client
    query = _query(resource)
    response = await client.get("/authorize", params=query)
    assert response.headers["location"].startswith(f"{REDIRECT}?")
    answer = returned(response)
    assert ("invalid_target", query["state"], ISSUER) == (
        answer["error"],
        answer["state"],
        answer["iss"],
    )
    assert "unknown or not allowed" in answer["error_description"]


async def test_rfc8707_2_1_one_resource_per_authorization_request(
    issuer: World,
) -> None:
    """§2.1 allows several resources, but a token here has one audience and the code one
    resource: two are invalid_target at the client's redirect URI, never an error page."""
    client = issuer.client
    query: list[tuple[str, str | int | float | bool | None]] = [
        *_query(MCP).items(),
        ("resource", OTHER),
    ]
    answer = returned(await client.get("/authorize", params=query))
    assert "invalid_target" == answer["error"]
    assert "one resource" in answer["error_description"]


async def test_rfc8707_2_2_refresh_keeps_the_codes_resource(
    issuer: World,
) -> None:
    """The refresh token keeps the code's resource: a refresh without `resource`, or with the
    same one, is for its audience; another is invalid_target and leaves the token usable."""
    client = issuer.client
    code = await _code(client, _query(MCP))
    refresh = (await _exchange(client, code)).json()["refresh_token"]

    async def refreshed(**form: str) -> httpx.Response:
        data = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "agent"}
        return await client.post("/token", data={**data, **form})

    assert (400, "invalid_target") == _error(await refreshed(resource=OTHER))
    first = await refreshed()
    assert ("mcp-api", "profile") == (_claims(first)["aud"], _claims(first)["scope"])
    refresh = first.json()["refresh_token"]
    assert "mcp-api" == _claims(await refreshed(resource=MCP))["aud"]


async def test_rfc8707_scopes_are_narrowed_to_the_resource_before_consent(
    issuer: World,
) -> None:
    """The consent page asks for what will be granted: the scopes the resource accepts (and
    openid), and it names the resource."""
    client = issuer.client
    page = await sign_in(client, _query(MCP, client_id="third"))
    assert is_consent_page(page), page.text
    assert MCP in page.text
    assert ("openid", "profile") == _listed_scopes(page)
    answer = returned(await answer_consent(client, page))
    response = await exchange(client, answer["code"], client_id="third")
    assert ("mcp-api", "profile") == (_claims(response)["aud"], _claims(response)["scope"])


async def test_rfc8707_a_consent_to_one_resource_is_not_one_to_another(
    issuer: World,
) -> None:
    """A third-party client the user allowed for one resource asks again for another (the
    scopes it was allowed would otherwise reach any API); asked again for the first, it
    gets its code without a page."""
    client = issuer.client
    page = await sign_in(client, _query(MCP, client_id="third", scope="profile"))
    returned(await answer_consent(client, page))
    other = await client.get("/authorize", params=_query(OTHER, client_id="third", scope="profile"))
    assert is_consent_page(other), other.text
    assert OTHER in other.text
    again = await client.get("/authorize", params=_query(MCP, client_id="third", scope="profile"))
    assert "code" in returned(again)


async def test_rfc8707_authlib_client_sends_resource_at_both_ends(
    issuer: World,
) -> None:
    """Authlib's OAuth2Client, unmodified, as the MCP SDK does it: `resource` in the
    authorization URL and again in the token request, PKCE S256, a public client."""
    client = issuer.client
    AsyncOAuth2Client = authlib_oauth2_client("AsyncOAuth2Client")  # noqa: N806 (a class)
    # Authlib's client is built on httpx or on httpx2 (as the mcp SDK's lock brings it): the
    # ASGI transport of the same package.
    http = importlib.import_module(
        next(c for c in AsyncOAuth2Client.__mro__ if c.__name__ == "AsyncClient").__module__
    )
    async with AsyncOAuth2Client(
        "agent",
        scope="profile",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        transport=http.ASGITransport(app=issuer.app),
    ) as oauth:
        url, state = oauth.create_authorization_url(
            f"{ISSUER}/authorize", code_verifier=VERIFIER, resource=MCP
        )
        page = await client.get(url)
        signed_in = await client.post(
            "/authorize", data={**form_of(page), "username": "alice", "password": "alice-pw"}
        )
        token = await oauth.fetch_token(
            f"{ISSUER}/token",
            authorization_response=signed_in.headers["location"],
            state=state,
            code_verifier=VERIFIER,
            resource=MCP,
        )
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert ("mcp-api", "agent") == (claims["aud"], claims["client_id"])


def _listed_scopes(page: httpx.Response) -> tuple[str, ...]:
    return tuple(re.findall(r"<li><strong>([^<]+)</strong>", page.text))


async def test_rfc8707_self_registered_client_may_ask_for_any_registered_resource(
    issuer: World,
) -> None:
    """A self-registered client (RFC 7591, or a client ID metadata document) has no audiences
    of its own: it may ask for any resource the operator registered (the user consents to it
    by name), never for an unknown one; without `resource` its token is for ISSUER_AUDIENCE."""
    registered = issuer.services.clients.get("third")
    assert registered is not None
    client = dataclasses.replace(registered, registration="dynamic", audiences=())
    hr = issuer.services.resources.get(HR)
    assert "hr" == target(hr, HR, client, "resource-api")
    assert "resource-api" == target(None, None, client, "resource-api")
    with pytest.raises(InvalidTarget):
        target(None, "https://nowhere.example/", client, "resource-api")
    with pytest.raises(InvalidTarget):  # the same client registered by the operator
        target(hr, HR, dataclasses.replace(client, registration="cli"), "resource-api")
