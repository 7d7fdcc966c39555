"""One pipeline for every token request (RFC 6749 §3.2), whatever its grant:

    authenticate the client (issuer/clients/authentication.py)
    → the grant type: named (or implied), run by this issuer, registered for this client
    → the token's audience: the resource asked for (RFC 8707), refused before the grant runs;
      a grant bound to a resource (a code's, a refresh family's) refuses another and gives
      its own, the token's audience then
    → the grant's own checks (issuer/grants/<grant>.py): whom for, with which scopes
    → sign (RFC 9068, issuer/tokens/access_tokens.py), the resource's scopes narrowing the
      grant's once a signing key is there
    → the ID token (OpenID Connect Core §2, issuer/tokens/id_tokens.py) when the grant
      granted `openid` and says how the user signed in (the code grant, and the refresh grant
      of a family that knows it); signed by the same key, read once, as the access token
    → record: the grant's `after_issue` (the authorization code keeps what it issued)

The audience is settled before the grant runs, as it always was: a request naming a resource
it may not have must neither use up a code nor count as a failed login. Without a signing key
the answer is 503, whatever the scopes.

The caller reads the clock once and passes `now` to every step. The endpoint
(issuer/api/token.py) reads the form, calls `issue_token` and answers with the `Issued` it
returns; every failure comes as `TokenRequestFailed`, with the error and how far the request
got (the request log's client, grant, user and kid).
"""

