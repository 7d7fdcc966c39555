"""The resource API's /ws/echo behind the same Security dependency as HTTP routes: the token
from the Authorization header or a `bearer.<token>` subprotocol; refusals close with 1008
before the handshake is accepted; the connection closes with 1008 when the token expires
(time from the injected clock, waits through an injected sleep)."""

import threading
from collections.abc import Iterator
from typing import Any

import anyio.to_thread
import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from jwtkit.testing import FakeClock, FakeIssuer
from resource_api.app import create_app
from resource_api.config import ResourceApiSettings

ISSUER = "https://issuer.test"


class Alarm:
    """The server's sleep: returns only when the test rings, whatever it was asked for."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self._rung = threading.Event()
        self._asking = threading.Condition()

    async def sleep(self, seconds: float) -> None:
        with self._asking:
            self.asked.append(seconds)
            self._asking.notify_all()
        await anyio.to_thread.run_sync(self._rung.wait)
        self._rung.clear()

    def ring(self) -> None:
        self._rung.set()

    def wait_until_asked(self, times: int) -> None:
        """Until the server has gone to sleep `times` times (at most 10 s): a ring before its
        next sleep would be taken for the previous one, and a clock moved before it woke would
        be read by the wrong check."""
        with self._asking:
            assert self._asking.wait_for(lambda: len(self.asked) >= times, timeout=10), self.asked


@pytest.fixture
def issuer(clock: FakeClock) -> FakeIssuer:
    return FakeIssuer(ISSUER, audience="resource-api", clock=clock)


@pytest.fixture
def alarm() -> Alarm:
    return Alarm()


def make_client(
    issuer: FakeIssuer, clock: FakeClock, alarm: Alarm, transport: httpx.MockTransport | None
) -> TestClient:
    settings = ResourceApiSettings(issuer_url=ISSUER, leeway=0)
    app = create_app(
        settings, clock=clock, transport=transport or issuer.transport(), sleep=alarm.sleep
    )
    return TestClient(app)


@pytest.fixture
def client(issuer: FakeIssuer, clock: FakeClock, alarm: Alarm) -> Iterator[TestClient]:
    with make_client(issuer, clock, alarm, None) as test_client:
        yield test_client


def test_token_in_authorization_header_is_accepted(client: TestClient, issuer: FakeIssuer) -> None:
    headers = {"Authorization": f"Bearer {issuer.token()}"}
    with client.websocket_connect("/ws/echo", headers=headers) as ws:
        ws.send_text("ping")
        assert "ping" == ws.receive_text()


def test_token_as_subprotocol_is_accepted_and_only_the_real_protocol_is_echoed(
    client: TestClient, issuer: FakeIssuer
) -> None:
    """Browsers cannot set headers: the token rides in Sec-WebSocket-Protocol, and the
    handshake answer names the real subprotocol, never the token."""
    token = issuer.token()
    with client.websocket_connect("/ws/echo", subprotocols=["chat", f"bearer.{token}"]) as ws:
        assert "chat" == ws.accepted_subprotocol
        ws.send_text("ping")
        assert "ping" == ws.receive_text()
    with client.websocket_connect("/ws/echo", subprotocols=[f"bearer.{token}"]) as ws:
        assert ws.accepted_subprotocol is None


@pytest.mark.parametrize(
    "bad",
    ["none", "expired", "audience", "foreign", "typ", "query", "two_protocols", "both_places"],
)
def test_refused_token_closes_with_1008_before_accepting(
    client: TestClient, issuer: FakeIssuer, bad: str
) -> None:
    token = issuer.token()
    cases: dict[str, dict[str, Any]] = {
        "none": {},
        "expired": {"subprotocols": [f"bearer.{issuer.token(expired=True)}"]},
        "audience": {"subprotocols": [f"bearer.{issuer.token(audience='other')}"]},
        "foreign": {"headers": {"Authorization": f"Bearer {issuer.token(foreign_key=True)}"}},
        "typ": {"subprotocols": [f"bearer.{issuer.token(typ='JWT')}"]},
        # Never from the query string, even on a WebSocket (it ends up in access logs).
        "query": {"url_suffix": f"?access_token={token}"},
        "two_protocols": {"subprotocols": [f"bearer.{token}", f"bearer.{token}"]},
        "both_places": {
            "headers": {"Authorization": f"Bearer {token}"},
            "subprotocols": [f"bearer.{token}"],
        },
    }
    connect = cases[bad]
    suffix = str(connect.pop("url_suffix", ""))
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws/echo" + suffix, **connect),
    ):
        pass
    assert 1008 == closed.value.code


def test_keys_unavailable_closes_with_1013(
    issuer: FakeIssuer, clock: FakeClock, alarm: Alarm
) -> None:
    """The issuer is down at start: a server-side condition, try again later (HTTP's 503)."""

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with make_client(issuer, clock, alarm, httpx.MockTransport(down)) as client:
        headers = {"Authorization": f"Bearer {issuer.token()}"}
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect("/ws/echo", headers=headers),
        ):
            pass
        assert 1013 == closed.value.code


def test_connection_closes_with_1008_when_the_token_expires(
    client: TestClient, issuer: FakeIssuer, clock: FakeClock, alarm: Alarm
) -> None:
    token = issuer.token(expires_in=600)
    with client.websocket_connect("/ws/echo", subprotocols=["chat", f"bearer.{token}"]) as ws:
        ws.send_text("before")
        assert "before" == ws.receive_text()
        alarm.wait_until_asked(1)
        assert [600] == alarm.asked  # the server waits for exactly the token's lifetime
        clock.advance(300)
        alarm.ring()  # woken early: still valid, it waits for the rest
        ws.send_text("halfway")
        assert "halfway" == ws.receive_text()
        alarm.wait_until_asked(2)
        clock.advance(300)
        alarm.ring()
        message = ws.receive()
        assert ("websocket.close", 1008) == (message["type"], message["code"])
        assert "expired" in message["reason"]
    assert [600, 300] == alarm.asked
