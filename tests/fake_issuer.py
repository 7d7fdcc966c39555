"""The testing kit's issuer (shared.verifier.testing) with faults on demand: it fails, answers
garbage, stalls, redirects, compresses, and publishes whatever extra keys a test adds.
Served through httpx.MockTransport, so no sockets."""

import asyncio
import gzip
import json
import zlib
from typing import Any

import httpx

from shared.clock import FakeClock
from shared.verifier.testing import FakeIssuer
from tests.support import ISSUER


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
        body = json.dumps(document).encode()
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
