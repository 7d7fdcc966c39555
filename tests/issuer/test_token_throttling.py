"""The token endpoint under password guessing and login floods: throttling answers 429 without
hashing, cannot be turned into a lock-out, and does not reveal which accounts exist; the
password-check queue answers 503 when full, while keys and health keep answering."""

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest

from issuer.app import create_app
from issuer.cli.main import main
from issuer.config import IssuerSettings
from issuer.services import IssuerServices
from jwtkit.testing import FakeClock
from tests.support import issuer_settings, running
from tests.waiting import until

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

Client = Callable[..., httpx.AsyncClient]


@contextlib.asynccontextmanager
async def issuer_at(
    settings: IssuerSettings, clock: FakeClock
) -> AsyncIterator[tuple[Client, IssuerServices]]:
    """The app, and clients that reach it from a chosen address (ASGI, no sockets)."""
    app = create_app(settings, clock)
    async with running(app), contextlib.AsyncExitStack() as stack:

        def client_from(address: str, **headers: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(address, 40000))
            client = httpx.AsyncClient(transport=transport, base_url=settings.url, headers=headers)
            stack.push_async_callback(client.aclose)
            return client

        yield client_from, app.state.services


def _count_checks(services: IssuerServices, checks: list[str], monkeypatch: Any) -> None:
    verify = services.users.verify

    def counting(found: Any, password: str) -> Any:
        checks.append(found.user.username if found else "?")
        return verify(found, password)

    monkeypatch.setattr(services.users, "verify", counting)


def _login(username: str, password: str) -> dict[str, str]:
    return {"username": username, "password": password}


