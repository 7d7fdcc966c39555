"""The sign-in's cookies and forms: the login form's CSRF token is an HMAC, under the issuer's
shared secret, of a per-visit id kept in the CSRF cookie (a pair planted by another origin is
refused); cookie names carry `__Host-` on https; GET /logout only asks, and only its form's
POST ends the sign-in (OpenID RP-Initiated Logout 1.0 §2: the OP SHOULD ask); /authorize
refuses a query string over 8 KiB without parsing it."""

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from issuer.api.query_limit import QueryLimit
from issuer.services import IssuerServices
from issuer.store.secrets import IssuerSecrets
from jwtkit.testing import FakeClock
from tests.issuer.sign_in import (
    LOGGED_OUT,
    REDIRECT,
    code_flow_issuer,
    form_of,
    is_login_page,
    params,
    returned,
    sign_in,
    sign_out,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

HTTPS_ISSUER = "https://issuer.test"


@pytest.fixture
async def issuer(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, IssuerServices]]:
    async with code_flow_issuer(tmp_path, clock) as running:
        yield running


@pytest.fixture
async def https_issuer(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, IssuerServices]]:
    async with code_flow_issuer(tmp_path, clock, url=HTTPS_ISSUER) as running:
        yield running


def login_form(page: httpx.Response) -> dict[str, str]:
    return {**form_of(page), "username": "alice", "password": "alice-pw"}


async def still_signed_in(client: httpx.AsyncClient) -> bool:
    answer = await client.get("/authorize", params=params(state="check"))
    return 303 == answer.status_code and "code" in returned(answer)


