"""Published metadata: the JWKS (RFC 7517), RFC 8414 and OpenID discovery documents."""

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from issuer.api.dependencies import Services
from issuer.clients.authentication import ASSERTION_ALGORITHMS, AUTH_METHODS
from issuer.config import IssuerSettings
from issuer.grants.registry import enabled_grants

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


def authorization_server_metadata(settings: IssuerSettings) -> dict[str, Any]:
    """RFC 8414 §2 metadata, plus the members OpenID Connect Discovery 1.0 §3 requires."""
    base = settings.url
    return {
        "issuer": base,
        "token_endpoint": f"{base}/token",
        "revocation_endpoint": f"{base}/revoke",
        "introspection_endpoint": f"{base}/introspect",
        "revocation_endpoint_auth_methods_supported": sorted(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": sorted(AUTH_METHODS - {"none"}),
        "jwks_uri": f"{base}/.well-known/jwks.json",
        # The authorization code grant with PKCE (S256 only): issuer/api/authorize.py.
        "authorization_endpoint": f"{base}/authorize",
        "grant_types_supported": sorted(enabled_grants(settings)),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,  # RFC 9207
        "token_endpoint_auth_methods_supported": sorted(AUTH_METHODS),
        # RFC 8414 §2: the algorithms accepted for private_key_jwt assertions.
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "scopes_supported": sorted(settings.scopes),
        "subject_types_supported": ["public"],
        # No id_token_signing_alg_values_supported: no ID tokens are issued, so none are
        # advertised. RFC 8414 defines no member for the access tokens' algorithm: clients
        # read it from each key's `alg` in the JWKS.
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "jti",
            "client_id",
            "scope",
            "preferred_username",
        ],
    }


@router.get("/.well-known/oauth-authorization-server", summary="RFC 8414 metadata")
async def oauth_metadata(services: Services) -> JSONResponse:
    return JSONResponse(authorization_server_metadata(services.settings))


@router.get("/.well-known/openid-configuration", summary="OpenID discovery")
async def openid_configuration(services: Services) -> JSONResponse:
    return JSONResponse(authorization_server_metadata(services.settings))
