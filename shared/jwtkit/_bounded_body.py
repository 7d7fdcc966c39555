"""Reading an HTTP body whose *decoded* size is bounded, whatever its Content-Encoding.

Proxies and CDNs compress JSON (the JWKS included) with gzip or deflate. httpx would inflate
such a body without limit, so we read the raw bytes and inflate them ourselves with a ceiling:
a compression bomb is refused as soon as its output passes the limit, never inflated whole.
"""

import zlib
from collections.abc import AsyncIterator

# zlib's wbits: 16 + MAX_WBITS reads a gzip wrapper; MAX_WBITS a zlib wrapper (RFC 9110 §8.4.1.2
# "deflate" is the zlib format); -MAX_WBITS raw deflate, which some servers send for "deflate".
_GZIP = 16 + zlib.MAX_WBITS
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS

ACCEPT_ENCODING = "gzip, deflate"


class BodyTooLarge(Exception):
    """The body, once decoded, is larger than allowed."""


class UnsupportedEncoding(Exception):
    """The body is encoded in a way we did not ask for and cannot read."""


def _decoder(content_encoding: str | None) -> "_Inflater | None":
    encodings = [e.strip().lower() for e in (content_encoding or "").split(",") if e.strip()]
    encodings = [e for e in encodings if e != "identity"]
    if not encodings:
        return None
    if len(encodings) > 1:
        raise UnsupportedEncoding(f"stacked content codings are not accepted: {content_encoding}")
    if encodings[0] in ("gzip", "x-gzip"):
        return _Inflater(_GZIP)
    if encodings[0] == "deflate":
        return _Inflater(_ZLIB, fallback_wbits=_RAW_DEFLATE)
    raise UnsupportedEncoding(f"unsupported Content-Encoding: {content_encoding}")


class _Inflater:
    def __init__(self, wbits: int, fallback_wbits: int | None = None) -> None:
        self._inflater = zlib.decompressobj(wbits)
        self._fallback_wbits = fallback_wbits
        self._started = False

    def feed(self, data: bytes, room: int) -> bytes:
        """Inflates `data`, returning at most `room` + 1 bytes (one more says "too large")."""
        try:
            out = self._inflater.decompress(data, room + 1)
        except zlib.error:
            if self._started or self._fallback_wbits is None:
                raise
            # "deflate" sent as raw deflate, without the zlib wrapper: retry that way once.
            self._inflater = zlib.decompressobj(self._fallback_wbits)
            self._fallback_wbits = None
            out = self._inflater.decompress(data, room + 1)
        # decompress stops early only when it reached room + 1 bytes: the caller refuses those.
        self._started = True
        return out

    def finish(self) -> None:
        if not self._inflater.eof:
            raise zlib.error("the compressed body is truncated")


async def read_bounded(
    raw_chunks: AsyncIterator[bytes], content_encoding: str | None, max_bytes: int
) -> bytes:
    """The decoded body; raises BodyTooLarge past `max_bytes` decoded bytes, zlib.error when the
    encoding is corrupt, UnsupportedEncoding for codings we do not read."""
    inflater = _decoder(content_encoding)
    body = bytearray()
    async for chunk in raw_chunks:
        room = max_bytes - len(body)
        body += chunk if inflater is None else inflater.feed(chunk, room)
        if len(body) > max_bytes:
            raise BodyTooLarge(f"more than {max_bytes} bytes")
    if inflater is not None:
        inflater.finish()
    return bytes(body)
