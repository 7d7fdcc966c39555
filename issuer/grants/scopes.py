"""Scope policy for a token request (RFC 6749 §3.3): what is asked for, and what is granted."""

from issuer.accounts.users import SCOPE_TOKEN, User
from issuer.clients.registry import Client
from issuer.errors import InvalidScope


def requested_scopes(scope: str | None, known: frozenset[str]) -> frozenset[str] | None:
    """The scopes asked for, or None when the request names none (the defaults apply)."""
    if scope is None:
        return None
    scopes = frozenset(scope.split(" ")) - {""}
    if not all(SCOPE_TOKEN.match(token) for token in scopes):
        raise InvalidScope("the scope parameter is malformed")
    if not scopes <= known:
        raise InvalidScope("the request names a scope this issuer does not know")
    return scopes or None


def granted_scopes(
    user: User, requested: frozenset[str] | None, known: frozenset[str], defaults: frozenset[str]
) -> frozenset[str]:
    """Always within the issuer's scopes and the user's. With none requested: the user's scopes
    among the defaults; when that is empty, invalid_scope, never everything the user has
    (RFC 6749 §3.3 lets the server refuse, and over-granting is what it must not do)."""
    allowed = user.scopes & known
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
