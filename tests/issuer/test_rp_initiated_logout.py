"""OpenID Connect RP-Initiated Logout 1.0 at /logout, on both stores: GET and POST (§2), the
id_token_hint verified as this issuer's whatever its expiry (§2), the client_id matching it
(§2), only registered post_logout_redirect_uris with state passed back (§3), and a question
for the user whenever the request does not prove which session it ends (§6)."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from issuer.keys.keyring import Signer
from issuer.services import IssuerServices
from issuer.sessions.sign_in_sessions import SignIn
from issuer.tokens.jws import sign_jwt
from jwtkit.contract import ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE
from jwtkit.testing import FakeClock
from tests.issuer.sign_in import (
    REDIRECT,
    code_flow_issuer,
    form_of,
    is_login_page,
    params,
    returned,
    sign_in,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

LOGGED_OUT = "http://127.0.0.1:9000/logged-out"
WITH_QUERY = "https://rp.example/bye?tenant=1"
STATE = "s-1 &/=é"


@pytest.fixture
async def issuer(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, IssuerServices]]:
    """alice, the client `web`, and `rp` with two registered logout targets."""
    async with code_flow_issuer(tmp_path, clock) as (client, services):
        services.clients.add(
            "rp",
            public=True,
            grants=frozenset({"authorization_code"}),
            scopes=frozenset({"profile"}),
            audiences=(),
            auth_method="none",
            redirect_uris=(REDIRECT,),
            post_logout_redirect_uris=(LOGGED_OUT, WITH_QUERY),
        )
        yield client, services


async def signed_in(client: httpx.AsyncClient, services: IssuerServices) -> SignIn:
    """alice signed in at the login page: her sign-in session."""
    returned(await sign_in(client, params()))
    (session,) = services.sign_in_sessions.live(services.clock())
    return session


def id_token(
    services: IssuerServices,
    session: SignIn | None = None,
    *,
    key: rsa.RSAPrivateKey | None = None,
    typ: str = ID_TOKEN_TYPE,
    **claims: Any,
) -> str:
    """An ID token as the issuer signs them, for `rp` and alice's session unless told."""
    now = int(services.clock())
    values: dict[str, Any] = {
        "iss": services.settings.url,
        "aud": "rp",
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
        "amr": ["pwd"],
    }
    if session is not None:
        values |= {"sub": session.user_id, "sid": session.session_id}
    values |= claims
    signer = services.keyring.signer(services.clock())
    if key is not None:
        signer = Signer(signer.kid, key, signer.algorithm)
    return sign_jwt(
        {name: value for name, value in values.items() if value is not None}, signer, typ
    )


async def still_signed_in(client: httpx.AsyncClient) -> bool:
    answer = await client.get("/authorize", params=params(state="check"))
    if is_login_page(answer):
        return False
    return "code" in returned(answer)


def location(response: httpx.Response) -> tuple[str, dict[str, list[str]]]:
    """Where a 303 sends the browser: the URI without its query, and the query."""
    assert 303 == response.status_code, response.text
    parts = urlsplit(response.headers["location"])
    return parts._replace(query="").geturl(), parse_qs(parts.query)


