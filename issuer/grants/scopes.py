"""Scope policy for a token request (RFC 6749 §3.3): what is asked for, and what is granted.

The OpenID Connect scopes (Core §3.1.2.1, §5.4) are always among the issuer's (issuer/config.py
adds them to ISSUER_SCOPES): `openid` and `email` may be granted to every user, `profile` keeps
its per-user rule. A client still gets only the scopes it registered (`within_client`).
`offline_access` (Core §11) is dropped from a request, never granted and never an error: many
relying parties send it, and refresh tokens follow the client's registered grant types.
"""

from issuer.accounts.users import SCOPE_TOKEN, User
from issuer.clients.registry import Client
from issuer.config import EVERY_USER_SCOPES
from issuer.errors import InvalidScope

DROPPED_SCOPES = frozenset({"offline_access"})


def user_scopes(user: User, known: frozenset[str]) -> frozenset[str]:
    """What `user` may be granted today: their own scopes and every user's, that are known."""
    return (user.scopes | EVERY_USER_SCOPES) & known


def requested_scopes(scope: str | None, known: frozenset[str]) -> frozenset[str] | None:
    """The scopes asked for, or None when the request names none (the defaults apply)."""
    if scope is None:
        return None
    scopes = frozenset(scope.split(" ")) - {""}
    if not all(SCOPE_TOKEN.match(token) for token in scopes):
        raise InvalidScope("the scope parameter is malformed")
    scopes -= DROPPED_SCOPES
    if not scopes <= known:
        raise InvalidScope("the request names a scope this issuer does not know")
    return scopes or None


def granted_scopes(
    user: User, requested: frozenset[str] | None, known: frozenset[str], defaults: frozenset[str]
) -> frozenset[str]:
    """Always within the issuer's scopes and the user's. With none requested: the user's scopes
    among the defaults; when that is empty, invalid_scope, never everything the user has
    (RFC 6749 §3.3 lets the server refuse, and over-granting is what it must not do)."""
    allowed = user_scopes(user, known)
    if requested is None:
        granted = allowed & defaults
        if not granted:
            raise InvalidScope("the user has none of the default scopes: request a scope")
        return granted
    if not requested <= allowed:
        raise InvalidScope("the requested scope exceeds what this user may be granted")
    return requested


def within_client(scopes: frozenset[str], client: Client) -> frozenset[str]:
    """A user's grant, narrowed to what the client is registered for (when it says)."""
    if client.scopes is None or scopes <= client.scopes:
        return scopes
    narrowed = scopes & client.scopes
    if not narrowed:
        raise InvalidScope("the requested scope exceeds what this client may be granted")
    return narrowed


def client_scopes(
    client: Client, requested: frozenset[str] | None, known: frozenset[str]
) -> frozenset[str]:
    """client_credentials: the requested scopes within the client's, or all of the client's
    (that the issuer still knows) when none are requested."""
    allowed = (client.scopes or frozenset()) & known
    if requested is None:
        return allowed
    if not requested <= allowed:
        raise InvalidScope("the requested scope exceeds what this client may be granted")
    return requested
