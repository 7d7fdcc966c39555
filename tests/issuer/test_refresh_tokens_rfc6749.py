"""Refresh tokens (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2), through
the token endpoint and against the real database (SQLite and PostgreSQL)."""

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from issuer.config import IssuerSettings
from issuer.errors import InvalidGrant
from issuer.services import IssuerServices
from issuer.sessions.refresh_tokens import RACE_WINDOW
from jwtkit.testing import FakeClock
from tests.support import issuer_client

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

DAY = 86400.0


async def _login(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post("/token", data={"username": "alice", "password": "alice-pw"})
    assert 200 == response.status_code, response.text
    body: dict[str, str] = response.json()
    return body


async def _refresh(client: httpx.AsyncClient, token: str, **form: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token, **form}
    return await client.post("/token", data=data)


@pytest.fixture
async def issuer(settings: IssuerSettings, clock: FakeClock):  # type: ignore[no-untyped-def]
    async with issuer_client(settings, clock) as (client, services):
        services.users.add("alice", "alice-pw", frozenset({"profile", "admin"}))
        yield client, services


async def test_rfc6749_6_password_grant_returns_a_refresh_token_and_it_rotates(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """The seed's client gets a refresh token; each use returns a new one and an access token,
    and the one presented stops working."""
    client, _services = issuer
    first = (await _login(client))["refresh_token"]
    assert len(first) >= 43  # 256 bits, base64url
    refreshed = await _refresh(client, first)
    assert 200 == refreshed.status_code
    second = refreshed.json()["refresh_token"]
    assert second != first and refreshed.json()["access_token"]
    assert 200 == (await _refresh(client, second)).status_code


async def test_rfc9700_reuse_revokes_the_whole_family(
    issuer: tuple[httpx.AsyncClient, IssuerServices], clock: FakeClock
) -> None:
    """Presenting a used refresh token (after the race window) is invalid_grant and revokes
    every token of that login, the newest included."""
    client, _services = issuer
    first = (await _login(client))["refresh_token"]
    second = (await _refresh(client, first)).json()["refresh_token"]
    clock.advance(RACE_WINDOW + 1)
    replay = await _refresh(client, first)
    assert (400, "invalid_grant") == (replay.status_code, replay.json()["error"])
    assert 400 == (await _refresh(client, second)).status_code


async def test_concurrent_refreshes_exactly_one_succeeds_and_the_session_survives(
    issuer: tuple[httpx.AsyncClient, IssuerServices], clock: FakeClock
) -> None:
    """Eight threads present the same token at the same instant against the real database:
    exactly one gets a new token; the others are refused without ending the session (two tabs
    refreshing at once), so the winner's token keeps working."""
    client, services = issuer
    first = (await _login(client))["refresh_token"]

    def rotate(_: int) -> str | None:
        try:
            return services.refresh_tokens.rotate(first, "default", None, clock()).refresh_token
        except InvalidGrant:
            return None

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(rotate, range(8)))
    winners = [token for token in results if token is not None]
    assert 1 == len(winners)
    assert 200 == (await _refresh(client, winners[0])).status_code


async def test_idle_and_absolute_lifetimes(
    issuer: tuple[httpx.AsyncClient, IssuerServices], clock: FakeClock
) -> None:
    """A token unused for ISSUER_REFRESH_TOKEN_TTL (14 d) expires; a family used every 13 days
    still ends ISSUER_REFRESH_TOKEN_MAX_AGE (90 d) after the login."""
    client, services = issuer
    idle = (await _login(client))["refresh_token"]
    token = (await _login(client))["refresh_token"]

    def days_pass(days: float) -> None:
        clock.advance(days * DAY)
        services.keyring.refresh()  # as the key timer would; keys would otherwise be stale

    days_pass(14)
    assert 400 == (await _refresh(client, idle)).status_code
    days_pass(-1)
    for _ in range(6):  # 13 + 6 x 13 = 91 days: the last refresh is past 90
        response = await _refresh(client, token)
        assert 200 == response.status_code
        token = response.json()["refresh_token"]
        days_pass(13)
    assert 400 == (await _refresh(client, token)).status_code


async def test_refresh_token_is_bound_to_its_client(
    issuer: tuple[httpx.AsyncClient, IssuerServices], settings: IssuerSettings
) -> None:
    """Another client presenting the token is refused."""
    client, services = issuer
    token = (await _login(client))["refresh_token"]
    services.clients.add(
        "other-app",
        public=True,
        grants=frozenset({"password", "refresh_token"}),
        scopes=frozenset({"profile"}),
        audiences=(),
        auth_method="none",
    )
    response = await _refresh(client, token, client_id="other-app")
    assert (400, "invalid_grant") == (response.status_code, response.json()["error"])


async def test_rfc6749_6_narrower_scope_allowed_wider_refused(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """A refresh may ask for less than the login granted, never more."""
    client, _services = issuer
    login = await client.post(
        "/token", data={"username": "alice", "password": "alice-pw", "scope": "profile admin"}
    )
    token = login.json()["refresh_token"]
    narrow = await _refresh(client, token, scope="profile")
    assert "profile" == narrow.json()["scope"]
    wider = await _refresh(client, narrow.json()["refresh_token"], scope="profile admin")
    assert (400, "invalid_scope") == (wider.status_code, wider.json()["error"])


async def test_removed_user_cannot_refresh(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """A user removed after login: their refresh token is invalid_grant."""
    client, services = issuer
    token = (await _login(client))["refresh_token"]
    services.users.remove("alice")
    response = await _refresh(client, token)
    assert (400, "invalid_grant") == (response.status_code, response.json()["error"])


async def test_users_passwd_and_remove_end_every_session(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
    settings: IssuerSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`users passwd NAME --password-stdin` sets the password and revokes all of the user's
    refresh tokens; `sessions list` shows live sessions; `sessions revoke --family` ends one."""
    import io

    import anyio.to_thread

    from issuer.cli.main import main

    client, _services = issuer
    monkeypatch.setenv("ISSUER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ISSUER_SCOPES", "profile admin")
    for name, value in {"ARGON2_MEMORY_KIB": "19456", "ARGON2_TIME_COST": "2"}.items():
        monkeypatch.setenv(f"ISSUER_{name}", value)
    phone, laptop = [(await _login(client))["refresh_token"] for _ in range(2)]
    assert 0 == await anyio.to_thread.run_sync(
        main, ["sessions", "list", "--user", "alice", "--json"]
    )
    listed = json.loads(capsys.readouterr().out)
    assert 2 == len(listed) and {"alice"} == {row["user"] for row in listed}
    family = listed[0]["family"]
    assert 0 == await anyio.to_thread.run_sync(main, ["sessions", "revoke", "--family", family])
    capsys.readouterr()
    statuses = sorted([(await _refresh(client, t)).status_code for t in (phone, laptop)])
    assert [200, 400] == statuses
    third = (await _login(client))["refresh_token"]
    monkeypatch.setattr("sys.stdin", io.StringIO("new-password\n"))
    assert 0 == await anyio.to_thread.run_sync(
        main, ["users", "passwd", "alice", "--password-stdin"]
    )
    assert 400 == (await _refresh(client, third)).status_code
    login = await client.post("/token", data={"username": "alice", "password": "new-password"})
    assert 200 == login.status_code
    assert 0 == await anyio.to_thread.run_sync(main, ["users", "remove", "alice"])
    assert 400 == (await _refresh(client, login.json()["refresh_token"])).status_code


async def test_rfc6749_6_confidential_client_must_authenticate_to_refresh(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """A confidential client's refresh token is refused without the client's secret (401
    invalid_client) and accepted with it."""

    client, services = issuer
    _c, secret = services.clients.add(
        "web-backend",
        public=False,
        grants=frozenset({"password", "refresh_token"}),
        scopes=frozenset({"profile"}),
        audiences=(),
        auth_method="client_secret_post",
    )
    login = await client.post(
        "/token",
        data={
            "username": "alice",
            "password": "alice-pw",
            "client_id": "web-backend",
            "client_secret": secret or "",
        },
    )
    token = login.json()["refresh_token"]
    bare = await _refresh(client, token, client_id="web-backend")
    assert (401, "invalid_client") == (bare.status_code, bare.json()["error"])
    authed = await _refresh(client, token, client_id="web-backend", client_secret=secret or "")
    assert 200 == authed.status_code
