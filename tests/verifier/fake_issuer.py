"""The testing kit's issuer (jwtkit.testing) with faults on demand: it fails, answers
garbage, stalls, redirects, compresses, and publishes whatever extra keys a test adds.
Served through httpx.MockTransport, so no sockets."""

import asyncio
import gzip
import json
import zlib
from typing import Any

import httpx

from jwtkit.testing import FakeClock, FakeIssuer
from tests.basics import ISSUER


def _streamed(body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    """A 200 whose body arrives as a stream, as from a real server (`content=` would hand
    httpx an already-read body, which its raw byte reader refuses)."""
    return httpx.Response(200, stream=httpx.ByteStream(body), headers=headers)


_BOMB: list[bytes] = []


def _gzip_bomb() -> bytes:
    if not _BOMB:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        zeros = b" " * 1_000_000
        _BOMB.append(b"".join(compressor.compress(zeros) for _ in range(100)) + compressor.flush())
    return _BOMB[0]


class FaultyIssuer(FakeIssuer):
    """Starts with no key (`add_key` publishes one); tokens default to the resource API's
    audience and a fixed user, `signed(kid, header, **claims)` overriding any member."""

    def __init__(self, clock: FakeClock, issuer: str = ISSUER, algorithm: str = "RS256") -> None:
        super().__init__(issuer, audience="resource-api", algorithm=algorithm, clock=clock)
        self.keys.clear()
        self.mode = "ok"  # ok | down | garbage | stall | redirect | huge | bomb
        # Compress JSON as a proxy in front of the issuer would: None, "gzip" or "deflate".
        self.content_encoding: str | None = None
        self.accept_encodings: list[str | None] = []
        self.max_age: int | None = 300
        self.extra_jwks: list[Any] = []  # anything, well-formed or not
        # Key sets served, one per request, before the current one: a lagging replica or CDN.
        self.lagging: list[dict[str, Any]] = []
        self.stalled = asyncio.Event()

    def add_key(self) -> str:
        return self.rotate()

    def signed(self, kid: str, header: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(self.clock())
        defaults = {"preferred_username": "alice", "client_id": "default", "iat": now}
        return self.token("user-1", kid=kid, header=header, **{**defaults, **claims})

    def jwks(self) -> dict[str, Any]:
        return {"keys": super().jwks()["keys"] + self.extra_jwks}

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests[path] += 1
        self.accept_encodings.append(request.headers.get("accept-encoding"))
        if self.mode == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if self.mode == "stall":
            await self.stalled.wait()
        if self.mode == "garbage":
            return _streamed(b"<html>maintenance</html>")
        if self.mode == "redirect":
            return httpx.Response(302, headers={"Location": "http://evil.test/jwks.json"})
        document = self.document(path)
        if document is None:
            return httpx.Response(404)
        if path != "/.well-known/jwks.json":
            return _streamed(json.dumps(document).encode())
        headers = {} if self.max_age is None else {"Cache-Control": f"max-age={self.max_age}"}
        body = json.dumps(self.lagging.pop(0) if self.lagging else document).encode()
        if self.mode == "huge":
            body = body + b" " * 1_000_000
        return self._encoded(body, headers)

    def _encoded(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        if self.mode == "bomb":
            # 100 MB of JSON padding squeezed into about 100 KB of gzip: inflating it whole would
            # cost 100 MB of memory.
            return _streamed(_gzip_bomb(), {**headers, "Content-Encoding": "gzip"})
        if self.content_encoding == "gzip":
            body = gzip.compress(body)
        elif self.content_encoding == "deflate":
            body = zlib.compress(body)
        else:
            return _streamed(body, headers)
        return _streamed(body, {**headers, "Content-Encoding": self.content_encoding})

    @property
    def jwks_requests(self) -> int:
        return self.requests["/.well-known/jwks.json"]


class FakeSleep:
    """`asyncio.sleep` in fake time: a sleeper wakes once `elapse` moves the clock past its
    deadline, and `elapse` returns when every task it woke has slept again or ended."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.asked: list[float] = []
        self._sleeping: dict[asyncio.Task[Any], tuple[float, asyncio.Future[None]]] = {}
        self._slept = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.asked.append(seconds)
        wake = asyncio.get_running_loop().create_future()
        self._sleeping[task] = (self._clock() + seconds, wake)
        self._slept.set()
        try:
            await wake
        finally:
            if self._sleeping.get(task, (0.0, None))[1] is wake:
                del self._sleeping[task]

    async def elapse(self, seconds: float) -> None:
        await asyncio.sleep(0)  # tasks created just now run up to their first sleep
        self._clock.advance(seconds)
        due = [task for task, (at, _) in self._sleeping.items() if at <= self._clock()]
        for task in due:
            self._sleeping.pop(task)[1].set_result(None)
        async with asyncio.timeout(5):  # bounded: a woken task that neither sleeps nor ends
            for task in due:
                while not (task.done() or task in self._sleeping):
                    self._slept.clear()
                    slept = asyncio.ensure_future(self._slept.wait())
                    await asyncio.wait({slept, task}, return_when=asyncio.FIRST_COMPLETED)
                    slept.cancel()
