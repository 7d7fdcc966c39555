"""Bearer tokens on WebSocket routes.

Browsers cannot set headers on a WebSocket, and tokens never travel in the query string (they
end up in logs), so the token comes from the `Authorization` header or from one
`Sec-WebSocket-Protocol` entry `bearer.<token>`: `new WebSocket(url, ["chat", "bearer." + t])`.
The server echoes back only the real subprotocol (`offered_subprotocol`); a browser requires
one to be chosen when it offered any, so offer one beside the token.

A refused token closes the handshake with 1008 (policy violation) before it is accepted;
keys that cannot be fetched close it with 1013 (try again later), as HTTP answers 503.
`serve_until_expiry` closes an open connection with 1008 once its token has expired.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket, WebSocketState

from jwtkit._clock import Clock
from jwtkit._errors import InvalidRequest

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
_PREFIX = "bearer."

Sleep = Callable[[float], Awaitable[None]]


def subprotocol_token(connection: HTTPConnection) -> str | None:
    """The token offered as `bearer.<token>` in Sec-WebSocket-Protocol, if any."""
    offered: list[str] = connection.scope.get("subprotocols", [])
    tokens = [entry[len(_PREFIX) :] for entry in offered if entry.lower().startswith(_PREFIX)]
    if len(tokens) > 1:
        raise InvalidRequest("offer one bearer subprotocol")
    return tokens[0] if tokens else None


def offered_subprotocol(websocket: WebSocket) -> str | None:
    """The subprotocol to accept: the first the client offered other than its token (which
    must never be echoed back, into logs and proxies, in the handshake response)."""
    offered: list[str] = websocket.scope.get("subprotocols", [])
    return next((entry for entry in offered if not entry.lower().startswith(_PREFIX)), None)


async def serve_until_expiry(
    websocket: WebSocket,
    session: Callable[[], Awaitable[None]],
    *,
    expires_at: float,
    clock: Clock,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Runs `session` (the connection's work); when `expires_at` passes first, cancels it and
    closes the connection with 1008. `sleep` and `clock` are injected so tests control time."""

    async def expiry() -> None:
        while (remaining := expires_at - clock()) > 0:
            await sleep(remaining)

    work = asyncio.ensure_future(session())
    timer = asyncio.ensure_future(expiry())
    try:
        done, _pending = await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
    if work in done:
        work.result()  # the session's own outcome, its exceptions included
        return
    if websocket.application_state == WebSocketState.CONNECTED:
        await websocket.close(POLICY_VIOLATION, "the token has expired")
