"""POST /token: RFC 6749 §4.3 password grant and §5.2 errors, through the ASGI app."""

import json
import logging
import re
from pathlib import Path
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from issuer.config import IssuerSettings
from jwtkit.testing import FakeClock
from tests.support import issuer_client
from tests.waiting import until

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
RFC6749_DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")
# Parameter names and words of our own descriptions may appear; request values may not.
KNOWN_WORDS = {"grant_type", "username", "password", "scope", "client_id", "request", "this"}


async def _post(
    client: httpx.AsyncClient, body: str, headers: dict[str, str] = FORM
) -> httpx.Response:
    return await client.post("/token", content=body, headers=headers)


@pytest.fixture
async def issuer(settings: IssuerSettings, clock: FakeClock):  # type: ignore[no-untyped-def]
    async with issuer_client(settings, clock) as (client, services):
        services.users.add("alice", "correct horse", frozenset({"profile", "admin"}))
        yield client


async def test_seed_curl_without_grant_type(issuer: httpx.AsyncClient) -> None:
    """The seed's curl (no grant_type) gets a bearer token, not cacheable (RFC 6749 §5.1)."""
    response = await _post(issuer, "username=alice&password=correct+horse")
    assert 200 == response.status_code
    body = response.json()
    assert {"access_token", "token_type", "expires_in", "scope", "refresh_token"} == set(body)
    assert ("Bearer", 900, "profile") == (body["token_type"], body["expires_in"], body["scope"])
    assert "no-store" == response.headers["cache-control"]


async def test_requested_scope_within_allowed(issuer: httpx.AsyncClient) -> None:
    """A user may ask for any of their allowed scopes."""
    response = await _post(
        issuer, "grant_type=password&username=alice&password=correct+horse&scope=admin+profile"
    )
    assert "admin profile" == response.json()["scope"]


async def test_scope_outside_allowed_is_invalid_scope(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    """RFC 6749 §5.2 invalid_scope: a scope the user may not have."""
    async with issuer_client(settings, clock) as (client, services):
        services.users.add("bob", "pw-bob-123", frozenset({"profile"}))
        response = await _post(client, "username=bob&password=pw-bob-123&scope=admin")
    assert (400, "invalid_scope") == (response.status_code, response.json()["error"])


async def test_unknown_scope_is_invalid_scope(issuer: httpx.AsyncClient) -> None:
    """A scope the issuer does not know is invalid_scope."""
    response = await _post(issuer, "username=alice&password=correct+horse&scope=launch")
    assert "invalid_scope" == response.json()["error"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("password=x", "invalid_request"),
        ("username=alice", "invalid_request"),
        ("username=alice&username=bob&password=x", "invalid_request"),
        ("username=alice&password=x&grant_type=implicit", "unsupported_grant_type"),
        ("username=alice&password=x&grant_type=client_credentials", "unauthorized_client"),
        ("username=%ff&password=x", "invalid_request"),
    ],
)
async def test_rfc6749_errors(issuer: httpx.AsyncClient, body: str, error: str) -> None:
    """Each malformed request gets its RFC 6749 §5.2 error code with status 400."""
    response = await _post(issuer, body)
    assert (400, error) == (response.status_code, response.json()["error"])
    assert "no-store" == response.headers["cache-control"]


async def test_wrong_content_type_is_invalid_request(issuer: httpx.AsyncClient) -> None:
    """JSON is not a token request (RFC 6749 §4.3.2 uses form encoding)."""
    response = await issuer.post("/token", json={"username": "alice", "password": "x"})
    assert (400, "invalid_request") == (response.status_code, response.json()["error"])


async def test_oversized_body_is_invalid_request(issuer: httpx.AsyncClient) -> None:
    """A body past the bound is refused before parsing."""
    response = await _post(issuer, "username=alice&password=" + "x" * 10_000)
    assert (400, "invalid_request") == (response.status_code, response.json()["error"])


@pytest.mark.parametrize("body", ["client_id=%00", "username=al%00ice&password=x", "%00=x"])
async def test_nul_character_in_a_form_is_invalid_request_not_503(
    issuer: httpx.AsyncClient, body: str
) -> None:
    """A NUL (which PostgreSQL's text type cannot hold) is refused as invalid_request before any
    lookup; on PostgreSQL it used to fail the client lookup and answer 503 (found by the
    property test below)."""
    response = await _post(issuer, body)
    assert (400, "invalid_request") == (response.status_code, response.json()["error"])


