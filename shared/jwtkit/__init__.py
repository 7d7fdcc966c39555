"""Verify RFC 9068 access tokens from one issuer or several, each JWKS fetched and cached over
HTTP (or held in memory), and OpenID Connect ID tokens for the apps that sign users in.

The public names: `AccessTokenVerifier`, `IdTokenVerifier`, `TrustedIssuer`, `JwksCache`,
`JwksPolicy`, `KeySource`, `InMemoryJwks`, `Principal`, and for FastAPI `BearerAuth` (HTTP
and WebSocket routes), `add_bearer_error_handlers` and `offered_subprotocol`; the token
contract in `jwtkit.contract`, the testing kit in `jwtkit.testing`, the inspector in
`python -m jwtkit`.
"""

from jwtkit import contract
from jwtkit._bearer import BearerAuth, add_bearer_error_handlers
from jwtkit._clock import Clock, system_clock
from jwtkit._errors import (
    BearerError,
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    KeysUnavailable,
    MissingCredentials,
    RevocationUnavailable,
    VerifierError,
)
from jwtkit._id_token_verifier import IdTokenVerifier
from jwtkit._jwks_cache import JwksCache, JwksPolicy
from jwtkit._key_source import InMemoryJwks, KeySource
from jwtkit._observer import VerifierObserver
from jwtkit._principal import Principal
from jwtkit._revocation import RevocationCheck
from jwtkit._token_cache import VerifiedTokenCache
from jwtkit._trusted_issuer import ANY_AUDIENCE, TrustedIssuer
from jwtkit._verifier import AccessTokenVerifier
from jwtkit._websocket import Sleep, offered_subprotocol

__version__ = "0.2.0"

__all__ = [
    "ANY_AUDIENCE",
    "AccessTokenVerifier",
    "BearerAuth",
    "BearerError",
    "Clock",
    "IdTokenVerifier",
    "InMemoryJwks",
    "InsufficientScope",
    "InvalidRequest",
    "InvalidToken",
    "JwksCache",
    "JwksPolicy",
    "KeySource",
    "KeysUnavailable",
    "MissingCredentials",
    "Principal",
    "RevocationCheck",
    "RevocationUnavailable",
    "Sleep",
    "TrustedIssuer",
    "VerifiedTokenCache",
    "VerifierError",
    "VerifierObserver",
    "__version__",
    "add_bearer_error_handlers",
    "contract",
    "offered_subprotocol",
    "system_clock",
]
