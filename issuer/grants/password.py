"""RFC 6749 §4.3: the resource owner password credentials grant. RFC 9700 §2.4 says it "MUST
NOT be used": it runs only with ISSUER_PASSWORD_GRANT on (the demo's curl)."""

import anyio.to_thread

from issuer.config import IssuerSettings
from issuer.errors import InvalidRequest
from issuer.grants import Granted, TokenGrant
from issuer.grants.scopes import granted_scopes, requested_scopes, within_client


class PasswordGrant(TokenGrant):
    grant_type = "password"

    @staticmethod
    def enabled(settings: IssuerSettings) -> bool:
        return settings.password_grant

    async def validate(self) -> Granted:
        request = self.request
        form, settings = request.form, request.services.settings
        username, password = form.get("username"), form.get("password")
        if username is None or password is None:
            raise InvalidRequest("username and password are required")
        known = frozenset(settings.scopes)
        requested = requested_scopes(form.get("scope"), known)
        user = await request.services.login.authenticate(
            username, password, request.address, request.now
        )
        scopes = granted_scopes(user, requested, known, frozenset(settings.default_scopes))
        scopes = within_client(scopes, request.client)
        refresh = None
        if "refresh_token" in request.client.grants:
            refresh = await anyio.to_thread.run_sync(
                lambda: request.services.refresh_tokens.issue(
                    user.id,
                    request.client.client_id,
                    scopes,
                    request.now,
                    resource=form.get("resource"),  # its refreshes keep it (RFC 8707)
                )
            )
        return Granted(user.id, user.username, scopes, refresh)
