"""GET and POST /userinfo (OpenID Connect Core 1.0 §5.3) with the errors of RFC 6750 §3,
through the ASGI app, on both stores, with time from the injected clock."""

from pathlib import Path

import httpx
import jwt
import pytest

from issuer.accounts.users import UserClaims
from issuer.services import IssuerServices
from jwtkit.testing import FakeClock
from tests.support import ISSUER, basic_auth, issuer_client, issuer_settings, password_token

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

SCOPES = ["profile", "admin", "openid", "email"]
ALICE = UserClaims(
    name="Alice Liddell",
    given_name="Alice",
    family_name="Liddell",
    email="alice@example.com",
    email_verified=True,
    locale="en-GB",
)
CHALLENGE = f'Bearer realm="{ISSUER}"'


class World:
    def __init__(self, http: httpx.AsyncClient, services: IssuerServices) -> None:
        self.http, self.services = http, services
        services.users.add("alice", "alice-pw", frozenset(SCOPES), claims=ALICE)
        # A user who holds no claims but her username.
        services.users.add("bob", "bob-pw", frozenset(SCOPES))

    async def token(self, scope: str = "openid profile email", user: str = "alice") -> str:
        return await password_token(self.http, user, f"{user}-pw", scope=scope)

    async def get(self, token: str | None = None, **headers: str) -> httpx.Response:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return await self.http.get("/userinfo", headers=headers)


@pytest.fixture
async def world(tmp_path: Path, clock: FakeClock):  # type: ignore[no-untyped-def]
    settings = issuer_settings(tmp_path / "data", scopes=SCOPES)
    async with issuer_client(settings, clock) as (http, services):
        yield World(http, services)


def assert_refused(response: httpx.Response, status: int, error: str) -> None:
    assert status == response.status_code, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(f'{CHALLENGE}, error="{error}"'), challenge
    assert error == response.json()["error"]
    assert "no-store" == response.headers["cache-control"]


async def test_get_header_rfc6750_2_1(world: World) -> None:
    """GET with the token in the Authorization header: the user's claims, as JSON, not
    cached (the answer is personal data)."""
    response = await world.get(await world.token())
    assert 200 == response.status_code, response.text
    assert "application/json" == response.headers["content-type"]
    assert "no-store" == response.headers["cache-control"]
    assert "www-authenticate" not in response.headers  # openid-client reads one as an error
    body = response.json()
    assert ("alice", "alice@example.com") == (body["preferred_username"], body["email"])


async def test_post_header_core_5_3_1(world: World) -> None:
    """POST with the token in the header and no body (Basic OP oidcc-userinfo-post-header)."""
    token = await world.token()
    response = await world.http.post("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert (200, "alice") == (response.status_code, response.json()["preferred_username"])


async def test_post_form_body_rfc6750_2_2(world: World) -> None:
    """POST with the token as the form-encoded body's access_token (Basic OP
    oidcc-userinfo-post-body)."""
    token = await world.token()
    response = await world.http.post("/userinfo", data={"access_token": token})
    assert (200, "alice") == (response.status_code, response.json()["preferred_username"])


async def test_query_refused_rfc6750_2_3(world: World) -> None:
    """A token in the query string is refused (it leaks into logs), on GET and POST."""
    token = await world.token()
    got = await world.http.get("/userinfo", params={"access_token": token})
    posted = await world.http.post("/userinfo", params={"access_token": token})
    for response in (got, posted):
        assert_refused(response, 400, "invalid_request")


async def test_two_methods_invalid_request_rfc6750_3_1(world: World) -> None:
    """§3.1 invalid_request: "uses more than one method for including an access token"."""
    token = await world.token()
    response = await world.http.post(
        "/userinfo", data={"access_token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    assert_refused(response, 400, "invalid_request")


async def test_malformed_requests_invalid_request_rfc6750_3_1(world: World) -> None:
    """A header that is no bearer token, two headers, or a body that is no form: 400."""
    token = await world.token()
    malformed = await world.http.get("/userinfo", headers={"Authorization": "Bearer a b"})
    twice = await world.http.get("/userinfo", headers=[("Authorization", f"Bearer {token}")] * 2)
    bad_form = await world.http.post(
        "/userinfo",
        content=b"access_token=%ff",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    for response in (malformed, twice, bad_form):
        assert_refused(response, 400, "invalid_request")


async def test_no_token_no_error_code_rfc6750_3_1(world: World) -> None:
    """§3.1: "If the request lacks any authentication information ... the resource server
    SHOULD NOT include an error code": a bare challenge, on GET and POST, and for credentials
    of another scheme."""
    responses = [
        await world.get(),
        await world.http.post("/userinfo"),
        await world.http.post("/userinfo", data={"other": "x"}),
        await world.get(**basic_auth("alice", "alice-pw")),
    ]
    for response in responses:
        assert 401 == response.status_code
        assert CHALLENGE == response.headers["www-authenticate"]
        assert "error" not in response.json()


async def test_expired_and_revoked_invalid_token_rfc6750_3_1(
    world: World, clock: FakeClock
) -> None:
    """A token past its exp, a revoked one, garbage, a refresh token and the token of a
    removed user are all 401 invalid_token."""
    revoked = await world.token()
    assert 200 == (await world.http.post("/revoke", data={"token": revoked})).status_code
    removed = await world.token(user="bob")
    world.services.users.remove("bob")
    refresh = (
        await world.http.post(
            "/token",
            data={"username": "alice", "password": "alice-pw", "scope": "openid"},
        )
    ).json()["refresh_token"]
    for token in (revoked, removed, refresh, "not.a.token"):
        assert_refused(await world.get(token), 401, "invalid_token")
    expiring = await world.token()
    assert 200 == (await world.get(expiring)).status_code
    clock.advance(world.services.settings.access_token_ttl)
    assert_refused(await world.get(expiring), 401, "invalid_token")


async def test_without_openid_insufficient_scope(world: World) -> None:
    """A valid token without `openid` was not obtained in an OpenID Connect request: 403
    insufficient_scope, naming the scope needed (RFC 6750 §3)."""
    response = await world.get(await world.token("profile email"))
    assert_refused(response, 403, "insufficient_scope")
    assert response.headers["www-authenticate"].endswith(', scope="openid"')


async def test_service_token_speaks_for_no_user(world: World) -> None:
    """A client_credentials token, even with `openid`, describes no user: invalid_token."""
    _client, secret = world.services.clients.add(
        "worker",
        public=False,
        grants=frozenset({"client_credentials"}),
        scopes=frozenset({"openid"}),
        audiences=(),
        auth_method="client_secret_basic",
    )
    issued = await world.http.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "openid"},
        headers=basic_auth("worker", secret or ""),
    )
    assert 200 == issued.status_code, issued.text
    assert_refused(await world.get(issued.json()["access_token"]), 401, "invalid_token")


async def test_id_token_typ_refused_as_bearer_rfc9068_4(world: World, clock: FakeClock) -> None:
    """RFC 9068 §4: a token whose typ is not at+jwt is no access token. An access token's own
    claims signed again by the issuer's key, typed as an ID token is (JWT), are refused; the
    same claims typed at+jwt are accepted, so the refusal is the typ's."""
    claims = jwt.decode(await world.token(), options={"verify_signature": False})
    kid, key, algorithm = world.services.keyring.signer(clock())

    def signed(typ: str) -> str:
        return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid, "typ": typ})

    assert 200 == (await world.get(signed("at+jwt"))).status_code
    assert_refused(await world.get(signed("JWT")), 401, "invalid_token")


