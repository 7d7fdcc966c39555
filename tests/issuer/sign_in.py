"""Helpers the browser sign-in tests share: an issuer with the demo user alice and a public
code-flow client, the /authorize query, the login, consent and logout forms as a browser sends
them."""

import contextlib
import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from issuer.services import IssuerServices
from issuer.sessions.authorization_codes import s256
from jwtkit.testing import FakeClock
from tests.support import issuer_client, issuer_settings

REDIRECT = "http://127.0.0.1:9000/callback"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B
CHALLENGE = s256(VERIFIER)


@contextlib.asynccontextmanager
async def code_flow_issuer(
    tmp_path: Path, clock: FakeClock, **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, IssuerServices]]:
    """The issuer app with alice (password alice-pw) and the public client `web`."""
    configured = issuer_settings(tmp_path / "data", demo_users=["alice:alice-pw"], **settings)
    async with issuer_client(configured, clock) as (client, services):
        public_client(
            services,
            "web",
            {"authorization_code", "refresh_token"},
            redirect_uris=(REDIRECT, "https://app.example/cb?tenant=1"),
        )
        yield client, services


def public_client(
    services: IssuerServices,
    client_id: str,
    grants: set[str],
    scopes: tuple[str, ...] = ("profile",),
    redirect_uris: tuple[str, ...] = (),
    *,
    native: bool = False,
    consent_required: bool = False,
) -> None:
    services.clients.add(
        client_id,
        public=True,
        grants=frozenset(grants),
        scopes=frozenset(scopes),
        audiences=(),
        auth_method="none",
        redirect_uris=redirect_uris,
        native=native,
        consent_required=consent_required,
    )


def params(**overrides: str | None) -> dict[str, str]:
    values: dict[str, str | None] = {
        "response_type": "code",
        "client_id": "web",
        "redirect_uri": REDIRECT,
        "scope": "profile",
        "state": "s-1 &/=é",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **overrides,
    }
    return {name: value for name, value in values.items() if value is not None}


def form_of(page: httpx.Response) -> dict[str, str]:
    """A page's form's hidden fields, as a browser would send them."""
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    return {name: html.unescape(value) for name, value in fields}


def is_login_page(response: httpx.Response) -> bool:
    return 200 == response.status_code and 'name="password"' in response.text


async def sign_in(
    client: httpx.AsyncClient,
    query: dict[str, str],
    password: str = "alice-pw",  # noqa: S107 (the demo user of the fixture)
    user: str = "alice",
) -> httpx.Response:
    page = await client.get("/authorize", params=query)
    assert 200 == page.status_code, page.text
    return await client.post(
        "/authorize", data={**form_of(page), "username": user, "password": password}
    )


def is_consent_page(response: httpx.Response) -> bool:
    return 200 == response.status_code and 'action="/authorize/consent"' in response.text


async def answer_consent(
    client: httpx.AsyncClient, page: httpx.Response, decision: str = "allow"
) -> httpx.Response:
    """The consent page's form POSTed with the button `decision` (allow or deny)."""
    assert is_consent_page(page), page.text
    return await client.post("/authorize/consent", data={**form_of(page), "decision": decision})


async def sign_out(client: httpx.AsyncClient, **query: str) -> httpx.Response:
    """GET /logout's confirmation page, then its form POSTed, as a browser does."""
    page = await client.get("/logout", params=query)
    assert 200 == page.status_code, page.text
    return await client.post("/logout", data=form_of(page))


def returned(response: httpx.Response) -> dict[str, str]:
    assert 303 == response.status_code, response.text
    location = urlsplit(response.headers["location"])
    return {name: values[0] for name, values in parse_qs(location.query).items()}


async def exchange(client: httpx.AsyncClient, code: str, **overrides: str) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
        "client_id": "web",
        **overrides,
    }
    return await client.post("/token", data=data)
