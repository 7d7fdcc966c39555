"""A relying party's back-channel logout endpoint for tests: a real HTTP server on loopback (in
a thread) that records every request and answers with the statuses it is given, then 200."""

import contextlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs


@dataclass(frozen=True, slots=True)
class Received:
    method: str
    path: str
    content_type: str
    body: bytes

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("ascii"), strict_parsing=True)


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answered first, in order; then 200
    received: list[Received] = field(default_factory=list)
    location: str | None = None  # sent with a 3xx answer

    @property
    def logout_tokens(self) -> list[str]:
        return [request.form["logout_token"][0] for request in self.received]


@contextlib.contextmanager
def receiver(*statuses: int) -> Iterator[Receiver]:
    """The receiver at http://127.0.0.1:PORT/backchannel, stopped on exit."""
    lock = threading.Lock()
    state = Receiver("", list(statuses))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                content_type = self.headers.get("Content-Type", "")
                state.received.append(Received("POST", self.path, content_type, body))
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            if 300 <= status < 400 and state.location:
                self.send_header("Location", state.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/backchannel"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
