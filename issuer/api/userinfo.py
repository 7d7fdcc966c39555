"""GET and POST /userinfo: OpenID Connect Core 1.0 §5.3, a protected resource (RFC 6750).

§5.3: "The UserInfo Endpoint MUST accept Access Tokens as OAuth 2.0 Bearer Token Usage" and
"MUST support the use of the HTTP GET and HTTP POST methods". The token comes in the
Authorization header (RFC 6750 §2.1) or, on a POST, as the form body's `access_token` (§2.2);
never in the query string (§2.3 lets a server refuse it: it leaks into logs and history), and
only one way at a time. The token must be one of this issuer's own access tokens, active
(`TokenStatus.active_access_claims`: unexpired, not revoked, its user present), for any
audience, as introspection answers for any audience, with `openid` in its scope. The answer
is the claims its scopes release (issuer/accounts/claims.py), `sub` always.

Refusals are jwtkit's RFC 6750 §3 errors, answered by the handler the app registers for them
(`add_bearer_error_handlers`): the same challenges a resource server built on jwtkit gives.
"""

import re
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from issuer.accounts.claims import released
from issuer.api.dependencies import Services
from issuer.api.documented import oauth_errors
from issuer.api.errors import OAuthRoute
from issuer.api.form import FORM_CONTENT_TYPE, read_form
from issuer.errors import NO_STORE, OAuthError
from issuer.services import IssuerServices
from jwtkit import InsufficientScope, InvalidRequest, InvalidToken, MissingCredentials

router = APIRouter(route_class=OAuthRoute)

OPENID = frozenset({"openid"})
# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")

_ERROR_BODY = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {
                "error": {"type": "string", "example": "invalid_token"},
                "error_description": {"type": "string"},
            },
        }
    }
}
_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The user's claims that the token's scopes release; `sub` always",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["sub"],
                    "properties": {"sub": {"type": "string"}},
                    "additionalProperties": True,
                }
            }
        },
    },
    400: {
        "description": "The token sent twice, in the query string, or malformed (RFC 6750 §3.1)",
        "content": _ERROR_BODY,
    },
    401: {
        "description": "No token (a challenge without an error code), or a token refused",
        "content": _ERROR_BODY,
    },
    403: {"description": "A valid token without the openid scope", "content": _ERROR_BODY},
    **oauth_errors(503),
}
_FORM_BODY = {
    "requestBody": {
        "required": False,  # the token may come in the Authorization header instead
        "content": {
            FORM_CONTENT_TYPE: {
                "schema": {
                    "type": "object",
                    "properties": {"access_token": {"type": "string", "minLength": 1}},
                }
            }
        },
    }
}


def _header_token(request: Request) -> str | None:
    """The bearer token of the Authorization header (RFC 6750 §2.1), or None without one."""
    values = request.headers.getlist("authorization")
    if len(values) > 1:
        raise InvalidRequest("send one Authorization header")
    if not values:
        return None
    scheme, _, token = values[0].strip().partition(" ")
    if scheme.lower() != "bearer":
        return None  # other credentials are not bearer credentials: as if none were sent
    token = token.strip()
    if not _B64TOKEN.match(token):
        raise InvalidRequest("the Authorization header is not a well-formed bearer token")
    return token


async def _body_token(request: Request) -> str | None:
    """RFC 6750 §2.2: the `access_token` of a form-encoded POST body, or None. A POST in
    another content type carries its token in the header, if anywhere."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method != "POST" or content_type != FORM_CONTENT_TYPE:
        return None
    try:
        form = await read_form(request)
    except OAuthError:
        raise InvalidRequest("the request body is not a valid form") from None
    return form.get("access_token")


async def presented_token(request: Request) -> str:
    """The one access token the request presents, the way RFC 6750 §2 allows."""
    if "access_token" in request.query_params:
        raise InvalidRequest("send the token in the Authorization header, not the query string")
    from_header = _header_token(request)
    from_body = await _body_token(request)
    if from_header is not None and from_body is not None:
        # RFC 6750 §3.1 invalid_request: "uses more than one method for including an access
        # token".
        raise InvalidRequest("send the token one way: the header or the form body")
    token = from_header if from_header is not None else from_body
    if token is None:
        # RFC 6750 §3.1: a request without credentials gets a challenge with no error code.
        raise MissingCredentials("no credentials")
    return token


def user_info(services: IssuerServices, token: str, now: float) -> dict[str, object]:
    """The claims `token` releases (blocking: a revocation and a user lookup)."""
    claims = services.token_status.active_access_claims(token, now)
    if claims is None:
        raise InvalidToken("the access token is invalid, expired or revoked")
    scopes = str(claims.get("scope", "")).split()
    if not OPENID <= set(scopes):
        # Core §5.3: the token was obtained in an OpenID Connect Authentication Request.
        raise InsufficientScope(OPENID)
    # Only user tokens carry preferred_username (a client_credentials token speaks for none).
    user = services.users.get(str(claims["sub"])) if "preferred_username" in claims else None
    if user is None:
        raise InvalidToken("the access token speaks for no user")
    return released(user, scopes)


async def _answer(request: Request, services: IssuerServices) -> JSONResponse:
    token = await presented_token(request)
    body = await anyio.to_thread.run_sync(user_info, services, token, services.clock())
    return JSONResponse(body, headers=NO_STORE)


@router.get(
    "/userinfo",
    summary="The signed-in user's claims (OpenID Connect Core §5.3)",
    responses=_ANSWERS,
)
async def userinfo_get(request: Request, services: Services) -> JSONResponse:
    return await _answer(request, services)


@router.post(
    "/userinfo",
    summary="The signed-in user's claims (OpenID Connect Core §5.3), the token in the header "
    "or the form body",
    responses=_ANSWERS,
    openapi_extra=_FORM_BODY,
)
async def userinfo_post(request: Request, services: Services) -> JSONResponse:
    return await _answer(request, services)


@router.api_route(
    "/userinfo", methods=["PUT", "DELETE", "PATCH", "OPTIONS"], include_in_schema=False
)
async def userinfo_other_methods() -> Response:
    # Starlette's own 405 would name only the first route's method: GET and POST both serve.
    return Response(status_code=405, headers={"Allow": "GET, POST"})
