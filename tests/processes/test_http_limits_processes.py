"""HTTP limits on both services as `serve` runs them (service_runtime/http_protocol.py): real
processes on free loopback ports, spoken to over raw sockets so that a request can stop anywhere.

The deadlines are set short here (HTTP_HEADER_TIMEOUT and HTTP_BODY_TIMEOUT of 1 s) so that
each test is quick; a test waits on its socket for at most WAIT seconds, which is what ends
it on a server that never closes the connection (the code before these limits)."""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.support import free_port, issuer_process_env, serve, wait_until_ready

pytestmark = pytest.mark.slow

SERVICES = ("issuer", "resource_api")
PREFIX = {"issuer": "ISSUER_", "resource_api": "RESOURCE_API_"}
SHORT_DEADLINES = {"HTTP_HEADER_TIMEOUT": "1", "HTTP_BODY_TIMEOUT": "1"}
WAIT = 10.0  # far past the 1 s deadlines, even on a loaded machine


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=WAIT)


@contextlib.contextmanager
def running(
    name: str, scratch: Path, settings: Mapping[str, str], *, workers: int = 1
) -> Iterator[Service]:
    """`python -m NAME serve` with `settings` (names without the service's prefix)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    if name == "issuer":
        env = issuer_process_env(base, scratch / "data")
    else:  # no issuer needed: these requests never reach token verification
        env = {"RESOURCE_API_ISSUER_URL": f"http://127.0.0.1:{free_port()}"}
    env |= {PREFIX[name] + setting: value for setting, value in settings.items()}
    scratch.mkdir(parents=True, exist_ok=True)
    log = scratch / f"{name}.log"
    with serve(name, port, env, log, workers=workers):
        wait_until_ready(f"{base}/healthz")
        yield Service(name, port, log)


@pytest.fixture(scope="module", params=SERVICES)
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """Each service once for the module, with 1 s header and body deadlines."""
    with running(request.param, tmp_path_factory.mktemp(request.param), SHORT_DEADLINES) as up:
        yield up


def read_until_closed(sock: socket.socket, within: float = WAIT) -> bytes:
    """Everything the server sends until it closes the connection; fails if it is still open
    after `within` seconds."""
    received = b""
    deadline = time.monotonic() + within
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        except TimeoutError:
            raise AssertionError(f"still open after {within} s: {received[:80]!r}") from None
        if not chunk:
            return received
        received += chunk


def head_with(padding: int) -> bytes:
    return b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Padding: " + b"a" * padding + b"\r\n\r\n"


@pytest.mark.timeout(60)
def test_rfc6585_5_headers_over_16_kib_are_431_or_closed(service: Service) -> None:
    """Request line plus headers of 17 KiB: 431 (RFC 6585 §5) or the connection closed; 15 KiB
    is still served."""
    with service.connect() as sock:
        sock.sendall(head_with(17 * 1024))
        answer = read_until_closed(sock)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:80]
    with service.connect() as sock:
        sock.sendall(head_with(15 * 1024))
        assert sock.recv(64).startswith(b"HTTP/1.1 200 ")


@pytest.mark.timeout(60)
def test_rfc6585_5_an_8_mib_header_is_refused_while_health_answers(service: Service) -> None:
    """One 8 MiB header, sent in 64 KiB pieces: the server ends the connection before it has
    all arrived, and /healthz answers while it is being sent."""
    outcome: list[str] = []

    def send_huge() -> None:
        with service.connect() as sock:
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Huge: ")
                for _ in range(128):
                    sock.sendall(b"a" * 65536)
                sock.sendall(b"\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                outcome.append("closed while sending")
                return
            answer = read_until_closed(sock)
            outcome.append(answer[:12].decode() or "closed")

    sender = threading.Thread(target=send_huge)
    sender.start()
    try:
        health = httpx.get(f"{service.base}/healthz", timeout=WAIT)
    finally:
        sender.join(timeout=2 * WAIT)
    assert 200 == health.status_code
    assert not sender.is_alive()
    assert outcome in (["closed while sending"], ["HTTP/1.1 431"], ["closed"]), outcome


@pytest.mark.timeout(60)
def test_rfc9110_15_5_9_headers_unfinished_within_the_header_timeout_are_ended(
    service: Service,
) -> None:
    """A request whose headers stop half-way (slowloris) is answered 408 and closed by the
    server once HTTP_HEADER_TIMEOUT has passed; so is a connection that sends nothing."""
    with service.connect() as partial, service.connect() as silent:
        partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        assert read_until_closed(partial).startswith(b"HTTP/1.1 408 ")
        assert b"" == read_until_closed(silent)


@pytest.mark.timeout(60)
def test_rfc9110_15_5_9_a_body_stuck_midway_is_ended_within_the_body_timeout(
    service: Service,
) -> None:
    """A POST announcing 4,000 bytes that sends 18 is closed once HTTP_BODY_TIMEOUT has passed,
    with a 408 unless the app had already answered (the resource API has no POST route); the
    request the app was reading ends as a client's failure, without a traceback."""
    with service.connect() as sock:
        sock.sendall(
            b"POST /token HTTP/1.1\r\nHost: t\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\n"
            b"grant_type=passwor"
        )
        # Under uvicorn's 5 s keep-alive, which closed the resource API's connection (answered
        # at once, 404) before these limits; the issuer's /token waited for its body forever.
        answer = read_until_closed(sock, within=4)
    expected = b"HTTP/1.1 408 " if service.name == "issuer" else b"HTTP/1.1 4"
    assert answer.startswith(expected), answer[:80]
    # The app saw the disconnect before this request: its log line is written by then.
    assert 200 == httpx.get(f"{service.base}/healthz", timeout=WAIT).status_code
    assert "Traceback" not in service.log.read_text()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", SERVICES)
