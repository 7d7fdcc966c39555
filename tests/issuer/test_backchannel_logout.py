"""OpenID Connect Back-Channel Logout 1.0, on both stores: when a sign-in session ends (at
/logout, by `sessions revoke` or a credential change), each client that signed in through it
and registered a backchannel_logout_uri is POSTed a signed logout token (§2.4, §2.5) by the
delivery job, with bounded retries; the session's refresh tokens are revoked (§2.7). The
job's rounds are driven directly (`tick()`), against a real HTTP receiver on loopback."""

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import jwt
import pytest

from issuer.app import background_jobs
from issuer.services import IssuerServices
from issuer.sessions import backchannel
from issuer.sessions.backchannel import LOGOUT_EVENT, backchannel_delivery
from issuer.sessions.backchannel_outbox import LEASE, MAX_ATTEMPTS, BackchannelOutbox
from issuer.sessions.sign_in_sessions import SignIn
from jwtkit.contract import LOGOUT_TOKEN_TYPE
from jwtkit.testing import FakeClock
from tests.issuer.logout_receiver import Receiver, receiver
from tests.issuer.sign_in import (
    REDIRECT,
    code_flow_issuer,
    exchange,
    params,
    returned,
    sign_in,
    sign_out,
)
from tests.issuer.test_sign_in_ends_with_credentials import cli
from tests.support import CHEAP_ARGON2

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

Issuer = tuple[httpx.AsyncClient, IssuerServices]


@pytest.fixture
async def issuer(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Issuer]:
    """The issuer with alice and `web`; its own delivery job never runs (the tests tick), and
    the CLI's environment points at its store."""
    monkeypatch.setattr(backchannel, "DELIVERY_INTERVAL", 86400.0)
    async with code_flow_issuer(tmp_path, clock) as running:
        monkeypatch.setenv("ISSUER_DATA_DIR", str(running[1].settings.data_dir))
        monkeypatch.setenv("ISSUER_SCOPES", "profile admin")
        for name, value in CHEAP_ARGON2.items():
            monkeypatch.setenv(f"ISSUER_{name.upper()}", str(value))
        yield running


def relying_party(services: IssuerServices, client_id: str, uri: str | None) -> None:
    services.clients.add(
        client_id,
        public=True,
        grants=frozenset({"authorization_code", "refresh_token"}),
        scopes=frozenset({"profile"}),
        audiences=(),
        auth_method="none",
        redirect_uris=(REDIRECT,),
        backchannel_logout_uri=uri,
    )


async def signed_in(client: httpx.AsyncClient, services: IssuerServices, *rps: str) -> SignIn:
    """alice signed in at the login page, and the session's clients `rps` (as an `openid`
    code would have recorded them)."""
    returned(await sign_in(client, params()))
    (session,) = services.sign_in_sessions.live(services.clock(), user_id(services, "alice"))
    for client_id in rps:
        services.session_clients.add(session.session_id, client_id)
    return session


def user_id(services: IssuerServices, username: str) -> str:
    found = services.users.find(username)
    assert found is not None
    return found.user.id


def tick(services: IssuerServices) -> int:
    return backchannel_delivery(services).tick()


def pending(services: IssuerServices) -> int:
    return BackchannelOutbox(services.engine).pending()


