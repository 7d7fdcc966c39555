"""The OpenID provider in-process, as the Basic OP checks see it: the issuer app over httpx
(one client is both the user's browser, with its cookies, and the relying party's back
channel), the user alice with her claims, and two confidential relying parties registered as
the suite's static clients are: `rp` (client_secret_basic) and `rp-post` (client_secret_post).

ID tokens are checked here without the issuer's own code: PyJWT with the published JWKS, and
Authlib's at_hash, against the injected clock."""

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt

from issuer.accounts.users import UserClaims
from issuer.app import create_app
from issuer.services import IssuerServices
from issuer.sessions.authorization_codes import s256
from jwtkit.testing import FakeClock
from tests.issuer.sign_in import form_of, is_login_page
from tests.support import ISSUER, basic_auth, issuer_settings, running

REDIRECT = "https://rp.example/callback"
PASSWORD = "alice-password"
ALICE = UserClaims(
    name="Alice Liddell",
    given_name="Alice",
    family_name="Liddell",
    email="alice@example.com",
    email_verified=True,
    locale="en-GB",
)
PROFILE_CLAIMS = {"name", "given_name", "family_name", "preferred_username", "locale"}
EMAIL_CLAIMS = {"email", "email_verified"}
# Core §3.1.2.6 / the suite's CheckForUnexpectedParametersInErrorResponseFromAuthorizationEndpoint.
ERROR_RESPONSE_PARAMETERS = {"error", "error_description", "error_uri", "state", "iss"}


@dataclass
class Request:
    """One authorization request's parameters, with the secrets the RP keeps."""

    params: dict[str, str]
    verifier: str
    client_id: str = "rp"

    @property
    def nonce(self) -> str | None:
        return self.params.get("nonce")


@dataclass
class SignIn:
    """A finished code flow: the token response and its ID token's verified header and
    claims."""

    request: Request
    tokens: dict[str, Any]
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def access_token(self) -> str:
        token: str = self.tokens["access_token"]
        return token


def parameters(response: httpx.Response) -> dict[str, str]:
    """The query of the redirect back to the RP (it must be one)."""
    assert 303 == response.status_code, response.text
    location = response.headers["location"]
    assert location.startswith(f"{REDIRECT}?"), location
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


