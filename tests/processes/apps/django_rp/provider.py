"""The two hooks mozilla-django-oidc's documentation asks an app to write: a user's name from
the claims (the library keeps only the email), and the provider's logout URL."""

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class NamedUsers(OIDCAuthenticationBackend):  # type: ignore[misc]
    """Users created and kept up to date from the userinfo claims (the library's documented
    `create_user` and `update_user` hooks): email, as the library does, and the name."""

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = super().create_user(claims)
        return self.update_user(user, claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        user.email = claims.get("email", "")
        user.first_name = claims.get("given_name", "")
        user.last_name = claims.get("family_name", "")
        user.save()
        return user


def provider_logout(request: HttpRequest) -> str:
    """OIDC_OP_LOGOUT_URL_METHOD: where the logout view sends the browser, the provider's
    end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0). The ID token says whose
    session ends, so the provider does not ask; it then sends the browser back to
    LOGOUT_REDIRECT_URL, which the client registered as a post-logout redirect URI."""
    query = {
        "id_token_hint": request.session["oidc_id_token"],
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(settings.LOGOUT_REDIRECT_URL),
    }
    return f"{settings.PROVIDER['end_session_endpoint']}?{urlencode(query)}"
