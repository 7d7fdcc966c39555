"""The HTTP edge of the error tree (issuer/errors.py): an OAuthError becomes its RFC 6749 §5.2
JSON response here, for every endpoint (issuer/app.py registers the handler); the routes of
the OAuth endpoints that answer JSON (`OAuthRoute`) answer a failing database as
temporarily_unavailable.

The sign-in pages (/authorize, /logout) answer in HTML: their own refusals are pages
(issuer/api/sign_in_pages.py), and their routes (`SignInPageRoute`) answer a failing database
with a 503 page.
"""

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from issuer.api.sign_in_pages import page
from issuer.errors import (
    NO_STORE,
    OAuthError,
    TemporarilyUnavailable,
    retry_after_header,
    safe_description,
)
from issuer.store.failures import unavailable_when_the_database_fails

logger = logging.getLogger("issuer")


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
            with unavailable_when_the_database_fails(
                log=logger, message=f"the database failed during {request.url.path}"
            ):
                return await handle(request)

        return handle_or_unavailable


class SignInPageRoute(APIRoute):
    """A route of the browser sign-in (/authorize, /logout): a database failure anywhere in the
    request is a 503 page with Retry-After that says to try again, never a 500 (nor the
    failure's text)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_or_unavailable(request: Request) -> Response:
            try:
                with unavailable_when_the_database_fails(
                    log=logger, message="the database failed during a sign-in page"
                ):
                    return await handle(request)
            except TemporarilyUnavailable as unavailable:
                answer = page(
                    "message.html",
                    503,
                    title="Cannot sign in",
                    message="Sign-in is unavailable. Please try again in a moment.",
                    error=True,
                )
                answer.headers["Retry-After"] = retry_after_header(unavailable.retry_after)
                return answer

        return handle_or_unavailable
