"""A controllable stand-in for an issuer's key endpoints: counts requests, rotates keys,
fails, answers garbage and stalls. Served through httpx.MockTransport, so no sockets."""

import asyncio
import gzip
import json
import time
import zlib
from collections import Counter
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.clock import FakeClock
from shared.jwk import rsa_public_jwk
from tests.support import ISSUER, forge

_KEY_POOL: list[rsa.RSAPrivateKey] = []


def _new_key(index: int) -> rsa.RSAPrivateKey:
    # Generating RSA keys is slow; tests reuse a small pool across the session.
    while len(_KEY_POOL) <= index:
        _KEY_POOL.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEY_POOL[index]


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


class FakeIssuer:
    def __init__(self, clock: FakeClock, issuer: str = ISSUER) -> None:
        self.clock = clock
        self.issuer = issuer
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.requests: Counter[str] = Counter()
        self.mode = "ok"  # ok | down | garbage | stall | redirect | huge | bomb
        # Compress JSON as a proxy in front of the issuer would: None, "gzip" or "deflate".
        self.content_encoding: str | None = None
        self.accept_encodings: list[str | None] = []
        self.max_age: int | None = 300
        self.extra_jwks: list[Any] = []  # anything, well-formed or not
        self.stalled = asyncio.Event()
        self._used = 0

    def add_key(self) -> str:
        key = _new_key(self._used)
        self._used += 1
        kid = str(rsa_public_jwk(key.public_key())["kid"])
        self.keys[kid] = key
        return kid

    def remove_key(self, kid: str) -> None:
        del self.keys[kid]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def token(self, kid: str, header: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(self.clock())
        body = {
            "iss": self.issuer,
            "sub": "user-1",
            "aud": "resource-api",
            "exp": now + 900,
            "iat": now,
            "jti": f"jti-{time.perf_counter_ns()}",
            "client_id": "default",
            "scope": "profile",
            "preferred_username": "alice",
            **claims,
        }
        for name, value in list(body.items()):
            if value is None:
                del body[name]
        full_header = {"alg": "RS256", "typ": "at+jwt", "kid": kid, **(header or {})}
        for name, value in list(full_header.items()):
            if value is None:
                del full_header[name]
        return forge(full_header, body, self.keys[kid])

    def jwks(self) -> dict[str, Any]:
        keys = [rsa_public_jwk(key.public_key()) for key in self.keys.values()]
        return {"keys": keys + self.extra_jwks}

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
        if path == "/.well-known/oauth-authorization-server":
            metadata = {"issuer": self.issuer, "jwks_uri": f"{self.issuer}/.well-known/jwks.json"}
            return _streamed(json.dumps(metadata).encode())
        if path == "/.well-known/jwks.json":
            headers = {} if self.max_age is None else {"Cache-Control": f"max-age={self.max_age}"}
            body = json.dumps(self.jwks()).encode()
            if self.mode == "huge":
                body = body + b" " * 1_000_000
            return self._encoded(body, headers)
        return httpx.Response(404)

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
