"""The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636; RFC 9700 §2.1.1: S256
only), both halves of its flow, as Authlib's `AuthorizationCodeGrant` holds them:

- at /authorize: `validate_authorization_request` checks the request, with its OpenID Connect
  parameters (issuer/grants/openid_parameters.py), `issue_code` issues the code once the user
  is signed in (issuer/grants/interaction.py decides when a page is needed first;
  issuer/api/authorize.py does the pages, cookies and redirects);
- at /token: `AuthorizationCodeGrant` exchanges the code and its verifier, and after signing
  keeps what it issued with the code, so that a second use revokes it (RFC 6749 §4.1.2).

Errors at /authorize come in two kinds:
- a bad client or redirect URI is `Untrusted`: an error page, never a redirect
  (RFC 6749 §4.1.2.1: redirecting would hand an attacker an open redirector). A redirect URI
  that does not even parse is one of these;
- every other error is `Refused`: it goes back to the client's (verified) redirect URI with
  `error`, `state` and `iss` (RFC 9207).

RFC 8707 §2.1: a `resource` is checked as at /token (registered, allowed for the client:
issuer/clients/resources.py), bound to the code, and narrows the code's scopes before the
consent page. One per request: a token has one audience, and so does a code here. At the
exchange (§2.2) no `resource` means the code's, and any other than the code's (a resource
for a code asked for without one too) is invalid_target, the code left unused.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import anyio.to_thread

from issuer.accounts.users import User
from issuer.clients.redirect_uris import matches, parses
from issuer.clients.registry import Client, ClientStore
from issuer.clients.resources import Resource, ResourceStore, scopes_for, target
from issuer.config import EVERY_USER_SCOPES
from issuer.errors import InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget
from issuer.grants import Authentication, Granted, IssuedToken, TokenGrant
from issuer.grants import openid_parameters as openid
from issuer.grants.openid_parameters import OpenIdParameters
from issuer.grants.scopes import granted_scopes, requested_scopes, within_client
from issuer.services import IssuerServices
from issuer.sessions.sign_in_sessions import SignIn

REQUEST_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
    *openid.FIELDS,
)
# RFC 7636 §4.2: an S256 challenge is the base64url of a SHA-256: 43 characters.
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
# RFC 7636 §4.1: a verifier is 43 to 128 of the unreserved characters.
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


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
    fields: tuple[tuple[str, str], ...]  # carried through the login and consent forms
    openid: OpenIdParameters = field(default_factory=OpenIdParameters)
    resource: Resource | None = None  # RFC 8707 §2.1, allowed for the client


# The authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636 §4.3).


def _single(params: Mapping[str, list[str]]) -> dict[str, str]:
    values = {}
    for name in REQUEST_FIELDS:
        given = params.get(name, [])
        # Several resources are invalid_target, at the redirect URI once it is verified.
        if len(given) > 1 and name != "resource":
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


def _resource(
    params: Mapping[str, list[str]], client: Client, resources: ResourceStore
) -> Resource | None:
    """The registered resource asked for (RFC 8707 §2.1), if any; InvalidTarget for several,
    and for one the client may not have (the same words for unknown and forbidden)."""
    given = params.get("resource", [])
    if not given:
        return None
    if len(given) > 1:
        raise InvalidTarget("one resource per authorization request: a token has one audience")
    resource = resources.get(given[0])
    target(resource, given[0], client, default="")
    return resource


def validate(
    params: Mapping[str, list[str]],
    clients: ClientStore,
    scopes: frozenset[str],
    resources: ResourceStore,
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
    try:
        parameters = openid.openid_parameters(values, set(params))
    except openid.BadParameter as error:
        raise refused(error.error, error.description) from None
    try:
        resource = _resource(params, client, resources)
    except InvalidTarget as error:
        raise refused("invalid_target", error.description) from None
    fields = tuple(values.items())
    return AuthorizationRequest(
        client, redirect_uri, state, requested, challenge, fields, parameters, resource
    )


async def validate_authorization_request(
    params: Mapping[str, list[str]], services: IssuerServices
) -> AuthorizationRequest:
    """The checked request, or Untrusted, or Refused. In a thread: the client lookup may read
    the database."""
    scopes = frozenset(services.settings.scopes)
    return await anyio.to_thread.run_sync(
        lambda: validate(params, services.clients, scopes, resources=services.resources)
    )


# The authorization response (RFC 6749 §4.1.2): the code, once the user is signed in.


def code_scopes(
    request: AuthorizationRequest, user: User, services: IssuerServices
) -> frozenset[str]:
    """The scopes a code for `user` carries: those asked for (or the defaults) within the
    user's and the client's, and the resource's (RFC 8707), so that the consent page asks for
    what will be granted (`openid` stays: it is for the ID token, not the resource);
    otherwise Refused with invalid_scope, to the client."""
    known = frozenset(services.settings.scopes)
    defaults = frozenset(services.settings.default_scopes)
    try:
        scopes = within_client(
            granted_scopes(user, request.requested, known, defaults), request.client
        )
        return scopes_for(request.resource, scopes) | (scopes & {"openid"})
    except InvalidScope as error:
        raise Refused(
            request.redirect_uri, request.state, "invalid_scope", error.description
        ) from None


async def issue_code(
    request: AuthorizationRequest,
    sign_in: SignIn,
    scopes: frozenset[str],
    services: IssuerServices,
    now: float,
) -> str:
    """A code for the sign-in's user and `scopes` (code_scopes', consented to), with what the
    ID token needs of the sign-in: its nonce, auth_time and sid (Core §2)."""
    client_id = request.client.client_id

    def issue() -> str:
        if "openid" in scopes:
            # Recorded before the code exists: Back-Channel Logout 1.0 tells every client a
            # session gave an ID token to when it ends.
            services.session_clients.add(sign_in.session_id, client_id)
        return services.authorization_codes.issue(
            client_id=client_id,
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            user_id=sign_in.user_id,
            scopes=scopes,
            now=now,
            nonce=request.openid.nonce,
            auth_time=int(sign_in.started_at),
            sid=sign_in.session_id,
            resource=None if request.resource is None else request.resource.uri,
        )

    return await anyio.to_thread.run_sync(issue)


# The token request (RFC 6749 §4.1.3 with RFC 7636 §4.5): the code and its verifier.


class AuthorizationCodeGrant(TokenGrant):
    grant_type = "authorization_code"
    _code_hash: str | None = None  # the code this request redeemed

    async def validate(self) -> Granted:
        request = self.request
        services, form = request.services, request.form
        code, redirect_uri = form.get("code"), form.get("redirect_uri")
        verifier = form.get("code_verifier")
        if not code or not redirect_uri:
            raise InvalidRequest("code and redirect_uri are required")
        if verifier is None:
            raise InvalidRequest("code_verifier is required (PKCE)")
        if not _VERIFIER.match(verifier):
            raise InvalidGrant("the authorization code is invalid, expired or already used")
        redeemed = await anyio.to_thread.run_sync(
            lambda: services.authorization_codes.redeem(
                code,
                client_id=request.client.client_id,
                redirect_uri=redirect_uri,
                code_verifier=verifier,
                now=request.now,
                resource=form.get("resource"),
            )
        )
        self._code_hash = redeemed.code_hash
        user = await anyio.to_thread.run_sync(services.users.get, redeemed.user_id)
        if user is None:
            raise InvalidGrant("the authorization code is invalid, expired or already used")
        # What was consented to at sign-in, within what the user and the issuer allow today.
        allowed = user.scopes | EVERY_USER_SCOPES
        scopes = redeemed.scopes & allowed & frozenset(services.settings.scopes)
        authentication = None
        if redeemed.auth_time is not None and redeemed.sid is not None:
            authentication = Authentication(redeemed.auth_time, redeemed.sid, redeemed.nonce)
        refresh = None
        if "refresh_token" in request.client.grants:
            refresh = await anyio.to_thread.run_sync(
                lambda: services.refresh_tokens.issue(
                    user.id,
                    request.client.client_id,
                    scopes,
                    request.now,
                    auth_time=redeemed.auth_time,
                    sid=redeemed.sid,
                    resource=redeemed.resource,
                )
            )
        return Granted(
            user.id, user.username, scopes, refresh, authentication, resource=redeemed.resource
        )

    async def after_issue(self, issued: IssuedToken) -> None:
        """Kept with the code, so that a second use of it revokes these (RFC 6749 §4.1.2)."""
        code_hash, request = self._code_hash, self.request
        assert code_hash is not None  # validate redeemed it, or nothing was signed
        await anyio.to_thread.run_sync(
            lambda: request.services.authorization_codes.record_issued(
                code_hash,
                client_id=request.client.client_id,
                refresh_token=issued.refresh_token,
                access_jti=issued.access_jti,
                access_expires_at=issued.access_expires_at,
                now=request.now,
            )
        )
