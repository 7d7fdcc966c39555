"""One issuer an API trusts: where its keys come from, the audiences its tokens must name and
the algorithms it signs with. A verifier holds one or several, picked by the token's `iss`."""

import enum
from collections.abc import Collection, Mapping
from typing import Any, Final, Literal

from jwtkit._errors import InvalidToken
from jwtkit._jwks_cache import JwksCache
from jwtkit._key_source import KeySource
from jwtkit.contract import ALGORITHMS, DEFAULT_ALGORITHM


class _Audience(enum.Enum):
    ANY = "any audience"

    def __repr__(self) -> str:
        return "ANY_AUDIENCE"


# Tokens for any audience: only for the issuer judging its own tokens (RFC 7662
# introspection answers for every audience it issued for) and for the inspector without
# --audience. A resource server MUST check that aud names it (RFC 9068 §4).
ANY_AUDIENCE: Final = _Audience.ANY


class TrustedIssuer:
    def __init__(
        self,
        jwks: KeySource,
        audience: str | Collection[str] | Literal[_Audience.ANY],
        algorithms: Collection[str] = (DEFAULT_ALGORITHM,),
    ) -> None:
        self.keys = jwks
        self.any_audience = audience is ANY_AUDIENCE
        if isinstance(audience, _Audience):
            self.audiences: frozenset[str] = frozenset()
        else:
            self.audiences = frozenset([audience] if isinstance(audience, str) else audience)
            if not self.audiences or not all(self.audiences):
                raise ValueError(f"{self.issuer}: name at least one audience, none empty")
        self.algorithms = frozenset(algorithms)
        if not self.algorithms:
            raise ValueError(f"{self.issuer}: allow at least one algorithm")
        unsupported = self.algorithms - frozenset(ALGORITHMS)
        if unsupported:
            # Never HS* (a public key used as a shared secret) nor none: RFC 8725 §3.1.
            raise ValueError(
                f"{self.issuer}: unsupported algorithms {sorted(unsupported)};"
                f" choose among {', '.join(ALGORITHMS)}"
            )

    @property
    def issuer(self) -> str:
        return self.keys.issuer

    @property
    def jwks(self) -> JwksCache:
        """The key source when it is a JwksCache (its status, its refresh); TypeError when
        the keys come from elsewhere (`keys` is the source, whatever it is)."""
        if not isinstance(self.keys, JwksCache):
            raise TypeError(f"{self.issuer}: the keys come from {self.keys!r}, not a JwksCache")
        return self.keys

    def __repr__(self) -> str:
        audiences = "ANY_AUDIENCE" if self.any_audience else sorted(self.audiences)
        return f"TrustedIssuer({self.issuer!r}, audiences={audiences})"


def named_issuer(issuers: Mapping[str, TrustedIssuer], claims: Mapping[str, Any]) -> TrustedIssuer:
    """The trusted issuer the (not yet verified) claims name; refused when they name none."""
    iss = claims.get("iss")
    if iss is None:
        raise InvalidToken("the token has no iss claim", "issuer")
    trusted = issuers.get(iss) if isinstance(iss, str) else None
    if trusted is None:
        raise InvalidToken("the token comes from another issuer", "issuer")
    return trusted
