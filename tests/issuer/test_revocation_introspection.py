"""POST /revoke (RFC 7009) and POST /introspect (RFC 7662) through the ASGI app, on both
stores, with time from the injected clock."""

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from issuer.config import IssuerSettings
from issuer.services import IssuerServices
from jwtkit.testing import FakeClock
from tests.support import basic_auth, issuer_client

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]


class World:
    def __init__(self, http: httpx.AsyncClient, services: IssuerServices) -> None:
        self.http, self.services = http, services
        _c, secret = services.clients.add(
            "api",
            public=False,
            grants=frozenset({"introspection"}),
            scopes=frozenset(),
            audiences=(),
            auth_method="client_secret_basic",
        )
        self.api = basic_auth("api", secret or "")
        _c, service_secret = services.clients.add(
            "worker",
            public=False,
            grants=frozenset({"client_credentials"}),
            scopes=frozenset({"profile"}),
            audiences=(),
            auth_method="client_secret_basic",
        )
        self.worker = basic_auth("worker", service_secret or "")

    async def login(self) -> dict[str, str]:
        response = await self.http.post("/token", data={"username": "alice", "password": "pw"})
        assert 200 == response.status_code
        body: dict[str, str] = response.json()
        return body

    async def introspect(self, token: str) -> dict[str, object]:
        response = await self.http.post("/introspect", data={"token": token}, headers=self.api)
        assert 200 == response.status_code, response.text
        assert "no-store" == response.headers["cache-control"]
        answer: dict[str, object] = response.json()
        return answer

    async def revoke(self, token: str, **headers: str) -> httpx.Response:
        return await self.http.post("/revoke", data={"token": token}, headers=headers)


@pytest.fixture
async def world(settings: IssuerSettings, clock: FakeClock):  # type: ignore[no-untyped-def]
    async with issuer_client(settings, clock) as (http, services):
        services.users.add("alice", "pw", frozenset({"profile"}))
        yield World(http, services)


async def test_rfc7662_active_access_and_refresh_tokens(world: World) -> None:
    """An active access token is described with the RFC 7662 §2.2 members; a refresh token
    too, with its own type."""
    tokens = await world.login()
    access = await world.introspect(tokens["access_token"])
    assert {
        "active",
        "scope",
        "client_id",
        "username",
        "token_type",
        "exp",
        "iat",
        "sub",
        "aud",
        "iss",
        "jti",
    } <= set(access)
    assert (True, "alice", "default", "Bearer") == (
        access["active"],
        access["username"],
        access["client_id"],
        access["token_type"],
    )
    refresh = await world.introspect(tokens["refresh_token"])
    assert (True, "refresh_token", "alice") == (
        refresh["active"],
        refresh["token_type"],
        refresh["username"],
    )


async def test_rfc7662_inactive_states(world: World, clock: FakeClock) -> None:
    """Expired, revoked, unknown, a used refresh token, and a removed user's: active false and
    nothing else."""
    tokens = await world.login()
    assert {"active": False} == await world.introspect("not-a-token")
    assert 200 == (await world.revoke(tokens["access_token"])).status_code
    assert {"active": False} == await world.introspect(tokens["access_token"])
    second = await world.login()
    clock.advance(901)
    world.services.keyring.refresh()
    assert {"active": False} == await world.introspect(second["access_token"])
    third = await world.login()
    world.services.users.remove("alice")
    assert {"active": False} == await world.introspect(third["access_token"])
    assert {"active": False} == await world.introspect(third["refresh_token"])


async def test_rfc7009_refresh_token_revokes_its_family(world: World) -> None:
    """Revoking a refresh token ends its login: the token and its successors stop working."""
    tokens = await world.login()
    refreshed = await world.http.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    newest = refreshed.json()["refresh_token"]
    assert 200 == (await world.revoke(newest)).status_code
    again = await world.http.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": newest}
    )
    assert (400, "invalid_grant") == (again.status_code, again.json()["error"])


async def test_rfc7009_unknown_and_repeated_revocations_are_200(world: World) -> None:
    """§2.2: an invalid or already revoked token still gets 200."""
    tokens = await world.login()
    for token in ("garbage", tokens["refresh_token"], tokens["refresh_token"]):
        assert 200 == (await world.revoke(token)).status_code


async def test_rfc7009_another_clients_token_is_not_revoked(world: World) -> None:
    """A client can revoke only its own tokens: the answer is still 200, nothing changes."""
    tokens = await world.login()
    assert 200 == (await world.revoke(tokens["access_token"], **world.worker)).status_code
    assert True is (await world.introspect(tokens["access_token"]))["active"]


async def test_rfc7662_introspection_needs_a_registered_confidential_client(
    world: World,
) -> None:
    """No client authentication (the default public client) and wrong credentials are 401
    (RFC 7662 §2.1); a confidential client not registered for it is refused."""
    tokens = await world.login()
    public = await world.http.post("/introspect", data={"token": tokens["access_token"]})
    worker = await world.http.post(
        "/introspect", data={"token": tokens["access_token"]}, headers=world.worker
    )
    wrong = await world.http.post(
        "/introspect", data={"token": tokens["access_token"]}, headers=basic_auth("api", "wrong")
    )
    assert [
        (401, "invalid_client"),
        (400, "unauthorized_client"),
        (401, "invalid_client"),
    ] == [(r.status_code, r.json()["error"]) for r in (public, worker, wrong)]
    assert public.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    ("failing", "endpoint"),
    [
        ("client_auth.authenticate", "/revoke"),
        ("token_status.revoke", "/revoke"),
        ("client_auth.authenticate", "/introspect"),
        ("token_status.introspect", "/introspect"),
    ],
)
async def test_database_failure_is_503_temporarily_unavailable_not_500(
    world: World, monkeypatch: pytest.MonkeyPatch, failing: str, endpoint: str
) -> None:
    """A failing database, in the client lookup or in the token's, answers RFC 6749
    temporarily_unavailable with Retry-After, not cacheable, never a 500."""
    tokens = await world.login()
    owner, method = failing.split(".")

    def broken(*_args: object) -> None:
        raise OperationalError("SELECT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(getattr(world.services, owner), method, broken)
    answer = await world.http.post(
        endpoint, data={"token": tokens["access_token"]}, headers=world.api
    )
    assert (503, "5", "no-store") == (
        answer.status_code,
        answer.headers["retry-after"],
        answer.headers["cache-control"],
    )
    assert {
        "error": "temporarily_unavailable",
        "error_description": "the database is unavailable; try again shortly",
    } == answer.json()
