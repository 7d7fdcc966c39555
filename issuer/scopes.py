"""Scope policy for a token request (RFC 6749 §3.3): what is asked for, and what is granted."""

from issuer.errors import InvalidScope
from issuer.users import SCOPE_TOKEN, User


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
