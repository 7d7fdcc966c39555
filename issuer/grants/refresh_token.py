"""RFC 6749 §6: refreshing an access token, with rotation (issuer/sessions/refresh_tokens.py)."""

import anyio.to_thread

from issuer.config import EVERY_USER_SCOPES
from issuer.errors import InvalidGrant, InvalidRequest
from issuer.grants import Authentication, Granted, TokenGrant
from issuer.grants.scopes import requested_scopes


class RefreshTokenGrant(TokenGrant):
    grant_type = "refresh_token"

    async def validate(self) -> Granted:
        request, services = self.request, self.request.services
        token = request.form.get("refresh_token")
        if token is None:
            raise InvalidRequest("refresh_token is required")
        known = frozenset(services.settings.scopes)
        requested = requested_scopes(request.form.get("scope"), known)
        refreshed = await anyio.to_thread.run_sync(
            lambda: services.refresh_tokens.rotate(
                token,
                request.client.client_id,
                requested,
                request.now,
                resource=request.form.get("resource"),
            )
        )
        user = await anyio.to_thread.run_sync(services.users.get, refreshed.user_id)
        if user is None:
            # The user was removed: their sessions end with them.
            raise InvalidGrant("the refresh token is invalid")
        # Never more than the user and the issuer allow today, whatever was granted at login.
        scopes = refreshed.scopes & (user.scopes | EVERY_USER_SCOPES) & known
        # Core §12.2: the refreshed ID token keeps the sign-in's auth_time (and sid), no nonce.
        authentication = None
        if refreshed.auth_time is not None and refreshed.sid is not None:
            authentication = Authentication(refreshed.auth_time, refreshed.sid)
        return Granted(
            user.id,
            user.username,
            scopes,
            refreshed.refresh_token,
            authentication,
            resource=refreshed.resource,
        )
