"""POST /revoke (RFC 7009) and POST /introspect (RFC 7662).

Both authenticate the client as /token does. Revocation answers 200 whatever the token was
(§2.2: an invalid token is no error). Introspection is for confidential clients registered for
it (`clients add … --grant introspection`): a resource server's own client. A failing database
is 503 temporarily_unavailable on both (their routes are `OAuthRoute`s).
"""

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from issuer.api.dependencies import Services
from issuer.api.documented import oauth_errors
from issuer.api.errors import OAuthRoute
from issuer.api.form import FORM_CONTENT_TYPE, read_form
from issuer.clients.authentication import presented_credentials
from issuer.clients.registry import INTROSPECTION, Client
from issuer.errors import (
    NO_STORE,
    InvalidClient,
    InvalidRequest,
    UnauthorizedClient,
)
from issuer.services import IssuerServices

router = APIRouter(route_class=OAuthRoute)

_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            FORM_CONTENT_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["token"],
                    "properties": {
                        "token": {"type": "string", "minLength": 1},
                        # access_token or refresh_token; RFC 7009 §2.1: a hint the server
                        # does not know is ignored, never refused.
                        "token_type_hint": {"type": "string", "example": "access_token"},
                    },
                }
            }
        },
    }
}


async def _client_and_token(request: Request, services: IssuerServices) -> tuple[Client, str]:
    form = await read_form(request)
    presented = presented_credentials(request.headers.get("authorization"), form)
    client = await anyio.to_thread.run_sync(
        services.client_auth.authenticate, presented, services.clock()
    )
    token = form.get("token")
    if token is None:
        raise InvalidRequest("token is required")
    # token_type_hint is only a hint (RFC 7009 §2.1): every kind is looked for anyway.
    return client, token


@router.post(
    "/revoke",
    openapi_extra=_FORM,
    summary="Token revocation (RFC 7009)",
    response_class=Response,
    responses={
        200: {"description": "Revoked, or nothing to revoke (RFC 7009 §2.2)"},
        **oauth_errors(400, 401, 503),
    },
)
async def revoke(request: Request, services: Services) -> Response:
    client, token = await _client_and_token(request, services)
    await anyio.to_thread.run_sync(
        services.token_status.revoke, token, client.client_id, services.clock()
    )
    return Response(status_code=200, headers=NO_STORE)


@router.post(
    "/introspect",
    openapi_extra=_FORM,
    summary="Token introspection (RFC 7662)",
    responses={
        200: {"description": "The token's state: `active`, and its claims when active"},
        **oauth_errors(400, 401, 503),
    },
)
async def introspect(request: Request, services: Services) -> JSONResponse:
    client, token = await _client_and_token(request, services)
    if client.public:
        # RFC 7662 §2.1: the endpoint requires the caller to authenticate.
        raise InvalidClient("introspection needs client authentication", basic_challenge=True)
    if INTROSPECTION not in client.grants:
        raise UnauthorizedClient("this client is not registered for introspection")
    answer: dict[str, Any] = await anyio.to_thread.run_sync(
        services.token_status.introspect, token, services.clock()
    )
    return JSONResponse(answer, headers=NO_STORE)