async def test_csrf_a_planted_double_submit_pair_is_refused(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """cookie = field = X, as the old double-submit check accepted from any origin that could
    set a cookie on the host: not an HMAC of a visit under this issuer's secret."""
    client, _services = issuer
    page = await client.get("/authorize", params=params())
    client.cookies.set("issuer_csrf", "planted-by-a-sibling-origin")
    forged = await client.post(
        "/authorize", data={**login_form(page), "csrf_token": "planted-by-a-sibling-origin"}
    )
    assert 400 == forged.status_code and "location" not in forged.headers
    assert "The form expired" in forged.text


async def test_csrf_a_token_from_another_visit_is_refused(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = issuer
    first = await client.get("/authorize", params=params())
    await client.get("/authorize", params=params())  # a second visit: a new cookie
    stale = await client.post("/authorize", data=login_form(first))
    assert 400 == stale.status_code and "location" not in stale.headers


async def test_csrf_the_visits_cookie_and_token(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """The cookie holds the visit id, the form its HMAC: never the same value, and a login
    token is no logout token (each purpose has its own HMAC message)."""
    client, _services = issuer
    page = await client.get("/authorize", params=params())
    token, visit = form_of(page)["csrf_token"], client.cookies["issuer_csrf"]
    assert token != visit
    assert (
        "Path=/;" in page.headers["set-cookie"] and "SameSite=strict" in page.headers["set-cookie"]
    )
    signed_in = returned(await client.post("/authorize", data=login_form(page)))
    assert "code" in signed_in
    client.cookies.set("issuer_csrf", visit)
    as_logout = await client.post("/logout", data={"csrf_token": token})
    assert 400 == as_logout.status_code and await still_signed_in(client)


async def test_the_issuer_secret_is_made_once_and_shared(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """Every process reads the same secret: the one the first to need it stored."""
    _client, services = issuer
    mine = IssuerSecrets(services.engine, services.clock).get("csrf")
    theirs = IssuerSecrets(services.engine, services.clock).get("csrf")
    assert 32 <= len(mine) and mine == theirs


async def test_host_prefix_cookies_on_https(
    https_issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """RFC 6265bis §4.1.3.2: `__Host-` names, Secure, Path=/, no Domain; they still work."""
    client, _services = https_issuer
    page = await client.get("/authorize", params=params())
    csrf_cookie = page.headers["set-cookie"]
    assert csrf_cookie.startswith("__Host-issuer_csrf=")
    signed_in = await client.post("/authorize", data=login_form(page))
    assert "code" in returned(signed_in)
    session_cookies = signed_in.headers.get_list("set-cookie")
    session = next(c for c in session_cookies if c.startswith("__Host-issuer_session="))
    for cookie in (csrf_cookie, session):
        assert "Secure" in cookie and "Path=/;" in cookie + ";" and "Domain" not in cookie
    assert await still_signed_in(client)
    out = await sign_out(client)
    assert 200 == out.status_code
    ended = next(c for c in out.headers.get_list("set-cookie") if "issuer_session" in c)
    assert ended.startswith("__Host-issuer_session=") and "Secure" in ended
    assert is_login_page(await client.get("/authorize", params=params()))


async def test_get_logout_asks_and_does_not_sign_out(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """A link or an image on any page can GET /logout: it shows a form that POSTs."""
    client, _services = issuer
    returned(await sign_in(client, params()))
    page = await client.get("/logout")
    assert 200 == page.status_code
    assert '<form method="post" action="/logout">' in page.text
    assert "csrf_token" in form_of(page)
    assert "issuer_session" not in page.headers.get("set-cookie", "")
    assert await still_signed_in(client)


async def test_post_logout_with_the_forms_token_ends_the_sign_in(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = issuer
    returned(await sign_in(client, params()))
    out = await sign_out(client)
    assert 200 == out.status_code and "You are signed out." in out.text
    assert is_login_page(await client.get("/authorize", params=params()))


@pytest.mark.parametrize("planted", [None, "x"])
async def test_post_logout_without_a_valid_csrf_token_is_refused(
    issuer: tuple[httpx.AsyncClient, IssuerServices], planted: str | None
) -> None:
    """A cross-site form POST cannot sign the user out: no token, or a planted pair."""
    client, _services = issuer
    returned(await sign_in(client, params()))
    if planted is not None:
        client.cookies.set("issuer_csrf", planted)
    form = {} if planted is None else {"csrf_token": planted}
    refused = await client.post("/logout", data=form)
    assert 400 == refused.status_code and "location" not in refused.headers
    assert '<form method="post" action="/logout">' in refused.text  # asked again
    assert await still_signed_in(client)


async def test_post_logout_redirects_only_to_a_registered_uri(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = issuer
    returned(await sign_in(client, params()))
    ok = await sign_out(client, client_id="web", post_logout_redirect_uri=LOGGED_OUT)
    assert (303, LOGGED_OUT) == (ok.status_code, ok.headers["location"])
    assert is_login_page(await client.get("/authorize", params=params()))
    # A redirect URI is no logout target (decision 12, issue 22).
    returned(await sign_in(client, params()))
    redirect_uri = {"client_id": "web", "post_logout_redirect_uri": REDIRECT}
    asked = await client.get("/logout", params=redirect_uri)
    assert 400 == asked.status_code and "location" not in asked.headers
    evil = {"client_id": "web", "post_logout_redirect_uri": "https://evil.test/"}
    asked = await client.get("/logout", params=evil)
    assert 400 == asked.status_code and "location" not in asked.headers
    posted = await client.post("/logout", data={**form_of(await client.get("/logout")), **evil})
    assert 400 == posted.status_code and "location" not in posted.headers


def padded_query(length: int) -> str:
    """The test's /authorize query, its state padded to `length` bytes in all."""
    query = urlencode(params(state=""))
    return query.replace("state=", "state=" + "a" * (length - len(query)))


async def test_authorize_refuses_a_query_string_over_8_kib(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = issuer
    at_limit = await client.get("/authorize?" + padded_query(8192))
    assert 200 == at_limit.status_code
    over = await client.get("/authorize?" + padded_query(8193))
    assert 414 == over.status_code and "location" not in over.headers
    assert "set-cookie" not in over.headers
    many = await client.get("/authorize?" + "&".join(["a=1"] * 10_000))
    assert 414 == many.status_code
    assert 414 == (await client.get("/logout?" + "&".join(["a=1"] * 3000))).status_code


async def test_an_over_long_query_never_reaches_the_app() -> None:
    """Refused on the raw bytes' length, before routing (which parses the query)."""
    reached: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["path"])
        await Response("ok")(scope, receive, send)

    guarded = httpx.ASGITransport(app=QueryLimit(app, paths=("/authorize",)))
    async with httpx.AsyncClient(transport=guarded, base_url="http://issuer.test") as client:
        assert 414 == (await client.get("/authorize?" + "a" * 8193)).status_code
        assert 200 == (await client.get("/authorize?" + "a" * 8192)).status_code
        assert 200 == (await client.get("/token?" + "a" * 8193)).status_code
    assert ["/authorize", "/token"] == reached


async def test_logout_answers_other_methods_405_naming_get_and_post(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = issuer
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        answer = await client.request(method, "/logout")
        assert (405, "GET, POST") == (answer.status_code, answer.headers["allow"])
