"""An authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636), checked.

- A bad client or redirect URI is `Untrusted`: an error page, never a redirect
  (RFC 6749 §4.1.2.1: redirecting would hand an attacker an open redirector). A redirect URI
  that does not even parse is one of these.
- Every other error is `Refused`: it goes back to the client's (verified) redirect URI with
  `error`, `state` and `iss` (RFC 9207).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from issuer.clients.redirect_uris import matches, parses
from issuer.clients.registry import Client, ClientStore
from issuer.errors import InvalidScope
from issuer.grants.scopes import requested_scopes

REQUEST_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
# RFC 7636 §4.2: an S256 challenge is the base64url of a SHA-256: 43 characters.
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class Untrusted(Exception):
    """Shown to the user, never redirected: the client or its redirect URI is not trusted."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class Refused(Exception):
    """Sent back to the client's (verified) redirect URI with its state, RFC 6749 §4.1.2.1."""

    def __init__(self, redirect_uri: str, state: str | None, error: str, description: str) -> None:
        super().__init__(description)
        self.redirect_uri, self.state = redirect_uri, state
        self.error, self.description = error, description


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    state: str | None
    requested: frozenset[str] | None
    code_challenge: str
    fields: tuple[tuple[str, str], ...]  # carried through the login form


def _single(params: Mapping[str, list[str]]) -> dict[str, str]:
    values = {}
    for name in REQUEST_FIELDS:
        given = params.get(name, [])
        if len(given) > 1:
            raise Untrusted("The sign-in request repeats a parameter.")
        if given:
            values[name] = given[0]
    return values


def registered_redirect(client: Client, redirect_uri: str | None) -> str:
    """The redirect URI to use, when it is one the client registered; Untrusted otherwise."""
    if redirect_uri is None and len(client.redirect_uris) == 1:
        redirect_uri = client.redirect_uris[0]
    if redirect_uri is None or not parses(redirect_uri):
        raise Untrusted("The application's return address is missing or not a valid address.")
    if not matches(redirect_uri, client.redirect_uris, native=client.native):
        raise Untrusted("The application's return address is not one it registered.")
    return redirect_uri


def validate(
    params: Mapping[str, list[str]], clients: ClientStore, scopes: frozenset[str]
) -> AuthorizationRequest:
    """The checked request (blocking: the client lookup may read the database)."""
    values = _single(params)
    client = clients.get(values.get("client_id", ""))
    if client is None:
        raise Untrusted("The application asking you to sign in is not registered here.")
    redirect_uri = registered_redirect(client, values.get("redirect_uri"))
    state = values.get("state")

    def refused(error: str, description: str) -> Refused:
        return Refused(redirect_uri, state, error, description)

    if values.get("response_type") != "code":
        raise refused("unsupported_response_type", "only response_type=code is offered")
    if "authorization_code" not in client.grants:
        raise refused("unauthorized_client", "this client may not use the code flow")
    challenge = values.get("code_challenge")
    if challenge is None:
        raise refused("invalid_request", "PKCE is required: send a code_challenge")
    if values.get("code_challenge_method") != "S256" or not _S256_CHALLENGE.match(challenge):
        raise refused("invalid_request", "the code_challenge_method must be S256")
    try:
        requested = requested_scopes(values.get("scope"), scopes)
    except InvalidScope as error:
        raise refused("invalid_scope", error.description) from None
    return AuthorizationRequest(
        client, redirect_uri, state, requested, challenge, tuple(values.items())
    )
