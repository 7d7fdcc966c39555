"""RFC 6749 §5.2 errors, raised by the token endpoint and turned into responses in one place.

OAuthError
├── InvalidRequest        400  missing, repeated or malformed parameter
├── InvalidClient         400  unknown client, or a client authentication we do not offer
├── InvalidGrant          400  bad credentials
├── UnsupportedGrantType  400
├── InvalidScope          400
├── UnsupportedResponseType 400  (GET /authorize: no such flow here)
└── TemporarilyUnavailable 503  no signing key loaded yet, or the user store failing
"""

from typing import ClassVar

from fastapi import Request
from fastapi.responses import JSONResponse

# RFC 6749 §5.1: token responses, and so error responses, must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 400

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status_code = 503


async def oauth_error_response(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)
    headers = dict(NO_STORE)
    if exc.status_code == 503:
        headers["Retry-After"] = "5"
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description},
        status_code=exc.status_code,
        headers=headers,
    )
