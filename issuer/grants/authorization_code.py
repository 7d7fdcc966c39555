"""RFC 6749 §4.1.3 with RFC 7636 §4.5: exchanging an authorization code, with its PKCE
verifier, for an access token (and a refresh token for clients registered for one)."""

import re

import anyio.to_thread

from issuer.errors import InvalidGrant, InvalidRequest
from issuer.grants import Granted, GrantRequest

# RFC 7636 §4.1: 43 to 128 of the unreserved characters.
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


async def authorization_code_grant(request: GrantRequest) -> Granted:
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
            now=services.clock(),
        )
    )
    user = await anyio.to_thread.run_sync(services.users.get, redeemed.user_id)
    if user is None:
        raise InvalidGrant("the authorization code is invalid, expired or already used")
    # What was consented to at sign-in, within what the user and the issuer allow today.
    scopes = redeemed.scopes & user.scopes & frozenset(services.settings.scopes)
    refresh = None
    if "refresh_token" in request.client.grants:
        refresh = await anyio.to_thread.run_sync(
            services.refresh_tokens.issue,
            user.id,
            request.client.client_id,
            scopes,
            services.clock(),
        )
    return Granted(user.id, user.username, scopes, refresh, code_hash=redeemed.code_hash)
