"""The token endpoint's grants, one module each behind one interface: a grant takes the request
(its form, the authenticated client, the client's address) and says whom the token is for and
with which scopes. Client authentication (issuer/clients/authentication.py), scope policy
(issuer/grants/scopes.py) and signing (issuer/tokens/access_tokens.py) are pieces the grants
and the endpoint call.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from issuer.clients.registry import Client
from issuer.services import IssuerServices


@dataclass(frozen=True, slots=True)
class GrantRequest:
    form: dict[str, str]
    client: Client
    address: str
    services: IssuerServices


@dataclass(frozen=True, slots=True)
class Granted:
    subject: str  # RFC 9068 §2.2: the user's stable id, or the client id for a service
    username: str | None
    scopes: frozenset[str]
    refresh_token: str | None = None  # RFC 6749 §5.1, for clients registered for refresh_token
    code_hash: str | None = None  # the authorization code redeemed, told what it issued


Grant = Callable[[GrantRequest], Awaitable[Granted]]