@pytest.mark.parametrize(
    ("scope", "released"),
    [
        (
            "profile",
            {"name", "given_name", "family_name", "preferred_username", "locale", "updated_at"},
        ),
        ("email", {"email", "email_verified"}),
        (
            "profile email",
            {
                "name",
                "given_name",
                "family_name",
                "preferred_username",
                "locale",
                "updated_at",
                "email",
                "email_verified",
            },
        ),
    ],
    ids=["profile", "email", "both"],
)
async def test_scope_claims_core_5_4(world: World, scope: str, released: set[str]) -> None:
    """Each scope releases its §5.4 claims and no others; `sub` always (§5.3.2)."""
    body = (await world.get(await world.token(f"openid {scope}"))).json()
    assert {"sub", *released} == set(body)
    if "email" in released:
        assert ("alice@example.com", True) == (body["email"], body["email_verified"])
    if "name" in released:
        assert ("Alice Liddell", "en-GB") == (body["name"], body["locale"])
        assert isinstance(body["updated_at"], int)


async def test_openid_alone_releases_sub(world: World) -> None:
    """`openid` alone releases only `sub`, the access token's subject."""
    token = await world.token("openid")
    body = (await world.get(token)).json()
    assert {"sub": jwt.decode(token, options={"verify_signature": False})["sub"]} == body


async def test_absent_claims_omitted_core_5_3_2(world: World) -> None:
    """§5.3.2: a claim not held is omitted, never null or "": bob has a username and the
    time his record last changed, no name, email or locale (and so no email_verified)."""
    body = (await world.get(await world.token(user="bob"))).json()
    assert {"sub", "preferred_username", "updated_at"} == set(body)
    assert None not in body.values() and "" not in body.values()


async def test_other_methods_not_allowed(world: World) -> None:
    """PUT, DELETE, PATCH: 405 naming both methods that serve."""
    for method in ("PUT", "DELETE", "PATCH"):
        response = await world.http.request(method, "/userinfo")
        assert (405, "GET, POST") == (response.status_code, response.headers["allow"])


async def test_cors_covers_userinfo_core_5_3(tmp_path: Path, clock: FakeClock) -> None:
    """§5.3: the endpoint "SHOULD support the use of CORS": ISSUER_CORS_ORIGINS covers it, so
    a browser app of an allowed origin may call it with its token."""
    settings = issuer_settings(
        tmp_path / "data", scopes=SCOPES, cors_origins=["http://localhost:8001"]
    )
    origin = {"Origin": "http://localhost:8001"}
    async with issuer_client(settings, clock) as (http, services):
        services.users.add("alice", "alice-pw", frozenset(SCOPES))
        token = await password_token(http, "alice", "alice-pw", scope="openid")
        preflight = await http.options(
            "/userinfo",
            headers={
                **origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        answer = await http.get("/userinfo", headers={**origin, "Authorization": f"Bearer {token}"})
    assert 200 == preflight.status_code
    assert "http://localhost:8001" == preflight.headers["access-control-allow-origin"]
    assert 200 == answer.status_code
    assert "http://localhost:8001" == answer.headers["access-control-allow-origin"]
