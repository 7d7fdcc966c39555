"""The token endpoint's grants, one module each behind one interface, as Authlib's
`rfc6749/grants` are: a grant is made for one token request; `validate` runs the grant's own
checks and says whom the token is for and with which scopes; `after_issue` keeps what it needs
of the signed token. Every grant goes through one pipeline (issuer/grants/issuance.py, which
authenticates the client, applies the resource's policy, signs and calls `after_issue`) and is
listed once, in issuer/grants/registry.py.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from issuer.clients.registry import Client
from issuer.config import IssuerSettings
from issuer.services import IssuerServices


@dataclass(frozen=True, slots=True)
class GrantRequest:
    form: dict[str, str]
    client: Client  # authenticated, and registered for this grant
    address: str  # the client's address, for login throttling
    now: float  # the request's one reading of the clock
    services: IssuerServices


@dataclass(frozen=True, slots=True)
class Authentication:
    """The sign-in an ID token speaks of (OpenID Connect Core §2): when it happened, the
    sign-in session's id, the request's nonce (never on refresh, §12.2) and how the user
    signed in (RFC 8176 §2: a password)."""

    auth_time: int
    sid: str
    nonce: str | None = None
    amr: tuple[str, ...] = ("pwd",)


@dataclass(frozen=True, slots=True)
class Granted:
    subject: str  # RFC 9068 §2.2: the user's stable id, or the client id for a service
    username: str | None
    scopes: frozenset[str]
    refresh_token: str | None = None  # RFC 6749 §5.1, for clients registered for refresh_token
    # A sign-in at the login page (the code grant, and refreshes of its family); None for
    # the password and client_credentials grants and families from before OpenID Connect.
    authentication: Authentication | None = None
    # RFC 8707: the resource a user's grant is bound to (the code's, the refresh family's):
    # the token is for it, whatever the request named (the grant refused another). None:
    # the request's own `resource`, if any.
    resource: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """What the pipeline signed for a grant, told to the grant before the answer goes out."""

    access_jti: str
    access_expires_at: float
    refresh_token: str | None


class TokenGrant(ABC):
    """One grant type of the token endpoint (RFC 6749 §4), made for one request."""

    grant_type: ClassVar[str]

    def __init__(self, request: GrantRequest) -> None:
        self.request = request

    @staticmethod
    def enabled(settings: IssuerSettings) -> bool:
        """Whether this issuer runs the grant; a setting may turn one off."""
        return True

    @abstractmethod
    async def validate(self) -> Granted:
        """The grant's own checks; an OAuthError refuses the request."""

    async def after_issue(self, issued: IssuedToken) -> None:  # noqa: B027  # most keep nothing
        """Called once the access token is signed, before it is returned."""
