"""A credential change ends the browser's sign-in (RFC 9700 §4.14.2 asks the same of refresh
tokens): after `users passwd`, `users remove` or `sessions revoke --user`, the old sign-in
cookie gets the login page at /authorize, never a code, on both stores; `sessions list` shows
sign-in sessions beside refresh families, and `sessions revoke --sign-in ID` ends one."""

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from issuer.cli.main import main
from issuer.services import IssuerServices
from issuer.sessions.refresh_tokens import token_hash
from jwtkit.testing import FakeClock
from tests.issuer.sign_in import (
    code_flow_issuer,
    exchange,
    is_login_page,
    params,
    returned,
    sign_in,
)
from tests.support import CHEAP_ARGON2

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]


@pytest.fixture
async def issuer(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, IssuerServices]]:
    """The issuer app, and the CLI's environment pointing at the same store."""
    async with code_flow_issuer(tmp_path, clock) as running:
        monkeypatch.setenv("ISSUER_DATA_DIR", str(running[1].settings.data_dir))
        monkeypatch.setenv("ISSUER_SCOPES", "profile admin")
        for name, value in CHEAP_ARGON2.items():
            monkeypatch.setenv(f"ISSUER_{name.upper()}", str(value))
        yield running


async def cli(*argv: str, stdin: str = "") -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        return await anyio.to_thread.run_sync(main, list(argv))


async def signed_in(client: httpx.AsyncClient) -> str:
    """Signs alice in on the login page; the code it gets, and a second app's code from the
    sign-in cookie alone."""
    first = returned(await sign_in(client, params()))["code"]
    again = returned(await client.get("/authorize", params=params(state="second")))
    assert "code" in again
    return first


@pytest.mark.parametrize(
    "command",
    [
        ["users", "passwd", "alice", "--password-stdin"],
        ["users", "remove", "alice"],
        ["sessions", "revoke", "--user", "alice"],
    ],
    ids=["passwd", "remove", "revoke-user"],
)
async def test_rfc9700_4_14_2_a_credential_change_ends_the_sign_in_session(
    issuer: tuple[httpx.AsyncClient, IssuerServices], command: list[str]
) -> None:
    """The old cookie at /authorize gets the login page after the command, never a code; the
    refresh family the sign-in's code started is revoked too."""
    client, _services = issuer
    code = await signed_in(client)
    refresh_token = (await exchange(client, code)).json()["refresh_token"]
    assert 0 == await cli(*command, stdin="new-password\n")
    after = await client.get("/authorize", params=params(state="after"))
    assert is_login_page(after) and "location" not in after.headers
    refreshed = await client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "web"},
    )
    assert (400, "invalid_grant") == (refreshed.status_code, refreshed.json()["error"])


async def test_a_sign_in_whose_password_check_raced_a_password_change_is_dead(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """The generation is read with the user before the password check: a session started by a
    check that began under the old password does not sign in once the password changed."""
    _client, services = issuer
    found = services.users.find("alice")  # what the login reads before it hashes
    assert found is not None
    services.users.set_password("alice", "new-pw")  # meanwhile, `users passwd`
    cookie = services.sign_in_sessions.start(found.user, services.clock())
    assert cookie is None or services.sign_in_sessions.user(cookie, services.clock()) is None


async def test_a_code_issued_before_a_password_change_is_not_redeemed_after_it(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """A code not yet exchanged would start a refresh family after the change: it expires."""
    client, _services = issuer
    code = returned(await sign_in(client, params()))["code"]
    assert 0 == await cli("users", "passwd", "alice", "--password-stdin", stdin="new-password\n")
    refused = await exchange(client, code)
    assert (400, "invalid_grant") == (refused.status_code, refused.json()["error"])


async def test_the_new_password_signs_in_again(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = issuer
    await signed_in(client)
    assert 0 == await cli("users", "passwd", "alice", "--password-stdin", stdin="new-password\n")
    assert "code" in returned(await sign_in(client, params(), password="new-password"))
    assert "code" in returned(await client.get("/authorize", params=params()))


async def test_sessions_list_shows_sign_ins_beside_refresh_families(
    issuer: tuple[httpx.AsyncClient, IssuerServices], capsys: pytest.CaptureFixture[str]
) -> None:
    """Each row says its kind; a sign-in is shown by its session id, never its cookie's hash;
    family rows keep their fields."""
    client, _services = issuer
    code = await signed_in(client)
    assert 200 == (await exchange(client, code)).status_code
    cookie = client.cookies["issuer_session"]
    assert 0 == await cli("sessions", "list", "--user", "alice", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert ["refresh", "sign-in"] == sorted(row["kind"] for row in rows)
    family = next(row for row in rows if row["kind"] == "refresh")
    assert {"family", "user", "client", "started", "last_refresh", "expires"} <= set(family)
    sign_in_row = next(row for row in rows if row["kind"] == "sign-in")
    assert ("alice", 36) == (sign_in_row["user"], len(sign_in_row["sign_in"]))
    printed = json.dumps(rows)
    assert cookie not in printed and token_hash(cookie) not in printed
    assert 0 == await cli("sessions", "list")
    lines = capsys.readouterr().out.splitlines()
    assert [family["family"], sign_in_row["sign_in"]] == [line.split("\t")[0] for line in lines]
    assert ["refresh", "sign-in"] == [line.split("\t")[-1] for line in lines]


async def test_sessions_revoke_sign_in_ends_that_sign_in_only(
    issuer: tuple[httpx.AsyncClient, IssuerServices], capsys: pytest.CaptureFixture[str]
) -> None:
    client, _services = issuer
    code = await signed_in(client)
    refresh_token = (await exchange(client, code)).json()["refresh_token"]
    assert 0 == await cli("sessions", "list", "--json")
    rows = json.loads(capsys.readouterr().out)
    session_id = next(row["sign_in"] for row in rows if row["kind"] == "sign-in")
    assert 0 == await cli("sessions", "revoke", "--sign-in", session_id)
    assert "1 sign-in session ended" in capsys.readouterr().out
    assert is_login_page(await client.get("/authorize", params=params()))
    refreshed = await client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": "web"},
    )
    assert 200 == refreshed.status_code  # the app's refresh family is another session
    assert 1 == await cli("sessions", "revoke", "--sign-in", session_id)  # gone already
    assert "no sign-in session" in capsys.readouterr().err
