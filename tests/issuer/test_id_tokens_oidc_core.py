"""The ID token of the code flow with scope `openid` (OpenID Connect Core 1.0 §2, §3.1.3.3,
§3.1.3.6, §12.2), over HTTP against the issuer app on both stores, each one checked with
jwtkit's IdTokenVerifier over the issuer's own JWKS."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from authlib.oidc.core.util import create_half_hash
from fastapi import FastAPI

from issuer.accounts.users import UserClaims
from issuer.app import create_app as create_issuer_app
from issuer.services import IssuerServices
from issuer.tokens.id_tokens import verified_hint
from jwtkit import IdTokenVerifier, InMemoryJwks
from jwtkit.contract import ALGORITHMS, half_hash
from jwtkit.testing import FakeClock
from resource_api.app import create_app as create_resource_app
from resource_api.config import ResourceApiSettings
from tests.issuer.sign_in import (
    CHALLENGE,
    REDIRECT,
    exchange,
    params,
    public_client,
    returned,
    sign_in,
)
from tests.support import issuer_settings, running

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

RP = "rp"  # a code-flow client registered for the identity scopes
NONCE = "n-0S6_WzA2Mj +/=é"  # sent as is: Core §3.1.2.1 passes it through unmodified
# Every claim an ID token of this issuer has (decision 10: no azp, no acr, no profile claims).
ID_TOKEN_CLAIMS = {"iss", "sub", "aud", "exp", "iat", "auth_time", "at_hash", "sid", "amr"}


@dataclass
class Issuer:
    app: FastAPI
    client: httpx.AsyncClient
    services: IssuerServices
    clock: FakeClock

    async def verifier(self) -> IdTokenVerifier:
        """An RP's IdTokenVerifier for RP, over the JWKS the issuer publishes now."""
        jwks = (await self.client.get("/.well-known/jwks.json")).content
        settings = self.services.settings
        return IdTokenVerifier(
            InMemoryJwks(settings.url, jwks),
            client_id=RP,
            algorithms=[settings.signing_alg],
            clock=self.clock,
        )


@contextlib.asynccontextmanager
async def openid_issuer(tmp_path: Path, clock: FakeClock, **settings: Any) -> AsyncIterator[Issuer]:
    """The issuer app with alice (password alice-pw) and the public client RP."""
    configured = issuer_settings(tmp_path / "data", demo_users=["alice:alice-pw"], **settings)
    app = create_issuer_app(configured, clock)
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=configured.url) as client:
            services: IssuerServices = app.state.services
            public_client(
                services,
                RP,
                {"authorization_code", "refresh_token"},
                scopes=("openid", "profile", "email"),
                redirect_uris=(REDIRECT,),
            )
            yield Issuer(app, client, services, clock)


@pytest.fixture
async def issuer(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Issuer]:
    async with openid_issuer(tmp_path, clock) as running_issuer:
        yield running_issuer


async def signed_in(issuer: Issuer, scope: str = "openid profile") -> None:
    """alice signs in at the login page; the browser (the client) keeps the session cookie."""
    returned(await sign_in(issuer.client, params(client_id=RP, scope=scope)))


async def openid_code(
    issuer: Issuer, scope: str = "openid profile", nonce: str | None = None
) -> str:
    """A code for the signed-in alice, bound to her sign-in session and the nonce sent.

    Until /authorize passes nonce, auth_time and sid on (the authorization endpoint's part of
    issue 22), the code is issued the way it will issue it: by the code store, from the
    browser's live sign-in session."""
    services = issuer.services
    cookie = issuer.client.cookies["issuer_session"]
    session = services.sign_in_sessions.current(cookie, issuer.clock())
    assert session is not None
    return services.authorization_codes.issue(
        client_id=RP,
        redirect_uri=REDIRECT,
        code_challenge=CHALLENGE,
        user_id=session.user_id,
        scopes=frozenset(scope.split()),
        now=issuer.clock(),
        nonce=nonce,
        auth_time=int(session.started_at),
        sid=session.session_id,
    )


async def token_response(
    issuer: Issuer, scope: str = "openid profile", nonce: str | None = None
) -> dict[str, Any]:
    """The token endpoint's answer to the code of a sign-in (a new one when none is live)."""
    if "issuer_session" not in issuer.client.cookies:
        await signed_in(issuer, scope)
    response = await exchange(issuer.client, await openid_code(issuer, scope, nonce), client_id=RP)
    assert 200 == response.status_code, response.text
    body: dict[str, Any] = response.json()
    return body


