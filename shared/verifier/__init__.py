"""Verify RFC 9068 access tokens from one issuer or several, each JWKS fetched and cached over
HTTP.

The public names: `AccessTokenVerifier`, `TrustedIssuer`, `JwksCache`, `JwksPolicy`,
`Principal`, and for FastAPI `BearerAuth` (HTTP and WebSocket routes),
`add_bearer_error_handlers` and `offered_subprotocol`.
"""

from shared.verifier.errors import (
    BearerError,
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    KeysUnavailable,
    MissingCredentials,
    VerifierError,
)
from shared.verifier.fastapi import BearerAuth, add_bearer_error_handlers
from shared.verifier.jwks_cache import JwksCache, JwksPolicy
from shared.verifier.principal import Principal
from shared.verifier.revocation import RevocationCheck
from shared.verifier.token_cache import VerifiedTokenCache
from shared.verifier.trusted_issuer import TrustedIssuer
from shared.verifier.verifier import AccessTokenVerifier
from shared.verifier.websocket import offered_subprotocol

__all__ = [
    "AccessTokenVerifier",
    "BearerAuth",
    "BearerError",
    "InsufficientScope",
    "InvalidRequest",
    "InvalidToken",
    "JwksCache",
    "JwksPolicy",
    "KeysUnavailable",
    "MissingCredentials",
    "Principal",
    "RevocationCheck",
    "TrustedIssuer",
    "VerifiedTokenCache",
    "VerifierError",
    "add_bearer_error_handlers",
    "offered_subprotocol",
]