def verified(services: IssuerServices, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The logout token's header and claims, its signature checked over the issuer's JWKS."""
    header = jwt.get_unverified_header(token)
    keys = json.loads(services.keyring.jwks.body)["keys"]
    (jwk,) = [key for key in keys if key["kid"] == header["kid"]]
    signed = jwt.PyJWS().decode_complete(token, key=jwt.PyJWK(jwk).key, algorithms=[header["alg"]])
    return header, json.loads(signed["payload"])


async def test_logout_token_claims_bcl_2_4(issuer: Issuer) -> None:
    """§2.4: iss, aud (the client), iat, a short exp, a fresh jti, the logout event, sub and
    sid; never a nonce; typ logout+jwt; signed with the issuer's published key."""
    client, services = issuer
    with receiver() as rp:
        relying_party(services, "rp1", rp.url)
        first = await signed_in(client, services, "rp1")
        assert 200 == (await sign_out(client)).status_code
        second = await signed_in(client, services, "rp1")
        assert 200 == (await sign_out(client)).status_code
        assert 2 == tick(services)
    tokens = [verified(services, token) for token in rp.logout_tokens]
    header, claims = tokens[0]
    assert LOGOUT_TOKEN_TYPE == header["typ"]
    now = int(services.clock())
    assert {
        "iss": services.settings.url,
        "aud": "rp1",
        "iat": now,
        "exp": now + 120,
        "events": {LOGOUT_EVENT: {}},
        "sub": first.user_id,
        "sid": first.session_id,
    } == {name: value for name, value in claims.items() if name != "jti"}
    assert "nonce" not in claims and len(claims["jti"]) == 32
    assert second.session_id == tokens[1][1]["sid"]
    assert claims["jti"] != tokens[1][1]["jti"]
    assert 0 == pending(services)


async def test_form_post_bcl_2_5(issuer: Issuer, clock: FakeClock) -> None:
    """§2.5: a POST to the registered URI, form-encoded, `logout_token` its only parameter. A
    redirect is not followed: it is a failed attempt, to try again later."""
    client, services = issuer
    with receiver(307) as rp:
        rp.location = rp.url.replace("/backchannel", "/elsewhere")
        relying_party(services, "rp1", rp.url)
        await signed_in(client, services, "rp1")
        await sign_out(client)
        assert 1 == tick(services)
        (request,) = rp.received
        assert ("POST", "/backchannel") == (request.method, request.path)
        assert "application/x-www-form-urlencoded" == request.content_type
        assert ["logout_token"] == list(request.form)
        assert 1 == pending(services)
        clock.advance(backchannel.FIRST_RETRY)
        assert 1 == tick(services)
    assert ["/backchannel", "/backchannel"] == [request.path for request in rp.received]
    assert 0 == pending(services)


async def retried(services: IssuerServices, clock: FakeClock, rp: Receiver) -> list[int]:
    """Ticks through the backoff, a tick before each retry is due and one when it is; the
    number of requests the receiver had after each due tick."""
    seen = []
    assert 1 == tick(services)
    seen.append(len(rp.received))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        wait = backchannel.FIRST_RETRY * 2 ** (attempt - 1)
        clock.advance(wait - 1)
        assert 0 == tick(services)  # not due yet
        clock.advance(1)
        tick(services)
        seen.append(len(rp.received))
    return seen


async def test_retries_bounded(
    issuer: Issuer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Decision 13: a failure is tried again with exponential backoff; at most 5 attempts,
    then the delivery is dropped with one log line. 200 and 204 are delivered."""
    client, services = issuer
    with receiver(500, 502, 503, 204) as rp:
        relying_party(services, "rp1", rp.url)
        await signed_in(client, services, "rp1")
        await sign_out(client)
        assert [1, 2, 3, 4, 4, 4] == await retried(services, clock, rp)
        assert 0 == pending(services)
    with receiver(*[500] * 10) as rp, caplog.at_level(logging.WARNING, "issuer.backchannel"):
        relying_party(services, "rp2", rp.url)
        await signed_in(client, services, "rp2")
        await sign_out(client)
        assert [1, 2, 3, 4, 5, 5] == await retried(services, clock, rp)
        assert 0 == pending(services)
    dropped = [record for record in caplog.records if "dropped" in record.getMessage()]
    assert 1 == len(dropped)
    assert "rp2" == dropped[0].client_id  # type: ignore[attr-defined]


async def test_only_the_sessions_clients(issuer: Issuer) -> None:
    """Only the clients that signed in through the ending session, and only those with a
    backchannel_logout_uri; another user's session tells nobody."""
    client, services = issuer
    services.users.add("bob", "bob-pw", frozenset({"profile"}))
    with receiver() as rp1, receiver() as rp2:
        relying_party(services, "rp1", rp1.url)
        relying_party(services, "rp2", rp2.url)
        relying_party(services, "rp3", None)
        alice = await signed_in(client, services, "rp1", "rp3")
        transport = client._transport
        async with httpx.AsyncClient(transport=transport, base_url=str(client.base_url)) as other:
            returned(await sign_in(other, params(), password="bob-pw", user="bob"))
            (bobs,) = services.sign_in_sessions.live(services.clock(), user_id(services, "bob"))
            services.session_clients.add(bobs.session_id, "rp2")
            await sign_out(client)
            assert 1 == tick(services)
            assert [alice.session_id] == [
                verified(services, token)[1]["sid"] for token in rp1.logout_tokens
            ]
            assert [] == rp2.received
            assert [bobs] == services.sign_in_sessions.live(
                services.clock(), user_id(services, "bob")
            )


async def test_refresh_revoked_bcl_2_7(issuer: Issuer) -> None:
    """§2.7: refresh tokens issued to the ended session "SHOULD be revoked": its `openid`
    families. Another session's stay, and so does a plain OAuth family of the same sign-in
    (an app's own session, as before OpenID Connect)."""
    client, services = issuer
    session = await signed_in(client, services)
    now, sid = services.clock(), session.session_id
    tokens, openid = services.refresh_tokens, frozenset({"openid", "profile"})
    ours = tokens.issue(session.user_id, "web", openid, now, int(now), sid)
    other = tokens.issue(session.user_id, "web", openid, now, int(now), "another-sid")
    oauth = tokens.issue(session.user_id, "web", frozenset({"profile"}), now, int(now), sid)
    await sign_out(client)

    async def refresh(token: str) -> httpx.Response:
        data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": "web"}
        return await client.post("/token", data=data)

    refused = await refresh(ours)
    assert (400, "invalid_grant") == (refused.status_code, refused.json()["error"])
    assert 200 == (await refresh(other)).status_code
    assert 200 == (await refresh(oauth)).status_code


@pytest.mark.parametrize(
    "command",
    [
        ["sessions", "revoke", "--sign-in", "{sid}"],
        ["sessions", "revoke", "--user", "alice"],
        ["users", "passwd", "alice", "--password-stdin"],
        ["users", "remove", "alice"],
    ],
    ids=["revoke-sign-in", "revoke-user", "passwd", "remove"],
)
async def test_every_session_end_tells_the_clients(issuer: Issuer, command: list[str]) -> None:
    """The CLI's ways of ending a sign-in queue the same logout token as /logout does."""
    client, services = issuer
    with receiver() as rp:
        relying_party(services, "rp1", rp.url)
        session = await signed_in(client, services, "rp1")
        argv = [part.format(sid=session.session_id) for part in command]
        assert 0 == await cli(*argv, stdin="new-password\n")
        assert 1 == pending(services)
        assert 1 == tick(services)
    (token,) = rp.logout_tokens
    claims = verified(services, token)[1]
    assert (session.session_id, session.user_id) == (claims["sid"], claims["sub"])


async def test_two_claimers_never_take_the_same_row(issuer: Issuer) -> None:
    """Outbox rows are claimed by a conditional UPDATE: two processes' claimers racing over
    the same rows never both get one, and a claimed row comes due again only after LEASE."""
    _client, services = issuer
    outbox, now = BackchannelOutbox(services.engine), services.clock()
    for number in range(40):
        outbox.enqueue("rp1", "alice", f"sid-{number}", now)
    start = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]

    def claimer(index: int) -> None:
        start.wait(timeout=30)
        while batch := outbox.claim(now, 7):
            claimed[index].extend(delivery.id for delivery in batch)

    threads = [threading.Thread(target=claimer, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = claimed[0] + claimed[1]
    assert 40 == len(everything) == len(set(everything))
    assert [] == outbox.claim(now + LEASE - 1, 100)
    assert 40 == len(outbox.claim(now + LEASE, 100))


async def test_the_whole_openid_flow_ends_at_the_rp(issuer: Issuer) -> None:
    """An `openid` code flow, its ID token given back as the hint at /logout: signed out at
    once, to the registered target with state; the client that got the ID token is sent a
    logout token with the ID token's sub and sid, and its refresh token no longer works."""
    client, services = issuer
    with receiver() as rp:
        services.clients.add(
            "rp1",
            public=True,
            grants=frozenset({"authorization_code", "refresh_token"}),
            scopes=frozenset({"openid", "profile"}),
            audiences=(),
            auth_method="none",
            redirect_uris=(REDIRECT,),
            post_logout_redirect_uris=("https://rp.example/bye",),
            backchannel_logout_uri=rp.url,
        )
        query = params(client_id="rp1", scope="openid profile", nonce="n-1")
        code = returned(await sign_in(client, query))["code"]
        tokens = (await exchange(client, code, client_id="rp1")).json()
        id_token = jwt.decode(tokens["id_token"], options={"verify_signature": False})
        asked = {
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://rp.example/bye",
            "state": "st",
        }
        answer = await client.get("/logout", params=asked)
        assert (303, "https://rp.example/bye?state=st") == (
            answer.status_code,
            answer.headers["location"],
        )
        assert 1 == tick(services)
    (token,) = rp.logout_tokens
    claims = verified(services, token)[1]
    assert (id_token["sub"], id_token["sid"], "rp1") == (
        claims["sub"],
        claims["sid"],
        claims["aud"],
    )
    data = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    refused = await client.post("/token", data={**data, "client_id": "rp1"})
    assert (400, "invalid_grant") == (refused.status_code, refused.json()["error"])


async def test_the_issuers_job_list_sends_them(issuer: Issuer) -> None:
    """issuer/app.py's background jobs include the delivery: one round of every job (the
    injected sleep lets each task through once) sends the queued logout token."""
    client, services = issuer
    seen: set[asyncio.Task[Any] | None] = set()
    parked = asyncio.Event()  # never set: a job's second sleep lasts until it is cancelled

    async def sleep(_seconds: float) -> None:
        task = asyncio.current_task()
        if task in seen:
            await parked.wait()
        seen.add(task)

    with receiver() as rp:
        relying_party(services, "rp1", rp.url)
        await signed_in(client, services, "rp1")
        await sign_out(client)
        jobs = background_jobs(services, sleep)
        try:
            with anyio.fail_after(30):  # a thread's HTTP request to loopback, not time passing
                while not rp.received:
                    await anyio.sleep(0.05)
        finally:
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
    assert 1 == len(rp.logout_tokens) and 0 == pending(services)