def unverified(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def test_id_token_claims_core_2(issuer: Issuer) -> None:
    """Core §2 and §3.1.3.3: the code flow with openid returns an id_token: iss the issuer,
    sub the access token's, aud the client id (a string), exp = iat + ISSUER_ID_TOKEN_TTL,
    amr pwd; signed by the access token's key with typ JWT; it passes IdTokenVerifier."""
    body = await token_response(issuer)
    verifier = await issuer.verifier()
    claims = await verifier.verify(body["id_token"], access_token=body["access_token"])
    access = unverified(body["access_token"])
    assert ID_TOKEN_CLAIMS == set(claims)
    assert (issuer.services.settings.url, access["sub"], RP, ["pwd"]) == (
        claims["iss"],
        claims["sub"],
        claims["aud"],
        claims["amr"],
    )
    assert claims["iat"] + 3600 == claims["exp"]
    header, access_header = (
        jwt.get_unverified_header(body[k]) for k in ("id_token", "access_token")
    )
    assert ("JWT", access_header["kid"], access_header["alg"]) == (
        header["typ"],
        header["kid"],
        header["alg"],
    )


async def test_id_token_lifetime_is_the_setting_core_2(tmp_path: Path, clock: FakeClock) -> None:
    """exp is iat plus ISSUER_ID_TOKEN_TTL, whatever the access token's lifetime."""
    async with openid_issuer(tmp_path, clock, id_token_ttl="10m") as issuer:
        claims = unverified((await token_response(issuer))["id_token"])
    assert 600 == claims["exp"] - claims["iat"]


async def test_nonce_as_sent_core_3_1_2_1(issuer: Issuer) -> None:
    """Core §3.1.2.1 and §2: the nonce comes back in the ID token exactly as sent."""
    body = await token_response(issuer, nonce=NONCE)
    claims = await (await issuer.verifier()).verify(body["id_token"], nonce=NONCE)
    assert NONCE == claims["nonce"]


async def test_no_nonce_when_none_sent(issuer: Issuer) -> None:
    """No nonce in the request, none in the ID token (a strict RP refuses one it did not
    send)."""
    body = await token_response(issuer)
    assert "nonce" not in unverified(body["id_token"])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_at_hash_core_3_1_3_6(tmp_path: Path, clock: FakeClock, algorithm: str) -> None:
    """Core §3.1.3.6: at_hash is the left half of the access token's hash under the ID
    token's alg (the active key's), as Authlib's create_half_hash computes it too."""
    async with openid_issuer(
        tmp_path, clock, signing_alg=algorithm, key_passphrase="correct horse battery staple"
    ) as issuer:
        body = await token_response(issuer)
        verifier = await issuer.verifier()
        claims = await verifier.verify(body["id_token"], access_token=body["access_token"])
    access_token = body["access_token"]
    assert algorithm == jwt.get_unverified_header(body["id_token"])["alg"]
    assert half_hash(access_token, algorithm) == claims["at_hash"]
    assert create_half_hash(access_token, algorithm).decode() == claims["at_hash"]


async def test_auth_time_is_sign_in_time_core_2(issuer: Issuer, clock: FakeClock) -> None:
    """Core §2: auth_time is when the user signed in, not when the code or token was issued
    (a later code from the same sign-in session keeps it)."""
    signed_in_at = int(clock())
    await signed_in(issuer)
    clock.advance(600)
    claims = unverified((await token_response(issuer))["id_token"])
    assert (signed_in_at, signed_in_at + 600) == (claims["auth_time"], claims["iat"])


async def test_sid_is_the_sign_in_session(issuer: Issuer) -> None:
    """sid is the sign-in session's id (the one `sessions list` shows and back-channel logout
    names), and not the session cookie."""
    await signed_in(issuer)
    cookie = issuer.client.cookies["issuer_session"]
    session = issuer.services.sign_in_sessions.current(cookie, issuer.clock())
    assert session is not None
    claims = unverified((await token_response(issuer))["id_token"])
    assert session.session_id == claims["sid"]
    assert cookie != claims["sid"]


async def test_no_id_token_without_openid(issuer: Issuer) -> None:
    """Core §3.1.3.3: an id_token only for a request with the openid scope."""
    body = await token_response(issuer, scope="profile")
    assert "id_token" not in body
    assert "access_token" in body


async def test_no_profile_claims_in_id_token_core_5_4(issuer: Issuer) -> None:
    """Core §5.4: with an access token issued, profile and email claims are released at the
    UserInfo endpoint, never in the ID token."""
    claims_set = UserClaims(name="Alice Liddell", email="alice@example.com", email_verified=True)
    issuer.services.users.update("alice", claims_set)
    body = await token_response(issuer, scope="openid profile email")
    assert {"openid", "profile", "email"} == set(body["scope"].split())
    assert ID_TOKEN_CLAIMS == set(unverified(body["id_token"]))


async def test_refresh_id_token_core_12_2(issuer: Issuer, clock: FakeClock) -> None:
    """Core §12.2: a refresh with openid returns a new ID token with the same iss, sub, aud,
    the original auth_time (and sid), a new iat and at_hash, and no nonce (errata: SHOULD
    NOT)."""
    first = await token_response(issuer, nonce=NONCE)
    clock.advance(1200)
    refreshed = await issuer.client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": RP,
        },
    )
    assert 200 == refreshed.status_code, refreshed.text
    body = refreshed.json()
    verifier = await issuer.verifier()
    new = await verifier.verify(body["id_token"], access_token=body["access_token"])
    old = unverified(first["id_token"])
    same = ("iss", "sub", "aud", "auth_time", "sid")
    assert [old[name] for name in same] == [new[name] for name in same]
    assert old["iat"] + 1200 == new["iat"]
    assert "nonce" not in new and NONCE == old["nonce"]
    assert old["at_hash"] != new["at_hash"]


