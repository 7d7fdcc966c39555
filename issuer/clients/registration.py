"""What a client may be registered with (`clients add`): its id, grants, scopes and
authentication method, its redirect URIs (issuer/clients/redirect_uris.py), and for apps that
sign users in, consent and the logout URIs of OpenID Connect. A ClientError says what is
wrong, in one line that names the option."""

import re
from typing import Any

from issuer.accounts.users import SCOPE_TOKEN
from issuer.clients.redirect_uris import RedirectUriError, check_registrable

# Not a grant: a resource server's client registered for POST /introspect (RFC 7662 §2.1).
INTROSPECTION = "introspection"
SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})
CONFIDENTIAL_METHODS = SECRET_METHODS | {"private_key_jwt"}
# RFC 6749 Appendix A.1: client_id = *VSCHAR; here a conservative subset, no ':' (Basic).
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._~@+-]{1,150}$")


class ClientError(ValueError):
    """A client could not be added or changed; the message says why."""


def registrable_grants() -> frozenset[str]:
    """What a client may be registered for: every grant type of the token endpoint
    (issuer/grants/registry.py), whether this issuer's settings run it or not, and
    introspection."""
    # Imported here: the grants import Client from issuer.clients.registry.
    from issuer.grants.registry import GRANT_TYPES

    return frozenset(GRANT_TYPES) | {INTROSPECTION}


def check_client(
    client_id: str,
    public: bool,
    grants: frozenset[str],
    scopes: frozenset[str],
    auth_method: str,
    jwks: dict[str, Any] | None,
) -> None:
    if not _CLIENT_ID.match(client_id):
        raise ClientError("a client id is 1 to 150 of A-Z a-z 0-9 . _ ~ @ + -")
    registrable = registrable_grants()
    if not grants or not grants <= registrable:
        raise ClientError(f"grants must be among: {' '.join(sorted(registrable))}")
    if public and INTROSPECTION in grants:
        raise ClientError("introspection is for confidential clients (RFC 7662 §2.1)")
    if not all(SCOPE_TOKEN.match(scope) for scope in scopes):
        raise ClientError("scopes must be RFC 6749 scope tokens")
    if public and auth_method != "none":
        raise ClientError("a public client authenticates with no secret: --auth-method none")
    if not public and auth_method not in CONFIDENTIAL_METHODS:
        raise ClientError(f"--auth-method must be one of {' '.join(sorted(CONFIDENTIAL_METHODS))}")
    if public and "client_credentials" in grants:
        raise ClientError("client_credentials is for confidential clients (RFC 6749 §4.4)")
    if (auth_method == "private_key_jwt") != (jwks is not None):
        raise ClientError("private_key_jwt needs --jwks-file, and only it takes one")


def checked_redirect_uris(
    grants: frozenset[str], redirect_uris: tuple[str, ...], native: bool
) -> tuple[str, ...]:
    checked = _registrable(redirect_uris)
    if ("authorization_code" in grants) != bool(checked):
        raise ClientError("authorization_code needs --redirect-uri, and only it takes one")
    if native and not checked:
        raise ClientError("--native is for a code-flow client with a loopback --redirect-uri")
    return checked


def checked_sign_in_metadata(
    grants: frozenset[str],
    consent_required: bool,
    post_logout_redirect_uris: tuple[str, ...],
    backchannel_logout_uri: str | None,
    backchannel_logout_session_required: bool,
) -> tuple[tuple[str, ...], str | None]:
    """The logout URIs, checked as redirect URIs are (RP-Initiated Logout 1.0 §3;
    Back-Channel Logout 1.0 §2.2: no fragment), for a client that signs users in."""
    post_logout = _registrable(post_logout_redirect_uris)
    backchannel = None
    if backchannel_logout_uri is not None:
        (backchannel,) = _registrable((backchannel_logout_uri,))
    if "authorization_code" not in grants and (consent_required or post_logout or backchannel):
        raise ClientError(
            "--consent required and the logout URIs are for clients that sign users in "
            "(--grant authorization_code)"
        )
    if backchannel_logout_session_required and backchannel is None:
        raise ClientError("--backchannel-logout-session-required needs --backchannel-logout-uri")
    return post_logout, backchannel


def _registrable(uris: tuple[str, ...]) -> tuple[str, ...]:
    try:
        return tuple(check_registrable(uri) for uri in uris)
    except RedirectUriError as error:
        raise ClientError(str(error)) from None
