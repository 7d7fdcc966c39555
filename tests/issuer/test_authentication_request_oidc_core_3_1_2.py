"""The OpenID Connect parameters of an authorization request (Core §3.1.2.1, §3.1.2.6, §6)
over HTTP against the issuer app: prompt, max_age, login_hint, id_token_hint, nonce, request
objects, POST as well as GET. The decision itself is unit-tested in
tests/issuer/test_interaction_oidc_core_3_1_2.py."""

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from issuer.services import IssuerServices
from issuer.sessions.authorization_codes import Redeemed
from issuer.sessions.backchannel_outbox import BackchannelOutbox
from issuer.sessions.sign_in_sessions import SignIn
from jwtkit.testing import FakeClock
from tests.issuer.sign_in import (
    REDIRECT,
    VERIFIER,
    code_flow_issuer,
    exchange,
    form_of,
    is_login_page,
    params,
    public_client,
    returned,
    sign_in,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]


@pytest.fixture
async def issuer(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, IssuerServices]]:
    async with code_flow_issuer(tmp_path, clock) as running:
        yield running


OPENID = "openid profile email"


@pytest.fixture
async def rp(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> tuple[httpx.AsyncClient, IssuerServices]:
    """The issuer with `rp`, a first-party relying party registered for the identity scopes."""
    _client, services = issuer
    public_client(
        services, "rp", {"authorization_code"}, ("openid", "profile", "email"), (REDIRECT,)
    )
    return issuer


def oidc(**overrides: str | None) -> dict[str, str]:
    return params(**{"client_id": "rp", "scope": OPENID, "nonce": "n-0S6_WzA2Mj", **overrides})


def redeem(services: IssuerServices, code: str, client_id: str = "rp") -> Redeemed:
    """What the code holds, as /token reads it."""
    return services.authorization_codes.redeem(
        code,
        client_id=client_id,
        redirect_uri=REDIRECT,
        code_verifier=VERIFIER,
        now=services.clock(),
    )


def the_sign_in(services: IssuerServices) -> SignIn:
    [live] = services.sign_in_sessions.live(services.clock())
    return live


def refused_with(response: httpx.Response, error: str) -> dict[str, str]:
    """The client's redirect URI got `error`, with the request's state and the issuer."""
    answer = returned(response)
    assert (error, "s-1 &/=é") == (answer["error"], answer["state"])
    assert "iss" in answer and "code" not in answer
    return answer


@pytest.mark.parametrize(
    "prompt", ["none login", "none consent", "login none", "none select_account"]
)
async def test_prompt_none_with_other_value_invalid_request(
    issuer: tuple[httpx.AsyncClient, IssuerServices], prompt: str
) -> None:
    """§3.1.2.1: "If this parameter contains none with any other value, an error is
    returned."""
    client, _services = issuer
    refused_with(await client.get("/authorize", params=params(prompt=prompt)), "invalid_request")


async def test_unknown_prompt_value_invalid_request(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """A prompt value Core does not define is refused (as node-oidc-provider does), while
    select_account is read as login."""
    client, _services = issuer
    answer = refused_with(
        await client.get("/authorize", params=params(prompt="login shout")), "invalid_request"
    )
    assert "prompt" in answer["error_description"]
    assert is_login_page(await client.get("/authorize", params=params(prompt="select_account")))


@pytest.mark.parametrize("max_age", ["-1", "1.5", "+1", " 1", "1_0", "ten", "\u0663", "9" * 17])
async def test_max_age_not_an_integer_invalid_request(
    issuer: tuple[httpx.AsyncClient, IssuerServices], max_age: str
) -> None:
    """§3.1.2.1: max_age is a number of seconds; anything but a non-negative integer (within
    2**53, node-oidc-provider's bound) is refused."""
    client, _services = issuer
    answer = refused_with(
        await client.get("/authorize", params=params(max_age=max_age)), "invalid_request"
    )
    assert "max_age" in answer["error_description"]


async def test_nonce_over_512_characters_invalid_request(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = issuer
    assert is_login_page(await client.get("/authorize", params=params(nonce="n" * 512)))
    refused_with(await client.get("/authorize", params=params(nonce="n" * 513)), "invalid_request")


async def test_login_hint_prefills(issuer: tuple[httpx.AsyncClient, IssuerServices]) -> None:
    """§3.1.2.1: the hint fills in the username, escaped; the form carries it on."""
    client, _services = issuer
    page = await client.get("/authorize", params=params(login_hint="alice"))
    assert 'autofocus value="alice"' in page.text
    hostile = '"><script>alert(1)</script>'
    page = await client.get("/authorize", params=params(login_hint=hostile))
    assert is_login_page(page) and "<script>" not in page.text
    [prefilled] = re.findall(r'autofocus value="([^"]*)"', page.text)
    assert hostile == html.unescape(prefilled)
    too_long = await client.get("/authorize", params=params(login_hint="a" * 151))
    refused_with(too_long, "invalid_request")


async def test_unknown_parameter_ignored_core_3_1_2_1(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """ "Other parameters MAY be sent ... they MUST be ignored if not understood"; the ones
    Core defines that change nothing here are accepted too; an OIDC parameter sent twice is
    refused as every parameter is (an error page, never a redirect)."""
    client, _services = issuer
    accepted = params(
        ui_locales="fr-CA en",
        claims_locales="fr",
        display="popup",
        acr_values="urn:mace:incommon:iap:silver",
        claims='{"userinfo":{"email":{"essential":true}}}',
        response_mode_of_another_kind="x",
    )
    page = await client.get("/authorize", params=accepted)
    assert is_login_page(page)
    assert 'name="ui_locales" value="fr-CA en"' in page.text  # carried through the form
    assert "response_mode_of_another_kind" not in page.text and 'claims"' not in page.text
    repeated = await client.get(
        "/authorize", params=[*params().items(), ("nonce", "a"), ("nonce", "b")]
    )
    assert 400 == repeated.status_code and "location" not in repeated.headers


@pytest.mark.parametrize(
    ("name", "error"),
    [("request", "request_not_supported"), ("request_uri", "request_uri_not_supported")],
)
async def test_request_object_not_supported_core_6(
    issuer: tuple[httpx.AsyncClient, IssuerServices], name: str, error: str
) -> None:
    """§6: a request object (by value or by reference) gets its own error, to the client."""
    client, _services = issuer
    sent = params(**{name: "eyJhbGciOiJub25lIn0.e30."})
    refused_with(await client.get("/authorize", params=sent), error)


@pytest.mark.parametrize("response_type", ["id_token", "code id_token", "id_token token", "token"])
async def test_hybrid_unsupported(
    issuer: tuple[httpx.AsyncClient, IssuerServices], response_type: str
) -> None:
    """§3.2, §3.3: the implicit and hybrid flows are not offered (response_types_supported is
    ["code"])."""
    client, _services = issuer
    sent = params(response_type=response_type, nonce="n-1")
    refused_with(await client.get("/authorize", params=sent), "unsupported_response_type")


async def test_nonce_as_sent_core_3_1_2_1(rp: tuple[httpx.AsyncClient, IssuerServices]) -> None:
    """The code keeps the nonce exactly as sent, with the sign-in's auth_time and sid, for the
    ID token (Core §2); and the session records the client, for Back-Channel Logout."""
    client, services = rp
    nonce = "n-0S6_WzA2Mj &é" + "x" * 480
    code = returned(await sign_in(client, oidc(nonce=nonce)))["code"]
    session = the_sign_in(services)
    redeemed = redeem(services, code)
    assert (nonce, int(session.started_at), session.session_id) == (
        redeemed.nonce,
        redeemed.auth_time,
        redeemed.sid,
    )
    assert ["rp"] == services.session_clients.of(session.session_id)


async def test_identity_scopes_openid_and_email_for_every_user_offline_access_dropped(
    rp: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """alice has only `profile`: openid and email are every user's (decision 7), and
    offline_access is dropped, never an error (decision 6)."""
    client, services = rp
    code = returned(await sign_in(client, oidc(scope="openid email offline_access")))["code"]
    assert frozenset({"openid", "email"}) == redeem(services, code).scopes


async def test_prompt_none_without_session_login_required(
    rp: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """§3.1.2.6 login_required: no page under prompt=none, the error to the client."""
    client, _services = rp
    refused_with(await client.get("/authorize", params=oidc(prompt="none")), "login_required")


async def test_prompt_none_with_session_issues_code(
    rp: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, services = rp
    returned(await sign_in(client, oidc()))
    answer = returned(await client.get("/authorize", params=oidc(prompt="none", state="2")))
    assert "2" == answer["state"] and "code" in answer
    assert the_sign_in(services).session_id == redeem(services, answer["code"]).sid


async def test_prompt_none_consent_required(
    rp: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """Signed in, but a third-party client has no consent yet: consent_required."""
    client, services = rp
    public_client(
        services,
        "third",
        {"authorization_code"},
        ("openid",),
        (REDIRECT,),
        consent_required=True,
    )
    returned(await sign_in(client, oidc()))
    asked = await client.get("/authorize", params=oidc(client_id="third", prompt="none"))
    refused_with(asked, "consent_required")


async def test_prompt_login_new_auth_time_and_sid(
    rp: tuple[httpx.AsyncClient, IssuerServices], clock: FakeClock
) -> None:
    """§3.1.2.1 prompt=login: the login page although signed in; signing in starts a new
    session (new sid, new auth_time) that replaces the browser's, and the old one ends."""
    client, services = rp
    returned(await sign_in(client, oidc()))
    first = the_sign_in(services)
    clock.advance(100)
    old_cookie = client.cookies["issuer_session"]
    page = await client.get("/authorize", params=oidc(prompt="login"))
    assert is_login_page(page)
    login = {**form_of(page), "username": "alice", "password": "alice-pw"}
    code = returned(await client.post("/authorize", data=login))["code"]
    second = the_sign_in(services)  # the only live one: the first has ended
    redeemed = redeem(services, code)
    assert second.session_id != first.session_id
    assert (second.session_id, int(first.started_at) + 100) == (redeemed.sid, redeemed.auth_time)
    assert old_cookie != client.cookies["issuer_session"]
    assert services.sign_in_sessions.current(old_cookie, clock()) is None


@pytest.mark.parametrize("prompt", ["login", "select_account"])
async def test_prompt_login_asks_for_the_password_again(
    rp: tuple[httpx.AsyncClient, IssuerServices], prompt: str
) -> None:
    client, _services = rp
    returned(await sign_in(client, oidc()))
    assert is_login_page(await client.get("/authorize", params=oidc(prompt=prompt)))


async def test_max_age_exceeded_signs_in_again(
    rp: tuple[httpx.AsyncClient, IssuerServices], clock: FakeClock
) -> None:
    """§3.1.2.1 max_age: older than that, the user signs in again (under prompt=none:
    login_required); within it, the code, with the session's auth_time."""
    client, services = rp
    returned(await sign_in(client, oidc()))
    started = the_sign_in(services).started_at
    clock.advance(120)
    within = returned(await client.get("/authorize", params=oidc(max_age="300")))
    assert int(started) == redeem(services, within["code"]).auth_time
    assert is_login_page(await client.get("/authorize", params=oidc(max_age="60")))
    silent = await client.get("/authorize", params=oidc(max_age="60", prompt="none"))
    refused_with(silent, "login_required")


async def test_max_age_zero_is_prompt_login(
    rp: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = rp
    returned(await sign_in(client, oidc()))
    assert is_login_page(await client.get("/authorize", params=oidc(max_age="0")))


async def test_post_authorization_request_core_3_1_2_1(
    rp: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """§3.1.2.1: "Authorization Servers MUST support the use of the HTTP GET and POST
    methods". A POST without csrf_token is a request (decision 4), one with it the login
    form; a POSTed request's errors go to the client as a GET's do."""
    client, _services = rp
    assert is_login_page(await client.post("/authorize", data=oidc()))
    returned(await sign_in(client, oidc()))
    answer = returned(await client.post("/authorize", data=oidc(state="posted")))
    assert "posted" == answer["state"] and "code" in answer
    refused_with(await client.post("/authorize", data=oidc(prompt="none login")), "invalid_request")
    # Credentials in a POST without the form's token sign nobody in: it is only a request.
    client.cookies.clear()
    sneaked = await client.post(
        "/authorize", data={**oidc(), "username": "alice", "password": "alice-pw"}
    )
    assert is_login_page(sneaked)


async def id_token_of(
    client: httpx.AsyncClient,
    user: str = "alice",
    password: str = "alice-pw",  # noqa: S107 (the demo user of the fixture)
    **query: str,
) -> str:
    """An ID token this issuer gave `rp` (or the client `query` names) for `user`, through
    the code flow; the browser is then signed in as `user`."""
    sent = oidc(**query)
    code = returned(await sign_in(client, sent, user=user, password=password))["code"]
    token = await exchange(client, code, client_id=sent["client_id"])
    assert 200 == token.status_code, token.text
    id_token: str = token.json()["id_token"]
    return id_token


async def test_id_token_hint_other_user(
    rp: tuple[httpx.AsyncClient, IssuerServices], clock: FakeClock
) -> None:
    """A hint for the signed-in user gets the code, even expired (its exp is not checked); a
    hint for someone else asks for the password (prompt=none: login_required), as
    node-oidc-provider's "id_token_hint and authenticated subject do not match"."""
    client, services = rp
    services.users.add("bob", "bob-pw", frozenset({"profile"}))
    bobs = await id_token_of(client, "bob", "bob-pw")
    client.cookies.clear()
    alices = await id_token_of(client)
    clock.advance(services.settings.id_token_ttl + 60)
    assert "code" in returned(await client.get("/authorize", params=oidc(id_token_hint=alices)))
    assert is_login_page(await client.get("/authorize", params=oidc(id_token_hint=bobs)))
    silent = await client.get("/authorize", params=oidc(id_token_hint=bobs, prompt="none"))
    refused_with(silent, "login_required")


async def test_id_token_hint_unverifiable_invalid_request(
    rp: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """Core §3.1.2.1: the hint must be an ID token this issuer signed for this client: a
    tampered one, one for another client, or an access token is invalid_request, to the
    client."""
    client, services = rp
    public_client(services, "rp2", {"authorization_code"}, ("openid",), (REDIRECT,))
    id_token = await id_token_of(client)
    header, payload, signature = id_token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    client.cookies.clear()
    others = await id_token_of(client, client_id="rp2", scope="openid")
    code = returned(await client.get("/authorize", params=oidc()))["code"]
    access_token = (await exchange(client, code, client_id="rp")).json()["access_token"]
    for hint in (tampered, others, access_token, "not-a-jwt"):
        refused_with(
            await client.get("/authorize", params=oidc(id_token_hint=hint)), "invalid_request"
        )


async def test_the_replaced_sign_in_ends_as_at_logout(
    rp: tuple[httpx.AsyncClient, IssuerServices], clock: FakeClock
) -> None:
    """A new sign-in in the same browser ends the old session as /logout does: the clients it
    gave ID tokens to are told over the back channel (Back-Channel Logout 1.0 §2.7), with the
    old sid."""
    client, services = rp
    services.clients.add(
        "bc",
        public=True,
        grants=frozenset({"authorization_code"}),
        scopes=frozenset({"openid"}),
        audiences=(),
        auth_method="none",
        redirect_uris=(REDIRECT,),
        backchannel_logout_uri="https://rp.example/backchannel",
    )
    returned(await sign_in(client, oidc(client_id="bc", scope="openid")))
    first = the_sign_in(services)
    page = await client.get("/authorize", params=oidc(client_id="bc", scope="openid", max_age="0"))
    login = {**form_of(page), "username": "alice", "password": "alice-pw"}
    returned(await client.post("/authorize", data=login))
    [told] = BackchannelOutbox(services.engine).claim(clock(), 10)
    assert ("bc", first.user_id, first.session_id) == (told.client_id, told.sub, told.sid)
    assert ["bc"] == services.session_clients.of(the_sign_in(services).session_id)
