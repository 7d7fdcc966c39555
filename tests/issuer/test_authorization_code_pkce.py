"""The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636, RFC 9700 §2.1.1), its
login page and sign-in session, over HTTP against the issuer app (the browser test drives the
same flow in Chromium)."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from issuer.cli.main import main
from issuer.services import IssuerServices
from issuer.wiring import open_database
from jwtkit.testing import FakeClock
from tests.issuer.sign_in import (
    LOGGED_OUT,
    REDIRECT,
    VERIFIER,
    code_flow_issuer,
    exchange,
    form_of,
    params,
    public_client,
    returned,
    sign_in,
    sign_out,
)
from tests.support import issuer_settings

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]


@pytest.fixture
async def issuer(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, IssuerServices]]:
    async with code_flow_issuer(tmp_path, clock) as running:
        yield running


async def test_sign_in_code_and_token_with_pkce(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, services = issuer
    answer = returned(await sign_in(client, params()))
    assert ("s-1 &/=é", services.settings.url) == (answer["state"], answer["iss"])
    token = await exchange(client, answer["code"])
    assert 200 == token.status_code, token.text
    body = token.json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert ("alice", "web", "profile") == (
        claims["preferred_username"],
        claims["client_id"],
        claims["scope"],
    )
    assert "refresh_token" in body
    refreshed = await client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": "web",
        },
    )
    assert 200 == refreshed.status_code


async def test_a_second_app_signs_in_without_the_password(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """The sign-in cookie: HttpOnly, SameSite=Lax, 8 h by default; /logout ends it."""
    client, _services = issuer
    first = await sign_in(client, params())
    cookie = first.headers["set-cookie"]
    assert "issuer_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Max-Age=28800" in cookie and "Secure" not in cookie  # http issuer URL
    again = await client.get("/authorize", params=params(state="second"))
    assert "second" == returned(again)["state"]
    out = await sign_out(client)  # GET /logout asks; its form POSTs
    assert 200 == out.status_code
    assert 200 == (await client.get("/authorize", params=params())).status_code  # the form


async def test_logout_redirects_only_to_a_registered_uri(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """Only to a registered post_logout_redirect_uri, and no longer to a redirect URI
    (decision 12, issue 22). With no sign-in there is nothing to ask: GET /logout goes on."""
    client, _services = issuer
    ok = await client.get(
        "/logout", params={"client_id": "web", "post_logout_redirect_uri": LOGGED_OUT}
    )
    assert (303, LOGGED_OUT) == (ok.status_code, ok.headers["location"])
    not_a_logout_target = {"client_id": "web", "post_logout_redirect_uri": REDIRECT}
    refused = await client.get("/logout", params=not_a_logout_target)
    assert 400 == refused.status_code and "location" not in refused.headers
    target = {"client_id": "web", "post_logout_redirect_uri": "https://evil.test/"}
    confirmation = form_of(await client.get("/logout"))
    evil = await client.post("/logout", data={**confirmation, **target})
    assert 400 == evil.status_code and "location" not in evil.headers


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "code_challenge"),
        ({"code_challenge_method": "plain", "code_challenge": VERIFIER}, "S256"),
        ({"code_challenge_method": None}, "S256"),
        ({"code_challenge": "too-short"}, "S256"),
    ],
)
async def test_rfc7636_pkce_s256_is_required(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
    overrides: dict[str, str | None],
    description: str,
) -> None:
    client, _services = issuer
    answer = returned(await client.get("/authorize", params=params(**overrides)))
    assert ("invalid_request", "s-1 &/=é") == (answer["error"], answer["state"])
    assert description in answer["error_description"]


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "nonsense"}, "invalid_scope"),
    ],
)
async def test_rfc6749_errors_go_back_to_the_client(
    issuer: tuple[httpx.AsyncClient, IssuerServices], overrides: dict[str, str], error: str
) -> None:
    client, _services = issuer
    assert error == returned(await client.get("/authorize", params=params(**overrides)))["error"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "nobody"},
        {"redirect_uri": "https://evil.test/callback"},
        {"redirect_uri": REDIRECT + "/more"},
        {"redirect_uri": "https://app.example/cb?tenant=2"},
        {"redirect_uri": "http://localhost:9000/callback"},
    ],
)
async def test_rfc6749_bad_client_or_redirect_uri_never_redirects(
    issuer: tuple[httpx.AsyncClient, IssuerServices], overrides: dict[str, str]
) -> None:
    """§4.1.2.1: an error page, not a redirect (an open redirector otherwise)."""
    client, _services = issuer
    response = await client.get("/authorize", params=params(**overrides))
    assert 400 == response.status_code and "location" not in response.headers
    assert "Cannot sign in" in response.text


async def test_rfc8252_loopback_redirect_may_use_any_port(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """For a client registered as native (RFC 8252 §7.3; tests/issuer/test_redirect_uris_rfc8252.py
    has the rest)."""
    client, services = issuer
    public_client(
        services, "native", {"authorization_code"}, redirect_uris=(REDIRECT,), native=True
    )
    other_port = "http://127.0.0.1:51234/callback"
    response = await sign_in(client, params(client_id="native", redirect_uri=other_port))
    assert response.headers["location"].startswith(other_port + "?")
    code = returned(response)["code"]
    exchanged = await exchange(client, code, client_id="native", redirect_uri=other_port)
    assert 200 == exchanged.status_code


async def test_a_client_not_registered_for_the_code_flow_is_refused(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, services = issuer
    public_client(services, "password-only", {"password"})
    response = await client.get("/authorize", params=params(client_id="password-only"))
    assert 400 == response.status_code  # it has no redirect URI to send an error to


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_verifier": "x" * 43},
        {"redirect_uri": "https://app.example/cb?tenant=1"},
        {"client_id": "nobody-else"},
    ],
)
async def test_the_code_is_bound_to_verifier_redirect_uri_and_client(
    issuer: tuple[httpx.AsyncClient, IssuerServices], overrides: dict[str, str]
) -> None:
    client, _services = issuer
    code = returned(await sign_in(client, params()))["code"]
    refused = await exchange(client, code, **overrides)
    assert refused.status_code in (400, 401)
    assert refused.json()["error"] in ("invalid_grant", "invalid_client")


async def test_code_verifier_is_required(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = issuer
    code = returned(await sign_in(client, params()))["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    refused = await client.post("/token", data={**data, "client_id": "web"})
    assert ("invalid_request", 400) == (refused.json()["error"], refused.status_code)


async def test_the_code_lives_60_seconds(
    issuer: tuple[httpx.AsyncClient, IssuerServices], clock: FakeClock
) -> None:
    client, _services = issuer
    code = returned(await sign_in(client, params()))["code"]
    clock.advance(61)
    assert "invalid_grant" == (await exchange(client, code)).json()["error"]


async def test_rfc6749_a_second_use_of_a_code_revokes_what_it_issued(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """§4.1.2: refused, and the tokens the first exchange gave are revoked."""
    client, _services = issuer
    code = returned(await sign_in(client, params()))["code"]
    first = (await exchange(client, code)).json()
    assert "invalid_grant" == (await exchange(client, code)).json()["error"]
    refresh = await client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": "web",
        },
    )
    assert "invalid_grant" == refresh.json()["error"]


async def test_login_page_headers_and_one_message_for_unknown_user_and_wrong_password(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = issuer
    page = await client.get("/authorize", params=params())
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script" not in csp  # no script may run
    assert "frame-ancestors 'none'" in csp and "DENY" == page.headers["x-frame-options"]
    assert ("no-referrer", "no-store") == (
        page.headers["referrer-policy"],
        page.headers["cache-control"],
    )
    assert "<script" not in page.text  # works without JavaScript
    wrong = await sign_in(client, params(), password="nope")
    unknown = await sign_in(client, params(), user="mallory", password="nope")
    for answer in (wrong, unknown):
        assert 400 == answer.status_code and "location" not in answer.headers
        assert "Invalid username or password." in answer.text


async def test_login_form_needs_its_csrf_token(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = issuer
    page = await client.get("/authorize", params=params())
    form: dict[str, Any] = {**form_of(page), "username": "alice", "password": "alice-pw"}
    forged = await client.post("/authorize", data={**form, "csrf_token": "guessed"})
    assert 400 == forged.status_code and "location" not in forged.headers
    client.cookies.clear()
    no_cookie = await client.post("/authorize", data=form)
    assert 400 == no_cookie.status_code and "location" not in no_cookie.headers


async def test_login_page_is_throttled_like_the_token_endpoint(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = issuer
    for _ in range(10):
        assert 400 == (await sign_in(client, params(), password="nope")).status_code
    throttled = await sign_in(client, params(), password="alice-pw")
    assert 429 == throttled.status_code and int(throttled.headers["retry-after"]) > 0
    assert "Too many failed attempts" in throttled.text


def test_clients_add_with_redirect_uris_and_exists_ok(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `make run` and compose do at start: register the docs client unless it exists.
    Redirect URIs are checked at registration (https, or http on a loopback host)."""
    monkeypatch.setenv("ISSUER_DATA_DIR", str(tmp_path / "data"))
    open_database(issuer_settings(tmp_path / "data"))  # the server's database
    docs = [
        "clients", "add", "resource-api-docs", "--public", "--grant", "authorization_code",
        "--redirect-uri", "http://localhost:8001/docs/oauth2-redirect", "--exists-ok",
    ]  # fmt: skip
    assert 0 == main(docs)
    assert "added resource-api-docs\tpublic\tnone" in capsys.readouterr().out
    assert 0 == main(docs)
    assert capsys.readouterr().out.startswith("exists resource-api-docs")
    assert 1 == main(docs[:-1])  # without --exists-ok: already exists
    plain_http = ["clients", "add", "web2", "--public", "--grant", "authorization_code"]
    assert 1 == main([*plain_http, "--redirect-uri", "http://app.example/cb"])
    assert "https" in capsys.readouterr().err
    assert 1 == main(plain_http)  # the code flow needs a redirect URI


async def test_old_codes_and_ended_sign_ins_are_pruned(
    issuer: tuple[httpx.AsyncClient, IssuerServices], clock: FakeClock
) -> None:
    client, services = issuer
    returned(await sign_in(client, params()))
    assert 0 == services.authorization_codes.prune(clock())  # a live code stays
    assert 0 == services.sign_in_sessions.prune(clock())
    clock.advance(services.settings.session_ttl)
    assert 1 == services.sign_in_sessions.prune(clock())
    clock.advance(86400)
    assert 1 == services.authorization_codes.prune(clock())


async def test_a_scope_the_user_lacks_goes_back_to_the_client_as_invalid_scope(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """alice has no admin scope: after she signs in, the client gets invalid_scope (with its
    state), never a code and never a JSON page in her browser."""
    client, services = issuer
    public_client(
        services,
        "admin-app",
        {"authorization_code"},
        scopes=("profile", "admin"),
        redirect_uris=(REDIRECT,),
    )
    answer = returned(await sign_in(client, params(client_id="admin-app", scope="admin")))
    assert ("invalid_scope", "s-1 &/=é") == (answer["error"], answer["state"])
    assert "code" not in answer