async def test_throttled_request_is_429_without_hashing(
    settings: IssuerSettings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After 10 wrong passwords from one address, the 11th request is 429 with Retry-After and
    an RFC 6749 body, and no password check runs for it."""
    checks: list[str] = []
    async with issuer_at(settings, clock) as (client_from, services):
        services.users.add("alice", "correct horse", frozenset({"profile"}))
        _count_checks(services, checks, monkeypatch)
        attacker = client_from("127.0.0.2")
        for _ in range(10):
            wrong = await attacker.post("/token", data=_login("alice", "guess"))
            assert "invalid_grant" == wrong.json()["error"]
        throttled = await attacker.post("/token", data=_login("alice", "correct horse"))
    assert 429 == throttled.status_code
    assert "temporarily_unavailable" == throttled.json()["error"]
    assert 900 == int(throttled.headers["retry-after"])
    assert "no-store" == throttled.headers["cache-control"]
    assert 10 == len(checks)


async def test_attacker_cannot_lock_the_user_out(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    """While one address is throttled on an account, the right password from an address with
    no recent failures still gets a token."""
    async with issuer_at(settings, clock) as (client_from, services):
        services.users.add("alice", "correct horse", frozenset({"profile"}))
        attacker, user = client_from("127.0.0.2"), client_from("127.0.0.3")
        for _ in range(11):
            await attacker.post("/token", data=_login("alice", "guess"))
        assert 429 == (await attacker.post("/token", data=_login("alice", "x"))).status_code
        response = await user.post("/token", data=_login("alice", "correct horse"))
    assert 200 == response.status_code


async def test_unknown_usernames_throttle_like_known_ones(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    """The same sequence against an existing and a missing account gives identical answers
    (status, body, Retry-After): throttling does not reveal who exists."""
    async with issuer_at(settings, clock) as (client_from, services):
        services.users.add("alice", "correct horse", frozenset({"profile"}))
        seen = []
        for name, address in (("alice", "127.0.0.2"), ("mallory", "127.0.0.4")):
            client = client_from(address)
            answers = [await client.post("/token", data=_login(name, "g")) for _ in range(12)]
            seen.append([(a.status_code, a.content, a.headers.get("retry-after")) for a in answers])
    assert seen[0] == seen[1]
    assert [400] * 10 + [429, 429] == [status for status, _, _ in seen[0]]


async def test_users_unlock_ends_a_throttle(
    settings: IssuerSettings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m issuer users unlock NAME` clears the counters: the next check runs."""
    async with issuer_at(settings, clock) as (client_from, services):
        services.users.add("alice", "correct horse", frozenset({"profile"}))
        attacker = client_from("127.0.0.2")
        for _ in range(10):
            await attacker.post("/token", data=_login("alice", "guess"))
        assert 429 == (await attacker.post("/token", data=_login("alice", "g"))).status_code
        monkeypatch.setenv("ISSUER_DATA_DIR", str(settings.data_dir))
        assert 0 == await anyio.to_thread.run_sync(main, ["users", "unlock", "alice"])
        ok = await attacker.post("/token", data=_login("alice", "correct horse"))
    assert 200 == ok.status_code


async def test_forwarded_for_counts_only_through_trusted_proxies(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Behind a proxy listed in ISSUER_TRUSTED_PROXIES, each forwarded client has its own
    counter; a client that is not a trusted proxy cannot pick its address with the header."""
    settings = issuer_settings(tmp_path / "data", trusted_proxies=["127.0.0.1"])
    async with issuer_at(settings, clock) as (client_from, services):
        services.users.add("alice", "correct horse", frozenset({"profile"}))
        through_proxy = client_from("127.0.0.1", **{"X-Forwarded-For": "192.0.2.10"})
        for _ in range(10):
            await through_proxy.post("/token", data=_login("alice", "guess"))
        assert 429 == (await through_proxy.post("/token", data=_login("alice", "g"))).status_code
        other = client_from("127.0.0.1", **{"X-Forwarded-For": "192.0.2.11"})
        assert (
            200 == (await other.post("/token", data=_login("alice", "correct horse"))).status_code
        )

        spoofer = client_from("127.0.0.5")
        for n in range(10):
            spoofed = {"X-Forwarded-For": f"192.0.2.{100 + n}"}
            await spoofer.post("/token", data=_login("alice", "guess"), headers=spoofed)
        fresh = {"X-Forwarded-For": "192.0.2.200"}
        refused = await spoofer.post("/token", data=_login("alice", "g"), headers=fresh)
    assert 429 == refused.status_code


async def test_password_spraying_is_throttled_per_address_and_per_network(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spraying (OWASP Authentication Cheat Sheet): one address guessing at 50 accounts gets
    30 password checks (ISSUER_THROTTLE_ADDRESS_LIMIT), then 429 with Retry-After and no
    hashing; an address in another /24 still signs in; a neighbour in the same /24 is refused
    once the network's limit (here 40) is reached, well before its own."""
    settings = issuer_settings(tmp_path / "data", throttle_network_limit=40)
    checks: list[str] = []
    async with issuer_at(settings, clock) as (client_from, services):
        services.users.add("alice", "correct horse", frozenset({"profile"}))
        _count_checks(services, checks, monkeypatch)
        sprayer = client_from("127.0.0.2")
        sprayed = [
            await sprayer.post("/token", data=_login(f"user{n}", "Summer2026!")) for n in range(50)
        ]
        assert [400] * 30 + [429] * 20 == [answer.status_code for answer in sprayed]
        assert {"900"} == {answer.headers["retry-after"] for answer in sprayed[30:]}
        assert 30 == len(checks)

        elsewhere = client_from("127.0.1.2")
        assert (
            200
            == (await elsewhere.post("/token", data=_login("alice", "correct horse"))).status_code
        )

        neighbour = client_from("127.0.0.3")
        answers = [
            (await neighbour.post("/token", data=_login(f"user{n}", "Winter2026!"))).status_code
            for n in range(15)
        ]
    assert [400] * 10 + [429] * 5 == answers
    assert 30 + 1 + 10 == len(checks)


async def test_guesses_queue_behind_a_login_from_an_address_without_failures(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a wrong password from an address, its next check waits behind a login from an
    address without failures, even one that arrived later (fair queueing, issue 19)."""
    settings = issuer_settings(tmp_path / "data", hash_concurrency=1, hash_queue_timeout=60)
    async with issuer_at(settings, clock) as (client_from, services):
        services.users.add("alice", "correct horse", frozenset({"profile"}))
        guesser = client_from("127.0.0.2")
        assert 400 == (await guesser.post("/token", data=_login("alice", "first"))).status_code
        permits, checked = threading.Semaphore(0), []
        verify = services.users.verify

        def gated(found: Any, password: str) -> Any:
            checked.append(password)
            permits.acquire(timeout=30)
            return verify(found, password)

        monkeypatch.setattr(services.users, "verify", gated)
        limiter = services.limiter
        holder = asyncio.create_task(
            client_from("127.0.5.5").post("/token", data=_login("alice", "holder"))
        )
        try:
            await until(lambda: limiter.in_flight == 1, holder)
            guess = asyncio.create_task(guesser.post("/token", data=_login("alice", "second")))
            await until(lambda: limiter.in_flight == 2, holder, guess)
            user = asyncio.create_task(
                client_from("127.0.1.3").post("/token", data=_login("alice", "correct horse"))
            )
            await until(lambda: limiter.in_flight == 3, holder, guess, user)
        finally:
            for _ in range(3):
                permits.release()
        answers = [(await task).status_code for task in (holder, guess, user)]
    assert [400, 400, 200] == answers
    assert ["holder", "correct horse", "second"] == checked


async def test_full_check_queue_is_503_while_keys_and_health_answer(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every password-check thread busy and the queue full, a login is refused at once
    with 503 temporarily_unavailable and Retry-After (never a hang), while JWKS, discovery,
    /readyz and a key refresh all complete.

    One thread and a 1 ms queue timeout: the second login would wait one whole check (the
    measured argon2 time, longer still on a loaded machine), so it is refused; the first
    waits for nothing, starts at once and no timeout can drop it (HashLimiter.run), however
    slow the machine. The wait for it to be inside its check also watches it, and is bounded.
    """
    settings = issuer_settings(tmp_path / "data", hash_concurrency=1, hash_queue_timeout=0.001)
    async with issuer_at(settings, clock) as (client_from, services):
        services.users.add("alice", "correct horse", frozenset({"profile"}))
        inside, release = threading.Event(), threading.Event()
        verify = services.users.verify

        def held(found: Any, password: str) -> Any:
            inside.set()
            release.wait(timeout=30)
            return verify(found, password)

        monkeypatch.setattr(services.users, "verify", held)
        first = asyncio.create_task(
            client_from("127.0.0.2").post("/token", data=_login("alice", "correct horse"))
        )
        try:
            await until(inside.is_set, first)
            client = client_from("127.0.0.3")
            busy = await client.post("/token", data=_login("alice", "correct horse"))
            assert (503, "temporarily_unavailable") == (busy.status_code, busy.json()["error"])
            assert int(busy.headers["retry-after"]) >= 1
            for path in ("/.well-known/jwks.json", "/.well-known/openid-configuration", "/readyz"):
                assert 200 == (await client.get(path)).status_code
            await anyio.to_thread.run_sync(services.keyring.refresh)
            assert not first.done()
        finally:
            release.set()
        assert 200 == (await first).status_code
        # The refused login was not counted as a failure.
        assert (
            200 == (await client.post("/token", data=_login("alice", "correct horse"))).status_code
        )
