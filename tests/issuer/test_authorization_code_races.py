"""Concurrent redemptions of one authorization code (RFC 6749 §4.1.2: "The client MUST NOT use
the authorization code more than once"): one wins, every other is 400 invalid_grant, none is a
5xx; and a use after the winner's still revokes what the winner issued. Real concurrency: tasks
on the ASGI app (each redemption runs in a worker thread) and threads on the store."""

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from issuer.errors import InvalidGrant
from issuer.services import IssuerServices
from issuer.sessions.authorization_codes import s256
from jwtkit.testing import FakeClock
from tests.support import issuer_client, issuer_settings

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

REDIRECT = "http://127.0.0.1:9000/callback"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B
CONCURRENT = 16


@pytest.fixture
async def issuer(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, IssuerServices]]:
    settings = issuer_settings(tmp_path / "data", demo_users=["alice:alice-pw"])
    async with issuer_client(settings, clock) as (client, services):
        services.clients.add(
            "web",
            public=True,
            grants=frozenset({"authorization_code", "refresh_token"}),
            scopes=frozenset({"profile"}),
            audiences=(),
            auth_method="none",
            redirect_uris=(REDIRECT,),
        )
        yield client, services


def issue_code(services: IssuerServices) -> str:
    """A code as /authorize would give it to alice (the sign-in page is tested elsewhere)."""
    found = services.users.find("alice")
    assert found is not None
    return services.authorization_codes.issue(
        client_id="web",
        redirect_uri=REDIRECT,
        code_challenge=s256(VERIFIER),
        user_id=found.user.id,
        scopes=frozenset({"profile"}),
        now=services.clock(),
    )


def exchange_form(code: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
        "client_id": "web",
    }


async def test_rfc6749_4_1_2_concurrent_redemptions_one_wins_the_rest_invalid_grant(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """CONCURRENT requests with the same code at once: one 200, every other 400 invalid_grant
    (never 503 or 500); then CONCURRENT replays at once after the winner's answer, all 400
    invalid_grant; for several codes in a row (the race differs from run to run)."""
    client, services = issuer
    for _attempt in range(4):
        code = issue_code(services)
        first = await redeem_over_http(client, code)
        replays = await redeem_over_http(client, code)
        assert {(200, None): 1, (400, "invalid_grant"): CONCURRENT - 1} == dict(first)
        assert {(400, "invalid_grant"): CONCURRENT} == dict(replays)


async def redeem_over_http(client: httpx.AsyncClient, code: str) -> Counter[tuple[int, Any]]:
    """CONCURRENT token requests with `code`, as tasks at once: (status, error) of each."""
    responses = await asyncio.gather(
        *(client.post("/token", data=exchange_form(code)) for _ in range(CONCURRENT))
    )
    return Counter((r.status_code, r.json().get("error")) for r in responses)


async def test_rfc6749_4_1_2_a_concurrent_replay_still_revokes_what_the_winner_issued(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """After the race, the winner's refresh token no longer works: some use of the code came
    second, and a second use revokes what the first issued, whatever the order they ran in."""
    client, services = issuer
    code = issue_code(services)
    responses = await asyncio.gather(
        *(client.post("/token", data=exchange_form(code)) for _ in range(CONCURRENT))
    )
    (winner,) = [r.json() for r in responses if r.status_code == 200]
    refreshed = await client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": winner["refresh_token"],
            "client_id": "web",
        },
    )
    assert (400, "invalid_grant") == (refreshed.status_code, refreshed.json()["error"])
    introspected = services.token_status.introspect(winner["access_token"], services.clock())
    assert {"active": False} == introspected


def redeem_at_once(services: IssuerServices, code: str, issued: list[str]) -> Counter[str]:
    """CONCURRENT threads released together redeem `code`; the winner issues a refresh token
    (kept in `issued`) and records it with the code, as the token endpoint does."""
    codes, clock = services.authorization_codes, services.clock
    start = threading.Barrier(CONCURRENT)

    def redeem(_index: int) -> str:
        start.wait(timeout=10)
        try:
            redeemed = codes.redeem(
                code, client_id="web", redirect_uri=REDIRECT, code_verifier=VERIFIER, now=clock()
            )
        except InvalidGrant:
            return "invalid_grant"
        token = services.refresh_tokens.issue(redeemed.user_id, "web", redeemed.scopes, clock())
        codes.record_issued(
            redeemed.code_hash,
            client_id="web",
            refresh_token=token,
            access_jti=uuid.uuid4().hex,
            access_expires_at=clock() + 900,
            now=clock(),
        )
        issued.append(token)
        return "redeemed"

    with ThreadPoolExecutor(CONCURRENT) as pool:
        return Counter(pool.map(redeem, range(CONCURRENT)))


def test_rfc6749_4_1_2_store_redeems_a_code_once_under_threads(
    tmp_path: Path, clock: FakeClock
) -> None:
    """AuthorizationCodes.redeem from CONCURRENT threads at once: one Redeemed, the others
    InvalidGrant (no store error escapes); then CONCURRENT replays at once, after the winner
    recorded what it issued, all InvalidGrant (they revoke it together: no uniqueness error);
    the winner's refresh token is revoked."""
    from issuer.wiring import build_services

    services = build_services(issuer_settings(tmp_path / "data"), clock)
    services.users.add("alice", "alice-pw", frozenset({"profile"}))
    try:
        for _attempt in range(4):
            code = issue_code(services)
            issued: list[str] = []
            first = redeem_at_once(services, code, issued)
            replays = redeem_at_once(services, code, issued)
            assert {"redeemed": 1, "invalid_grant": CONCURRENT - 1} == dict(first)
            assert {"invalid_grant": CONCURRENT} == dict(replays)
            with pytest.raises(InvalidGrant):
                services.refresh_tokens.rotate(issued[0], "web", None, clock())
    finally:
        services.limiter.shutdown()
        services.engine.dispose()
