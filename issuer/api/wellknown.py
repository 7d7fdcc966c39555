"""Published metadata: the JWKS (RFC 7517), RFC 8414 and OpenID discovery documents."""

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from issuer.accounts.claims import CLAIMS_SUPPORTED
from issuer.api.dependencies import Services
from issuer.clients.authentication import ASSERTION_ALGORITHMS, AUTH_METHODS
from issuer.grants.openid_parameters import PROMPT_VALUES
from issuer.grants.registry import enabled_grants
from issuer.keys import schedule as sched
from issuer.keys.keyring import KeyRing
from issuer.services import IssuerServices

router = APIRouter()


def _etag_matches(if_none_match: str, etag: str) -> bool:
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


@router.get("/.well-known/jwks.json", summary="Public signing keys (JWKS)")
async def jwks(request: Request, services: Services) -> Response:
    document = services.keyring.jwks
    headers = {
        "Cache-Control": f"public, max-age={services.settings.jwks_max_age}",
        "ETag": document.etag,
    }
    if _etag_matches(request.headers.get("if-none-match", ""), document.etag):
        return Response(status_code=304, headers=headers)
    return Response(document.body, media_type="application/json", headers=headers)


# The claims every ID token carries (issuer/tokens/id_tokens.py; nonce when sent): with the
# claims the UserInfo endpoint can release, what Discovery 1.0 §3 `claims_supported` lists.
ID_TOKEN_CLAIMS = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid", "at_hash")
# Always known to the issuer, whatever ISSUER_SCOPES lists (Discovery 1.0 §3: "The server MUST
# support the openid scope value").
IDENTITY_SCOPES = ("openid", "profile", "email")


def signing_algorithms(keyring: KeyRing, now: float) -> list[str]:
    """The algorithms of the keys in the published JWKS, the active key's first: during a
    change of ISSUER_SIGNING_ALG both are published, and tokens of both are in use. Without
    an RS256 key RS256 is not listed, though Core §15.1 makes it mandatory: advertising an
    algorithm never used would be the lie this member exists to prevent."""
    published = [str(jwk["alg"]) for jwk in json.loads(keyring.jwks.body)["keys"]]
    active = sched.active_key(keyring.keys, now)
    first = [active.algorithm] if active is not None and active.algorithm in published else []
    return list(dict.fromkeys([*first, *published]))


def authorization_server_metadata(services: IssuerServices, now: float) -> dict[str, Any]:
    """RFC 8414 §2 metadata and OpenID Connect Discovery 1.0 §3 metadata in one document, so
    that the two agree wherever both define a member (RFC 8414 §2's members are a subset)."""
    settings = services.settings
    base = settings.url
    return {
        # Discovery 1.0 §4.3: identical to the prefix of the discovery URL and to every iss.
        "issuer": base,
        "token_endpoint": f"{base}/token",
        "revocation_endpoint": f"{base}/revoke",
        "introspection_endpoint": f"{base}/introspect",
        "revocation_endpoint_auth_methods_supported": sorted(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": sorted(AUTH_METHODS - {"none"}),
        "jwks_uri": f"{base}/.well-known/jwks.json",
        # The authorization code grant with PKCE (S256 only): issuer/api/authorize.py.
        "authorization_endpoint": f"{base}/authorize",
        "userinfo_endpoint": f"{base}/userinfo",
        # OpenID Connect RP-Initiated Logout 1.0 §2.1.
        "end_session_endpoint": f"{base}/logout",
        # OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens carry sid.
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        # Never implicit nor hybrid: no grant of those is enabled, and none is advertised.
        "grant_types_supported": sorted(enabled_grants(settings)),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,  # RFC 9207
        "token_endpoint_auth_methods_supported": sorted(AUTH_METHODS),
        # RFC 8414 §2: the algorithms accepted for private_key_jwt assertions.
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "scopes_supported": sorted({*settings.scopes, *IDENTITY_SCOPES}),
        "subject_types_supported": ["public"],
        # Discovery 1.0 §3 REQUIRED. RFC 8414 defines no member for the access tokens'
        # algorithm: they are signed by the same keys, and clients read each key's `alg`.
        "id_token_signing_alg_values_supported": signing_algorithms(services.keyring, now),
        "claims_supported": list(dict.fromkeys([*ID_TOKEN_CLAIMS, *CLAIMS_SUPPORTED])),
        "prompt_values_supported": list(PROMPT_VALUES),
        # Discovery 1.0 §3's defaults would claim what is not done: request_uri defaults to
        # true. Request objects and the claims parameter are not supported.
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claims_parameter_supported": False,
    }


@router.get("/.well-known/oauth-authorization-server", summary="RFC 8414 metadata")
async def oauth_metadata(services: Services) -> JSONResponse:
    return JSONResponse(authorization_server_metadata(services, services.clock()))


@router.get("/.well-known/openid-configuration", summary="OpenID discovery")
async def openid_configuration(services: Services) -> JSONResponse:
    return JSONResponse(authorization_server_metadata(services, services.clock()))
