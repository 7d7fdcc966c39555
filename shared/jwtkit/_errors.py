"""Why a request is refused, each error carrying its RFC 6750 §3 status and challenge.

    VerifierError
    ├── BearerError                  answered with a WWW-Authenticate: Bearer challenge
    │   ├── MissingCredentials  401  no token at all: a challenge with no error code (§3.1)
    │   ├── InvalidRequest      400  malformed Authorization header, token in the query string
    │   ├── InvalidToken        401  anything wrong with the token itself
    │   └── InsufficientScope   403  a valid token without the scope the endpoint needs
    └── KeysUnavailable         503  no usable issuer keys yet (cold start while it is down)
        └── RevocationUnavailable    the issuer cannot say whether a token is revoked

Descriptions are fixed strings chosen by this library, never echoes of the input, so they
stay within the characters RFC 6750 §3 allows in `error_description`.
"""

from typing import ClassVar


class VerifierError(Exception):
    status_code: ClassVar[int]

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class BearerError(VerifierError):
    error: ClassVar[str | None] = None

    def challenge(self, realm: str) -> str:
        parts = [f'realm="{realm}"']
        if self.error is not None:
            parts += [f'error="{self.error}"', f'error_description="{self.description}"']
        return "Bearer " + ", ".join(parts)


class MissingCredentials(BearerError):
    status_code = 401


class InvalidRequest(BearerError):
    status_code = 400
    error = "invalid_request"


class InvalidToken(BearerError):
    """`rule` names the check that failed, from a fixed set (for metrics and the inspector)."""

    status_code = 401
    error = "invalid_token"

    def __init__(self, description: str, rule: str = "malformed") -> None:
        super().__init__(description)
        self.rule = rule


class InsufficientScope(BearerError):
    status_code = 403
    error = "insufficient_scope"

    def __init__(self, required: frozenset[str]) -> None:
        super().__init__("the token lacks a scope this resource requires")
        self.required = required

    def challenge(self, realm: str) -> str:
        return super().challenge(realm) + f', scope="{" ".join(sorted(self.required))}"'


class KeysUnavailable(VerifierError):
    """The issuer's keys have never loaded, or are older than the maximum stale age."""

    status_code = 503
    retry_after = 5


class RevocationUnavailable(KeysUnavailable):
    """An endpoint that checks revocation could not ask the issuer: it fails closed (503)."""