def test_rfc9110_15_6_4_connections_past_the_cap_get_503_with_retry_after(
    name: str, tmp_path: Path
) -> None:
    """HTTP_MAX_CONNECTIONS=2: with two connections open (kept alive after a request), a
    third gets 503 with Retry-After (RFC 9110 §10.2.3); once they close, it is served."""
    with running(name, tmp_path, {"HTTP_MAX_CONNECTIONS": "2"}) as up:
        holders = [httpx.Client(base_url=up.base, timeout=WAIT) for _ in range(2)]
        try:
            for holder in holders:
                assert 200 == holder.get("/healthz").status_code
            with httpx.Client(base_url=up.base, timeout=WAIT) as third:
                refused = third.get("/healthz")
        finally:
            for holder in holders:
                holder.close()
        assert (503, "1") == (refused.status_code, refused.headers.get("retry-after"))
        assert 200 == _served_once_room(up)


def _served_once_room(up: Service) -> int:
    """/healthz's status once the server has seen the holders leave (bounded: WAIT)."""
    deadline = time.monotonic() + WAIT
    while True:
        status = httpx.get(f"{up.base}/healthz", timeout=WAIT).status_code
        if status == 200 or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


@pytest.mark.timeout(90)
def test_a_websocket_outlives_the_header_and_body_deadlines(tmp_path: Path) -> None:
    """The deadlines end HTTP requests, not a WebSocket once upgraded: /ws/echo on the
    resource API, with 1 s deadlines, still echoes after three times that."""
    with (
        running(
            "issuer", tmp_path / "issuer", {"DEMO_USERS": "alice:pw", "PASSWORD_GRANT": "true"}
        ) as issuer,
        running(
            "resource_api", tmp_path / "api", {"ISSUER_URL": issuer.base, **SHORT_DEADLINES}
        ) as api,
    ):
        token = httpx.post(
            f"{issuer.base}/token", data={"username": "alice", "password": "pw"}
        ).json()["access_token"]
        url = f"ws://127.0.0.1:{api.port}/ws/echo"
        headers = {"Authorization": f"Bearer {token}"}
        with connect(url, additional_headers=headers, open_timeout=WAIT) as websocket:
            opened = time.monotonic()
            echoed = 0
            # Round trips for 3 s: each one watches the socket, bounded by its own timeout.
            while time.monotonic() - opened < 3:
                websocket.send(f"ping {echoed}")
                assert f"ping {echoed}" == websocket.recv(timeout=WAIT)
                echoed += 1
                time.sleep(0.1)


@pytest.mark.timeout(60)
def test_every_worker_holds_the_limits(tmp_path: Path) -> None:
    """`serve --workers 2`: the settings reach each worker process (uvicorn spawns them): eight
    connections that stop mid-headers, spread over both, all end at the 1 s deadline, well
    before the 10 s default."""
    with running("resource_api", tmp_path, SHORT_DEADLINES, workers=2) as up:
        sockets = [up.connect() for _ in range(8)]
        try:
            for sock in sockets:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            answers = [read_until_closed(sock, within=5) for sock in sockets]
        finally:
            for sock in sockets:
                sock.close()
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), answers