async def test_unknown_user_and_wrong_password_look_the_same(issuer: httpx.AsyncClient) -> None:
    """invalid_grant with an identical body, so the answer does not reveal who exists."""
    wrong_password = await _post(issuer, "username=alice&password=nope")
    unknown_user = await _post(issuer, "username=mallory&password=nope")
    assert 400 == wrong_password.status_code == unknown_user.status_code
    assert "invalid_grant" == wrong_password.json()["error"]
    assert wrong_password.content == unknown_user.content


async def test_access_token_follows_rfc9068(
    issuer: httpx.AsyncClient, settings: IssuerSettings, clock: FakeClock
) -> None:
    """Header alg RS256, typ at+jwt, kid; claims iss sub aud exp iat jti client_id scope."""
    response = await _post(issuer, "username=alice&password=correct+horse")
    token = response.json()["access_token"]
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    jwks = (await issuer.get("/.well-known/jwks.json")).json()
    assert ("RS256", "at+jwt") == (header["alg"], header["typ"])
    assert [header["kid"]] == [key["kid"] for key in jwks["keys"]]
    assert settings.url == claims["iss"]
    assert "resource-api" == claims["aud"]
    assert (int(clock.now), int(clock.now) + 900) == (claims["iat"], claims["exp"])
    assert ("default", "alice", "profile") == (
        claims["client_id"],
        claims["preferred_username"],
        claims["scope"],
    )
    assert claims["sub"] != "alice" and claims["jti"]