@dataclass
class Provider:
    http: httpx.AsyncClient
    transport: httpx.ASGITransport  # for another client of the same app (Authlib's)
    services: IssuerServices
    clock: FakeClock
    secrets: dict[str, str] = field(default_factory=dict)

    def request(
        self, scope: str = "openid", *, client_id: str = "rp", nonce: bool = True, **extra: str
    ) -> Request:
        """A code-flow authentication request with PKCE S256, state and (unless told) a
        nonce, plus `extra` parameters."""
        verifier = secrets.token_urlsafe(48)
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": secrets.token_urlsafe(16),
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
            **({"nonce": secrets.token_urlsafe(16)} if nonce else {}),
            **extra,
        }
        return Request(params, verifier, client_id)

    async def authorize(self, request: Request, *, post: bool = False) -> httpx.Response:
        if post:  # Core §3.1.2.1: form-encoded, as a browser's auto-submitted form sends it
            return await self.http.post("/authorize", data=request.params)
        return await self.http.get("/authorize", params=request.params)

    async def log_in(self, page: httpx.Response, username: str = "alice") -> httpx.Response:
        assert is_login_page(page), page.text
        form = {**form_of(page), "username": username, "password": PASSWORD}
        return await self.http.post("/authorize", data=form)

    async def code(self, request: Request, *, post: bool = False) -> dict[str, str]:
        """The authorization response (logging in if asked), its state and iss checked."""
        answer = await self.authorize(request, post=post)
        if is_login_page(answer):
            # Core §3.1.2.1: under prompt=none "the Authorization Server MUST NOT display any
            # authentication or consent user interface pages".
            assert "none" != request.params.get("prompt"), "a page under prompt=none"
            answer = await self.log_in(answer)
        returned = parameters(answer)
        assert (request.params.get("state"), ISSUER) == (returned.get("state"), returned["iss"])
        return returned

    async def redeem(self, code: str, request: Request) -> httpx.Response:
        """The token request for the code."""
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": request.verifier,
        }
        return await self.token(data, request.client_id)

    async def refresh(self, refresh_token: str, client_id: str = "rp") -> httpx.Response:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return await self.token(data, client_id)

    async def token(self, data: dict[str, str], client_id: str) -> httpx.Response:
        """POST /token as the client, with its registered authentication method."""
        secret = self.secrets[client_id]
        if client_id == "rp-post":
            data = {**data, "client_id": client_id, "client_secret": secret}
            return await self.http.post("/token", data=data)
        return await self.http.post("/token", data=data, headers=basic_auth(client_id, secret))

    async def sign_in(self, request: Request, *, post: bool = False) -> SignIn:
        """The whole code flow, its token response and ID token checked."""
        returned = await self.code(request, post=post)
        assert "error" not in returned, returned
        response = await self.redeem(returned["code"], request)
        assert 200 == response.status_code, response.text
        assert "no-store" in response.headers["cache-control"]  # RFC 6749 §5.1
        tokens: dict[str, Any] = response.json()
        assert "bearer" == tokens["token_type"].lower()
        header, claims = await self.verified(tokens["id_token"], request, tokens["access_token"])
        return SignIn(request, tokens, header, claims)

    async def verified(
        self, id_token: str, request: Request, access_token: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Core §3.1.3.7 as an RP checks it, at the injected clock's time."""
        header = jwt.get_unverified_header(id_token)
        keys = jwt.PyJWKSet.from_dict((await self.http.get("/.well-known/jwks.json")).json())
        key = next(key for key in keys.keys if key.key_id == header["kid"])
        claims: dict[str, Any] = jwt.decode(
            id_token,
            key,
            algorithms=[header["alg"]],
            audience=request.client_id,
            issuer=ISSUER,
            options={
                "require": ["iss", "sub", "aud", "exp", "iat"],
                "verify_exp": False,  # checked below against the issuer's clock
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        assert claims["iat"] <= self.clock.now < claims["exp"]
        assert request.nonce == claims.get("nonce")  # §3.1.3.7 11: as sent, or none
        assert at_hash(access_token, header["alg"]) == claims["at_hash"]  # §3.1.3.8
        return header, claims

    async def userinfo(self, access_token: str) -> httpx.Response:
        return await self.http.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})

    async def discovery(self) -> dict[str, Any]:
        document: dict[str, Any] = (await self.http.get("/.well-known/openid-configuration")).json()
        return document


def at_hash(access_token: str, algorithm: str) -> str:
    """Authlib's implementation (an independent one) of Core §3.1.3.6's half hash."""
    from authlib.oidc.core.util import create_half_hash

    return create_half_hash(access_token, algorithm).decode()  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def provider(tmp_path: Path, clock: FakeClock, **settings: Any) -> AsyncIterator[Provider]:
    """The issuer app running with `settings`, alice and the two relying parties."""
    app = create_app(issuer_settings(tmp_path / "data", **settings), clock)
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
            yield await _registered(Provider(http, transport, app.state.services, clock))


async def _registered(op: Provider) -> Provider:
    op.services.users.add("alice", PASSWORD, frozenset({"profile"}), claims=ALICE)
    for client_id, method in (("rp", "client_secret_basic"), ("rp-post", "client_secret_post")):
        _, secret = op.services.clients.add(
            client_id,
            public=False,
            grants=frozenset({"authorization_code", "refresh_token"}),
            scopes=frozenset({"openid", "profile", "email"}),
            audiences=(),
            auth_method=method,
            redirect_uris=(REDIRECT,),
        )
        assert secret is not None
        op.secrets[client_id] = secret
    return op
