"""RFC 6749 §5.2 errors, raised by domain code and the endpoints, turned into responses in one
place at the HTTP edge (issuer/api/errors.py). Nothing here imports a web framework.

OAuthError
├── InvalidRequest          400  missing, repeated or malformed parameter
├── InvalidClient           401  client authentication failed (a Basic challenge when Basic was
│                                used, RFC 6749 §5.2)
├── UnauthorizedClient      400  the client may not use this grant
├── InvalidGrant            400  bad credentials
├── UnsupportedGrantType    400
├── InvalidScope            400
├── UnsupportedResponseType 400  (GET /authorize: no such flow here)
├── TooManyAttempts         429  brute-force throttling: too many failed logins (Retry-After)
└── TemporarilyUnavailable  503  no signing key loaded, keys stale, the user store failing, or
                                 the password-check queue full (Retry-After)

Descriptions are fixed sentences written here, never request input (a parameter name, a scope):
echoing input invites injection into clients' logs and pages, and RFC 6749 §5.2 restricts the
characters anyway. The response edge enforces that character set as a last line of defence.
"""

import math
import re
from typing import ClassVar

# RFC 6749 §5.1: token responses, and so error responses, must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E )
_OUTSIDE_DESCRIPTION_CHARSET = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
DEFAULT_RETRY_AFTER = 5


class OAuthError(Exception):
    error: ClassVar[str] = "server_error"
    status_code: ClassVar[int] = 400

    def __init__(
        self,
        description: str,
        *,
        retry_after: float | None = None,
        basic_challenge: bool = False,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.retry_after = retry_after
        self.basic_challenge = basic_challenge


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status_code = 401


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class InvalidTarget(OAuthError):
    # RFC 8707 §2: the resource is unknown, or not one this client may get a token for.
    error = "invalid_target"


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class TooManyAttempts(OAuthError):
    # RFC 6749 defines no code for throttling; temporarily_unavailable (§4.1.2.1) says "try
    # later" without saying whether the password was right, and 429 + Retry-After says when.
    error = "temporarily_unavailable"
    status_code = 429


class TemporarilyUnavailable(OAuthError):
    error = "temporarily_unavailable"
    status_code = 503


def safe_description(description: str) -> str:
    return _OUTSIDE_DESCRIPTION_CHARSET.sub("?", description)


def retry_after_header(seconds: float | None) -> str:
    """Whole seconds, at least 1 (RFC 9110 §10.2.3 delay-seconds)."""
    return str(max(1, math.ceil(DEFAULT_RETRY_AFTER if seconds is None else seconds)))