from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from issuer.clients.authentication import presented_credentials
from issuer.clients.registry import Client
from issuer.clients.resources import Resource, scopes_for, target
from issuer.config import IssuerSettings
from issuer.errors import (
    InvalidRequest,
    TemporarilyUnavailable,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from issuer.grants import Granted, GrantRequest, IssuedToken, TokenGrant
from issuer.grants.registry import enabled_grants
from issuer.keys.keyring import NoSigningKey, Signer
from issuer.services import IssuerServices
from issuer.tokens.access_tokens import access_token_claims
from issuer.tokens.id_tokens import id_token_claims, sign_id_token
from issuer.tokens.jws import sign_jwt
from jwtkit.contract import ACCESS_TOKEN_TYPE


@dataclass(frozen=True, slots=True)
class TokenRequest:
    form: dict[str, str]
    authorization: str | None  # the Authorization header (client_secret_basic)
    address: str  # the client's address, for login throttling


@dataclass(frozen=True, slots=True)
class Attempt:
    """How far a token request got: the client once authenticated, the grant type once
    accepted, the username asked for (so that failures show it), the signing key's id."""

    client_id: str | None = None
    grant_type: str | None = None
    username: str | None = None
    kid: str | None = None


@dataclass(frozen=True, slots=True)
class Issued:
    """The token response's content (RFC 6749 §5.1), and the request that got it."""

    attempt: Attempt
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None
    id_token: str | None = None  # OpenID Connect Core §3.1.3.3


class TokenRequestFailed(Exception):
    """A token request that ended without a token: `error` says why (an OAuthError is the
    answer to give; anything else is a server error), `attempt` how far it got."""

    def __init__(self, attempt: Attempt, error: BaseException) -> None:
        super().__init__(attempt, error)
        self.attempt, self.error = attempt, error


async def issue_token(request: TokenRequest, services: IssuerServices, now: float) -> Issued:
    form, attempt = request.form, Attempt()
    try:
        client = await _authenticated(request, services, now)
        attempt = Attempt(client.client_id)
        grant_type, grant = _grant(form, services.settings)
        attempt = Attempt(client.client_id, grant_type)
        if grant_type not in client.grants:
            raise UnauthorizedClient("this client is not registered for this grant type")
        attempt = Attempt(client.client_id, grant_type, _attempted_username(form))
        resource, audience = await _target(form.get("resource"), client, services)
        granting = grant(GrantRequest(form, client, request.address, now, services))
        granted = await granting.validate()
        if granted.resource is not None and granted.resource != form.get("resource"):
            # The code's or the family's resource, checked again: it may have gone since.
            resource, audience = await _target(granted.resource, client, services)
        signer = _signer(services, now)
        claims, token = _signed(granted, resource, audience, client, services, signer, now)
        attempt = Attempt(client.client_id, grant_type, attempt.username, signer.kid)
        id_token = _id_token(granted, claims, token, services, signer, now)
        issued = IssuedToken(claims["jti"], float(claims["exp"]), granted.refresh_token)
        await granting.after_issue(issued)
    except BaseException as error:  # cancellation too: the caller logs it, then raises it again
        raise TokenRequestFailed(attempt, error) from error
    ttl = services.settings.access_token_ttl
    return Issued(attempt, token, ttl, claims["scope"], granted.refresh_token, id_token)


async def _authenticated(request: TokenRequest, services: IssuerServices, now: float) -> Client:
    presented = presented_credentials(request.authorization, request.form)
    if services.client_auth.in_memory(presented):
        return services.client_auth.authenticate(presented, now)
    return await anyio.to_thread.run_sync(services.client_auth.authenticate, presented, now)


def _grant(form: dict[str, str], settings: IssuerSettings) -> tuple[str, type[TokenGrant]]:
    # grant_type is REQUIRED (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6). With the password grant
    # on it may be omitted, so that the seed's curl works verbatim; it then means password.
    grant_type = form.get("grant_type", "password" if settings.password_grant else None)
    if grant_type is None:
        raise InvalidRequest("grant_type is required")
    grant = enabled_grants(settings).get(grant_type)
    if grant is None:
        raise UnsupportedGrantType("this grant type is not supported")
    return grant_type, grant


def _attempted_username(form: dict[str, str]) -> str | None:
    username = form.get("username")
    return None if username is None else username[:150]


async def _target(
    requested: str | None, client: Client, services: IssuerServices
) -> tuple[Resource | None, str]:
    """The registered resource asked for (RFC 8707), if any, and the token's audience."""
    resource = (
        await anyio.to_thread.run_sync(services.resources.get, requested) if requested else None
    )
    return resource, target(resource, requested, client, services.settings.audience)


def _signer(services: IssuerServices, now: float) -> Signer:
    """The active key, read once for every token of the response: a rotation between the
    access token and the ID token would otherwise sign them with two keys."""
    try:
        return services.keyring.signer(now)
    except NoSigningKey as missing:
        raise TemporarilyUnavailable(
            "no signing key is ready; try again shortly", retry_after=missing.retry_after
        ) from None


def _signed(
    granted: Granted,
    resource: Resource | None,
    audience: str,
    client: Client,
    services: IssuerServices,
    signer: Signer,
    now: float,
) -> tuple[dict[str, Any], str]:
    """The claims and the signed access token. The resource's scopes narrow the grant's once
    a key is there: with none, the answer is 503 whatever the scopes."""
    claims = access_token_claims(
        subject=granted.subject,
        username=granted.username,
        scopes=scopes_for(resource, granted.scopes),
        client_id=client.client_id,
        issuer=services.settings.url,
        audience=audience,
        ttl=services.settings.access_token_ttl,
        now=now,
    )
    return claims, sign_jwt(claims, signer, ACCESS_TOKEN_TYPE)


def _id_token(
    granted: Granted,
    access_claims: dict[str, Any],
    access_token: str,
    services: IssuerServices,
    signer: Signer,
    now: float,
) -> str | None:
    """Core §3.1.3.3: an ID token when `openid` was granted to a user who signed in (the
    password and client credentials grants have no sign-in to speak of: none)."""
    authentication = granted.authentication
    if "openid" not in granted.scopes or authentication is None:
        return None
    claims = id_token_claims(
        issuer=services.settings.url,
        subject=access_claims["sub"],
        client_id=access_claims["client_id"],
        authentication=authentication,
        access_token=access_token,
        algorithm=signer.algorithm,
        ttl=services.settings.id_token_ttl,
        now=now,
    )
    return sign_id_token(claims, signer)
