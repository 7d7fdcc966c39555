"""The HTTP edge of the error tree (issuer/errors.py): an OAuthError becomes its RFC 6749 §5.2
JSON response here, for every endpoint (issuer/app.py registers the handler); the routes of
the OAuth endpoints that answer JSON (`OAuthRoute`) answer a failing database as
temporarily_unavailable.

The sign-in pages (/authorize, /logout) answer in HTML and use neither: their own refusals are
pages (issuer/api/sign_in_pages.py).
"""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from issuer.errors import NO_STORE, OAuthError, retry_after_header, safe_description
from issuer.store.failures import unavailable_when_the_database_fails


async def oauth_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)
    headers = dict(NO_STORE)
    if exc.basic_challenge:
        # RFC 6749 §5.2: 401 with the scheme the client used.
        # The configured issuer URL, never the request's Host header (the client's words).
        realm = request.app.state.services.settings.url
        headers["WWW-Authenticate"] = f'Basic realm="{realm}", charset="UTF-8"'
    if exc.status_code in (429, 503):
        headers["Retry-After"] = retry_after_header(exc.retry_after)
    return JSONResponse(
        {"error": exc.error, "error_description": safe_description(exc.description)},
        status_code=exc.status_code,
        headers=headers,
    )


class OAuthRoute(APIRoute):
    """A route of an OAuth endpoint that answers JSON (/revoke, /introspect): a database failure
    anywhere in the request is 503 temporarily_unavailable with Retry-After, never a 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_or_unavailable(request: Request) -> Response:
            with unavailable_when_the_database_fails():
                return await handle(request)

        return handle_or_unavailable