async def test_token_request_log_line(
    issuer: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """One structured line per request, with outcome and user; never the password or token."""
    caplog.set_level(logging.INFO, logger="issuer.token")
    response = await _post(issuer, "username=alice&password=correct+horse")
    await _post(issuer, "username=alice&password=wrong-one")
    records = [r for r in caplog.records if r.name == "issuer.token"]
    assert ["issued", "invalid_grant"] == [r.outcome for r in records]  # type: ignore[attr-defined]
    logged = json.dumps([vars(r) for r in records], default=str)
    assert "correct horse" not in logged and "wrong-one" not in logged
    assert response.json()["access_token"] not in logged
    assert all({"user", "client", "remote", "duration_ms"} <= set(vars(r)) for r in records)


async def test_slow_login_does_not_stall_other_requests(
    settings: IssuerSettings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Password checking runs in a worker thread: while one login is held inside it, the
    event loop still answers other requests."""
    import asyncio
    import threading

    async with issuer_client(settings, clock) as (client, services):
        services.users.add("alice", "correct horse", frozenset({"profile"}))
        inside, release = threading.Event(), threading.Event()
        verify = services.users.verify

        def held(found: object, password: str) -> object:
            inside.set()
            release.wait(timeout=30)
            return verify(found, password)  # type: ignore[arg-type]

        monkeypatch.setattr(services.users, "verify", held)
        login = asyncio.create_task(_post(client, "username=alice&password=correct+horse"))
        try:
            await until(inside.is_set, login)
            assert 200 == (await client.get("/.well-known/jwks.json")).status_code
            assert not login.done()
        finally:
            release.set()
        assert 200 == (await login).status_code


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=300)
    | st.lists(
        st.tuples(
            st.sampled_from(["grant_type", "username", "password", "scope", "client_id", "x"]),
            st.text(max_size=30),
        ),
        max_size=6,
    ).map(lambda pairs: urlencode(pairs).encode())
)
async def test_arbitrary_token_requests_get_rfc6749_errors(
    issuer: httpx.AsyncClient, body: bytes
) -> None:
    """Whatever the form holds, the answer is a JSON RFC 6749 error (or a token), never a 500."""
    response = await issuer.post("/token", content=body, headers=FORM)
    assert response.status_code in (200, 400, 401)
    if response.status_code in (400, 401):
        # RFC 6749 §5.2's character set, and none of the request's own words.
        description = response.json()["error_description"]
        assert RFC6749_DESCRIPTION.fullmatch(description)
        assert not any(
            len(word) > 3 and word in description
            for word in body.decode("latin-1").replace("&", "=").split("=")
            if word not in KNOWN_WORDS
        )
        assert response.json()["error"] in {
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unsupported_grant_type",
            "invalid_scope",
            "unauthorized_client",
        }


async def test_database_failure_is_503_not_500(
    settings: IssuerSettings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user store that fails answers temporarily_unavailable with Retry-After."""
    from sqlalchemy.exc import OperationalError

    async with issuer_client(settings, clock) as (client, services):

        def broken(username: str) -> None:
            raise OperationalError("SELECT", {}, Exception("disk I/O error"))

        monkeypatch.setattr(services.users, "find", broken)
        response = await _post(client, "username=alice&password=x")
    assert (503, "temporarily_unavailable") == (response.status_code, response.json()["error"])
    assert "retry-after" in response.headers


@pytest.mark.parametrize(
    "body",
    [
        "username=alice&password=x&a%27b%3Cscript%3E=1&a%27b%3Cscript%3E=2",
        "username=alice&password=x&scope=profile+%3Cscript%3Ealert",
        "username=alice&password=x&scope=laun%22ch",
    ],
)
async def test_error_description_never_echoes_input(issuer: httpx.AsyncClient, body: str) -> None:
    """RFC 6749 §5.2: error_description is from a fixed set of sentences in its character set;
    a repeated or unknown parameter's name, or a scope, is never echoed. Regression: a
    repeated parameter named a'b was quoted back."""
    response = await _post(issuer, body)
    description = response.json()["error_description"]
    assert 400 == response.status_code
    assert RFC6749_DESCRIPTION.fullmatch(description)
    assert not any(marker in description for marker in ("a'b", "script", "laun", "<"))


async def test_no_scope_requested_grants_only_default_scopes(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    """With no scope requested, a user whose scopes miss ISSUER_DEFAULT_SCOPES gets
    invalid_scope, not all of their scopes. Regression: such a user was granted everything."""
    async with issuer_client(settings, clock) as (client, services):
        services.users.add("root", "pw-root-123", frozenset({"admin"}))
        response = await _post(client, "username=root&password=pw-root-123")
    assert (400, "invalid_scope") == (response.status_code, response.json()["error"])


async def test_granted_scope_is_always_an_issuer_scope(tmp_path: Path, clock: FakeClock) -> None:
    """A scope the user holds but ISSUER_SCOPES no longer lists is never granted, requested
    or not."""
    from tests.support import issuer_settings

    first = issuer_settings(tmp_path / "data", scopes=["profile", "legacy"])
    async with issuer_client(first, clock) as (_client, services):
        services.users.add("carol", "pw-carol-123", frozenset({"profile", "legacy"}))
    later = issuer_settings(tmp_path / "data", scopes=["profile"])
    async with issuer_client(later, clock) as (client, _services):
        default = await _post(client, "username=carol&password=pw-carol-123")
        asked = await _post(client, "username=carol&password=pw-carol-123&scope=legacy")
    assert "profile" == default.json()["scope"]
    assert "invalid_scope" == asked.json()["error"]


async def test_request_log_records_the_real_outcome(
    settings: IssuerSettings,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failure that is not an OAuth error is logged as an error with its traceback and the
    outcome server_error, never as issued; a throttled request logs its status 429."""
    caplog.set_level(logging.INFO, logger="issuer.token")
    async with issuer_client(settings, clock) as (_client, services):
        services.users.add("alice", "correct horse", frozenset({"profile"}))
        app_transport = httpx.ASGITransport(
            app=_client._transport.app,  # type: ignore[attr-defined]
            raise_app_exceptions=False,
        )
        async with httpx.AsyncClient(transport=app_transport, base_url=settings.url) as client:

            def broken(now: float) -> None:
                raise RuntimeError("a bug")

            monkeypatch.setattr(services.keyring, "signer", broken)
            failed = await _post(client, "username=alice&password=correct+horse")
            monkeypatch.undo()
            for _ in range(11):
                await _post(client, "username=alice&password=wrong")
    lines = [r for r in caplog.records if r.msg == "token request"]
    assert 500 == failed.status_code
    assert ("server_error", logging.ERROR) == (lines[0].outcome, lines[0].levelno)  # type: ignore[attr-defined]
    assert any(r.exc_info for r in caplog.records if r.msg == "token request failed")
    assert (429, "temporarily_unavailable") == (lines[-1].status, lines[-1].outcome)  # type: ignore[attr-defined]
