"""Who a verified access token speaks for."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["user", "service"]


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    username: str | None
    scopes: frozenset[str]
    client_id: str | None
    token_id: str | None
    expires_at: float
    claims: Mapping[str, Any]

    @property
    def kind(self) -> Kind:
        """ "service" for a token a client got for itself (client_credentials): RFC 9068 §2.2
        makes its sub the client id, and no user is named; "user" otherwise."""
        if self.username is None and self.subject == self.client_id:
            return "service"
        return "user"

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> "Principal":
        """From claims that `validate_claims` has accepted."""
        return cls(
            subject=claims["sub"],
            username=claims.get("preferred_username"),
            scopes=frozenset(claims.get("scope", "").split()),
            client_id=claims.get("client_id"),
            token_id=claims.get("jti"),
            expires_at=claims["exp"],
            claims=claims,
        )
