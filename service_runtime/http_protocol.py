"""uvicorn's httptools protocol with the limits of service_runtime/http_limits.py, per connection.

Why a subclass of uvicorn's httptools protocol, and not uvicorn's h11 protocol or its options:

- httptools (uvicorn's default with uvicorn[standard]) bounds no header: it concatenates each
  header's pieces as they come, so 8 MiB sent in 1 KiB pieces costs quadratic time. Here the
  parser is fed at most `max_header_bytes` before the end of the headers, and the connection
  is refused (431) at the first byte past them, so neither memory nor that cost can grow.
- h11's `max_incomplete_event_size` only applies while headers are incomplete: a 17 KiB head
  that arrives in one read passes, and uvicorn answers a too-long one 400, not 431. h11 is
  also pure Python: 0.69x the /healthz requests and 0.77x the tokens per CPU-second
  (benchmarks/http_protocols.py), where these limits cost httptools 0.95x and 1.02x.
- uvicorn has no timeout for headers or a body: its keep-alive timer runs only between
  requests, is cancelled by any byte, and is not armed on a new connection at all. Two timers
  here: one from the connection's start (or the end of the last response) to the end of the
  headers, one from the end of the headers to the end of the body.
- uvicorn's `limit_concurrency` answers 503 without Retry-After and counts the connection
  asking (a limit of N serves N - 1); the cap here serves N and answers the next with both.

Every refusal closes the connection: after a 431 or a 408 the rest of the request cannot be
trusted to be framed, and after a 503 the client should come back later, elsewhere if it can.
"""

import asyncio
import json
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from service_runtime.http_limits import HttpLimits


class LimitedConfig(Config):
    """uvicorn's Config, plus the limits each worker's protocol reads (a Config is what
    uvicorn hands to the worker processes it spawns, so the limits travel with it)."""

    def __init__(self, app: str, *, limits: HttpLimits, **options: Any) -> None:
        super().__init__(app, http=LimitedHttpToolsProtocol, **options)
        self.limits = limits


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """One connection: uvicorn's httptools protocol, and the limits around each request."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: HttpLimits = getattr(config, "limits", HttpLimits())
        self.reading_headers = True
        self.header_bytes = 0
        self.header_deadline: asyncio.TimerHandle | None = None
        self.body_deadline: asyncio.TimerHandle | None = None
        self.busy_app = _too_many_connections(self.limits.retry_after)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return  # refused already: what was still on its way is not read
        # Until the headers end, the parser gets no more than the room left under the limit.
        while self.reading_headers and data:
            room = self.limits.max_header_bytes - self.header_bytes
            if room <= 0:
                self._refuse(431, "invalid_request", "request line and headers too large")
                return
            piece, data = data[:room], data[room:]
            self.header_bytes += len(piece)
            super().data_received(piece)
            if self.transport.is_closing() or self.transport.get_protocol() is not self:
                return  # refused by the parser, or handed to the WebSocket protocol
        if data:
            super().data_received(data)

    def on_headers_complete(self) -> None:
        self.reading_headers = False
        _cancel(self.header_deadline)
        over_cap = len(self.connections) > self.limits.max_connections or (
            len(self.tasks) >= self.limits.max_connections
        )
        self.app = self.busy_app if over_cap else self.config.loaded_app
        super().on_headers_complete()
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            self.body_deadline = self.loop.call_later(
                self.limits.body_timeout, self._body_timed_out
            )

    def on_message_complete(self) -> None:
        _cancel(self.body_deadline)
        self.reading_headers = True
        self.header_bytes = 0
        super().on_message_complete()
        if not self._request_in_flight():  # answered before its body ended
            self._arm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.reading_headers and not self.transport.is_closing():
            self._arm_header_deadline()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # the WebSocket protocol has its own pings and limits from here on
        super().handle_websocket_upgrade()

    def _arm_header_deadline(self) -> None:
        _cancel(self.header_deadline)
        self.header_deadline = self.loop.call_later(
            self.limits.header_timeout, self._header_timed_out
        )

    def _disarm(self) -> None:
        _cancel(self.header_deadline)
        _cancel(self.body_deadline)

    def _request_in_flight(self) -> bool:
        # Responses go out in order: when the latest request has its response, all have.
        return self.cycle is not None and not self.cycle.response_complete

    def _header_timed_out(self) -> None:
        if self._request_in_flight() or self.transport.is_closing():
            return  # the deadline starts again when that response ends
        if self.header_bytes:
            self._refuse(408, "invalid_request", "request headers not received in time")
        else:  # an idle connection: nothing to answer
            self.transport.close()

    def _body_timed_out(self) -> None:
        if self.transport.is_closing():
            return
        if self.cycle.response_started:
            self._end_cycle()
            self.transport.close()
        else:
            self._refuse(408, "invalid_request", "request body not received in time")

    def _refuse(self, status: int, error: str, description: str) -> None:
        """Answers `status` unless a response is already on its way, and closes."""
        if not self._request_in_flight() or not self.cycle.response_started:
            self._end_cycle()
            body = json.dumps({"error": error, "error_description": description}).encode()
            head = [STATUS_LINE[status]]
            for name, value in self.server_state.default_headers:
                head += [name, b": ", value, b"\r\n"]
            head.append(
                b"content-type: application/json\r\ncache-control: no-store\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
            )
            self.transport.write(b"".join(head) + body)
        self.transport.close()

    def _end_cycle(self) -> None:
        """The app's request, if one is running, sees a disconnect and its answer is dropped."""
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()


def _cancel(deadline: asyncio.TimerHandle | None) -> None:
    if deadline is not None:
        deadline.cancel()


def _too_many_connections(retry_after: int) -> Any:
    body = json.dumps(
        {"error": "temporarily_unavailable", "error_description": "too many connections"}
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
        (b"cache-control", b"no-store"),
        (b"connection", b"close"),
    ]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app
