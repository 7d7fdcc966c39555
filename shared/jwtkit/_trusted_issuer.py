"""One issuer an API trusts: where its keys come from, the audiences its tokens must name and
the algorithms it signs with. A verifier holds one or several, picked by the token's `iss`."""

from collections.abc import Collection

from jwtkit._jwks_cache import JwksCache
from jwtkit.contract import ALGORITHMS, DEFAULT_ALGORITHM


class TrustedIssuer:
    def __init__(
        self,
        jwks: JwksCache,
        audience: str | Collection[str],
        algorithms: Collection[str] = (DEFAULT_ALGORITHM,),
    ) -> None:
        self.jwks = jwks
        self.audiences = frozenset([audience] if isinstance(audience, str) else audience)
        self.algorithms = frozenset(algorithms)
        if not self.audiences or not all(self.audiences):
            raise ValueError(f"{self.issuer}: name at least one audience, none empty")
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
        return self.jwks.issuer

    def __repr__(self) -> str:
        return f"TrustedIssuer({self.issuer!r}, audiences={sorted(self.audiences)})"