def refused(response: httpx.Response) -> bool:
    return (
        400 == response.status_code
        and "location" not in response.headers
        and "text/html" in response.headers["content-type"]
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_get_and_post_rp_logout_2(
    issuer: tuple[httpx.AsyncClient, IssuerServices], method: str
) -> None:
    """§2: "The OP MUST support the use of the HTTP GET and POST methods"; a POST without a
    csrf_token is a logout request as a GET is."""
    client, services = issuer
    session = await signed_in(client, services)
    asked = {
        "id_token_hint": id_token(services, session),
        "post_logout_redirect_uri": LOGGED_OUT,
        "state": STATE,
        "ui_locales": "fr-CA en",
        "logout_hint": "alice",
    }
    if method == "GET":
        answer = await client.get("/logout", params=asked)
    else:
        answer = await client.post("/logout", data=asked)
    assert (LOGGED_OUT, {"state": [STATE]}) == location(answer)
    assert not await still_signed_in(client)


async def test_valid_hint_no_question(issuer: tuple[httpx.AsyncClient, IssuerServices]) -> None:
    """A hint naming the browser's session (its sid) ends it at once: no form. Without a sid,
    the hint's sub must be the session's user."""
    client, services = issuer
    session = await signed_in(client, services)
    answer = await client.get("/logout", params={"id_token_hint": id_token(services, session)})
    assert 200 == answer.status_code and "You are signed out." in answer.text
    assert "csrf_token" not in form_of(answer)
    assert not await still_signed_in(client)
    session = await signed_in(client, services)
    no_sid = id_token(services, sub=session.user_id)
    answer = await client.get("/logout", params={"id_token_hint": no_sid, "client_id": "rp"})
    assert "You are signed out." in answer.text and not await still_signed_in(client)


async def test_no_hint_asks_rp_logout_6(issuer: tuple[httpx.AsyncClient, IssuerServices]) -> None:
    """§6: without a valid hint for this session the user is asked; the form carries the
    client, the target and the state, and after it the browser goes on to the target."""
    client, services = issuer
    session = await signed_in(client, services)
    asked = {"client_id": "rp", "post_logout_redirect_uri": LOGGED_OUT, "state": STATE}
    page = await client.get("/logout", params=asked)
    assert 200 == page.status_code and '<form method="post" action="/logout">' in page.text
    assert await still_signed_in(client)
    form = form_of(page)
    assert asked.items() <= form.items() and form["csrf_token"]
    assert (LOGGED_OUT, {"state": [STATE]}) == location(await client.post("/logout", data=form))
    assert not await still_signed_in(client)
    # A hint of another (ended) session of the same user does not end this one unasked.
    await signed_in(client, services)
    old = {"id_token_hint": id_token(services, session), "post_logout_redirect_uri": LOGGED_OUT}
    page = await client.get("/logout", params=old)
    assert 200 == page.status_code and "rp" == form_of(page)["client_id"]
    assert await still_signed_in(client)


async def test_no_session_signs_out_at_once(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """Nothing to end, nothing to ask: on to the registered target with the state."""
    client, _services = issuer
    asked = {"client_id": "rp", "post_logout_redirect_uri": WITH_QUERY, "state": STATE}
    answer = await client.get("/logout", params=asked)
    assert ("https://rp.example/bye", {"tenant": ["1"], "state": [STATE]}) == location(answer)


async def test_expired_hint_accepted_rp_logout_2(
    issuer: tuple[httpx.AsyncClient, IssuerServices], clock: FakeClock
) -> None:
    """§2: the OP "SHOULD accept ID Tokens ... even when the exp time has passed"."""
    client, services = issuer
    session = await signed_in(client, services)
    hint = id_token(services, session)
    clock.advance(4 * 3600)  # the ID token expired 3 h ago; the sign-in lives 8 h
    answer = await client.get("/logout", params={"id_token_hint": hint, "state": STATE})
    assert "You are signed out." in answer.text and not await still_signed_in(client)


async def test_hint_client_id_mismatch(issuer: tuple[httpx.AsyncClient, IssuerServices]) -> None:
    """§2: "When both client_id and id_token_hint are present, the OP MUST verify that the
    Client Identifier matches": another client's is a 400 page, nobody signed out."""
    client, services = issuer
    session = await signed_in(client, services)
    asked = {
        "id_token_hint": id_token(services, session),
        "client_id": "web",
        "post_logout_redirect_uri": LOGGED_OUT,
    }
    assert refused(await client.get("/logout", params=asked))
    assert refused(await client.post("/logout", data=asked))
    assert await still_signed_in(client)


async def test_hint_not_ours_rp_logout_2(
    issuer: tuple[httpx.AsyncClient, IssuerServices], attacker_key: rsa.RSAPrivateKey
) -> None:
    """§2: the OP "MUST validate that it was the issuer of the ID Token": another key's
    signature, another `iss`, an access token's `typ`, or no JWT at all is a 400 page."""
    client, services = issuer
    session = await signed_in(client, services)
    bad_hints = [
        id_token(services, session, key=attacker_key),
        id_token(services, session, iss="https://other.example"),
        id_token(services, session, typ=ACCESS_TOKEN_TYPE),
        id_token(services, session, aud="no-such-client") + "x",
        "not-a-jwt",
    ]
    for hint in bad_hints:
        answer = await client.get(
            "/logout", params={"id_token_hint": hint, "post_logout_redirect_uri": LOGGED_OUT}
        )
        assert refused(answer), hint
    assert await still_signed_in(client)


async def test_unregistered_target_not_redirected_rp_logout_3(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """§3: the target "MUST have been previously registered": one of the client's
    post_logout_redirect_uris, byte for byte. Its redirect URIs do not count (decision 12),
    and a target without a client_id (or a hint) never redirects, even after the question."""
    client, services = issuer
    session = await signed_in(client, services)
    hint = id_token(services, session)
    for target in (REDIRECT, LOGGED_OUT + "/", "https://evil.test/"):
        for asked in ({"client_id": "rp"}, {"id_token_hint": hint}):
            answer = await client.get(
                "/logout", params={**asked, "post_logout_redirect_uri": target}
            )
            assert refused(answer), (target, asked)
    assert refused(await client.get("/logout", params={"post_logout_redirect_uri": LOGGED_OUT}))
    assert await still_signed_in(client)
    form = form_of(await client.get("/logout"))
    answer = await client.post("/logout", data={**form, "post_logout_redirect_uri": LOGGED_OUT})
    assert refused(answer) and "You are signed out." in answer.text


async def test_state_returned_rp_logout_3(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """§3: state "is passed back to the RP": as given, added to the target's own query; a
    target without state is given back exactly."""
    client, services = issuer
    session = await signed_in(client, services)
    asked = {"id_token_hint": id_token(services, session), "post_logout_redirect_uri": WITH_QUERY}
    answer = await client.get("/logout", params={**asked, "state": STATE})
    assert ("https://rp.example/bye", {"tenant": ["1"], "state": [STATE]}) == location(answer)
    asked = {"client_id": "rp", "post_logout_redirect_uri": LOGGED_OUT}
    assert LOGGED_OUT == (await client.get("/logout", params=asked)).headers["location"]