async def test_id_token_is_not_an_access_token_rfc9068_4(issuer: Issuer, clock: FakeClock) -> None:
    """RFC 9068 §4: the resource API refuses the ID token as a bearer token (its typ is JWT,
    its aud a client id), and takes the access token issued with it."""
    body = await token_response(issuer)
    api_app = create_resource_app(
        ResourceApiSettings(issuer_url=issuer.services.settings.url),
        clock=clock,
        transport=httpx.ASGITransport(app=issuer.app),
    )
    async with (
        running(api_app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=api_app), base_url="http://api") as api,
    ):

        async def me(token: str) -> httpx.Response:
            return await api.get("/users/me", headers={"Authorization": f"Bearer {token}"})

        assert 200 == (await me(body["access_token"])).status_code
        refused = await me(body["id_token"])
    assert 401 == refused.status_code
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


async def test_password_grant_gets_no_id_token(issuer: Issuer) -> None:
    """Core defines no ID token for the password grant (nor client credentials): no user
    signed in at the issuer's login page, so there is no sign-in for it to speak of, even with
    openid granted."""
    issuer.services.users.add("bob", "bob-pw", frozenset({"openid", "profile"}))
    response = await issuer.client.post(
        "/token",
        data={
            "grant_type": "password",
            "username": "bob",
            "password": "bob-pw",
            "scope": "openid profile",
        },
    )
    assert 200 == response.status_code, response.text
    assert "openid" in response.json()["scope"].split()
    assert "id_token" not in response.json()


async def test_id_token_hint_is_verified_rp_initiated_logout_2(
    issuer: Issuer, clock: FakeClock
) -> None:
    """RP-Initiated Logout 1.0 §2 (and Core §3.1.2.1's id_token_hint): an ID token this issuer
    signed is a hint for its client, or for the client its aud names when none is said, even
    after its exp; another client's, an altered one, an access token or garbage is not."""
    body = await token_response(issuer)
    hint, services = body["id_token"], issuer.services
    clock.advance(7200)  # past the ID token's exp
    claims = await verified_hint(hint, RP, services)
    assert claims is not None and unverified(hint)["sid"] == claims["sid"]
    assert claims == await verified_hint(hint, None, services)
    head, payload, signature = hint.split(".")
    for refused, client_id in (
        (hint, "web"),
        (f"{head}.{payload}x.{signature}", RP),
        (body["access_token"], None),
        ("not a token", None),
    ):
        assert await verified_hint(refused, client_id, services) is None
