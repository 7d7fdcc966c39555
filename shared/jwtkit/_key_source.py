"""Where a trusted issuer's verification keys come from: the `KeySource` protocol, which
`JwksCache` (the issuer's JWKS over HTTP) satisfies, and `InMemoryJwks`, a JWKS document this
process already holds (the issuer verifying its own tokens for introspection, keys read from
a file, a test).

Either way the keys are the ones `parse_jwks` accepts, each bound to its one algorithm.
"""

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

import jwt

from jwtkit._errors import InvalidToken, KeysUnavailable
from jwtkit._keyset import KeySetError, parse_jwks

logger = logging.getLogger(__name__)


class KeySource(Protocol):
    """One issuer's keys by kid. An async context manager: entered with the verifier."""

    @property
    def issuer(self) -> str: ...

    def knows(self, kid: str) -> bool:
        """Whether `kid` is in the current key set (no I/O: the verified-token cache asks)."""
        ...

    def key_at_hand(self, kid: str) -> jwt.PyJWK | None:
        """The key, when the current set holds it; None when it does not. Never does I/O;
        raises KeysUnavailable when there is no usable set at all."""
        ...

    async def key(self, kid: str) -> jwt.PyJWK:
        """The key, looked for again when the current set lacks it; raises InvalidToken
        (rule unknown_key) or KeysUnavailable."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None: ...


def unknown_key() -> InvalidToken:
    return InvalidToken("the token is signed with an unknown key", "unknown_key")


class InMemoryJwks:
    """`InMemoryJwks(issuer, document)`: the keys of a JWKS document (bytes), or of whatever
    `document()` returns now, for a set that changes (a key ring that rotates). Parsed once,
    and again only when the document's bytes change; nothing is ever fetched."""

    def __init__(self, issuer: str, document: bytes | Callable[[], bytes]) -> None:
        self._issuer = issuer
        self._document = document if callable(document) else (lambda: document)
        body = self._document()
        # One attribute, replaced whole: threads that read it never see half an update.
        self._parsed: tuple[bytes, dict[str, jwt.PyJWK]] = (body, parse_jwks(body))

    @property
    def issuer(self) -> str:
        return self._issuer

    def _keys(self) -> dict[str, jwt.PyJWK]:
        body = self._document()
        parsed = self._parsed
        if body is not parsed[0] and body != parsed[0]:
            try:
                parsed = (body, parse_jwks(body))
            except KeySetError as error:
                logger.error("the in-memory JWKS is unusable", extra={"error": str(error)})
                raise KeysUnavailable("the issuer's keys are not available") from None
            self._parsed = parsed
        return parsed[1]

    def knows(self, kid: str) -> bool:
        return kid in self._keys()

    def key_at_hand(self, kid: str) -> jwt.PyJWK | None:
        return self._keys().get(kid)

    async def key(self, kid: str) -> jwt.PyJWK:
        key = self.key_at_hand(kid)
        if key is None:
            raise unknown_key()
        return key

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, *_exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        return None

    def __repr__(self) -> str:
        return f"InMemoryJwks({self._issuer!r}, kids={sorted(self._parsed[1])})"
