"""GET /authorize and its login page: the authorization code grant with PKCE
(RFC 6749 §4.1, RFC 7636; RFC 9700 §2.1.1: S256 required).

- The grant's rules are issuer/grants/authorization_code.py's (the request's checks, the
  code); this module is their HTTP side: an untrusted client or redirect URI gets an error
  page, every other error goes back to the client.
- A query string over 8 KiB is refused (414) before it is parsed (issuer/api/query_limit.py).
- The login page is a plain form, no script, its CSRF token bound to the visit
  (issuer/api/sign_in_pages.py). It signs in through the same pipeline as /token, throttling
  included, and gives the same answer for an unknown user and a wrong password.
- A sign-in cookie lets another app sign in without the password for ISSUER_SESSION_TTL,
  while the user's credentials stay those it started under (issuer/sessions/sign_in_sessions.py);
  /logout ends it.
"""

from collections.abc import Mapping

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from issuer.accounts.users import User
from issuer.api.dependencies import Services
from issuer.api.documented import html_pages
from issuer.api.errors import SignInPageRoute
from issuer.api.form import read_form
from issuer.api.sign_in_pages import (
    CSS,
    Cookies,
    csrf_form,
    csrf_valid,
    error_page,
    page,
    redirect,
    refusal,
)
from issuer.errors import InvalidGrant, OAuthError, TemporarilyUnavailable
from issuer.grants.authorization_code import (
    REQUEST_FIELDS,
    AuthorizationRequest,
    Refused,
    Untrusted,
    issue_code,
    validate_authorization_request,
)
from issuer.services import IssuerServices
from issuer.sign_in.client_address import client_address

router = APIRouter(route_class=SignInPageRoute)

LOGIN_FAILED = "Invalid username or password."
_LOGIN_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        name: {"type": "string"}
                        for name in (*REQUEST_FIELDS, "username", "password", "csrf_token")
                    },
                }
            }
        },
    }
}


async def _validated(
    params: Mapping[str, list[str]], services: IssuerServices
) -> AuthorizationRequest | Response:
    """The checked request, or the answer that refuses it."""
    try:
        return await validate_authorization_request(params, services)
    except Untrusted as error:
        return error_page(error)
    except Refused as refused:
        return refusal(refused, services.settings.url)


async def _login_page(
    request: AuthorizationRequest,
    services: IssuerServices,
    *,
    error: str | None = None,
    username: str | None = None,
    status_code: int = 200,
    retry_after: float | None = None,
) -> HTMLResponse:
    visit, token = await csrf_form(services, "login")
    answer = page(
        "login.html",
        status_code,
        client_id=request.client.client_id,
        scopes=sorted(request.requested or ()),
        request_fields=request.fields,
        csrf_token=token,
        error=error,
        # Core §3.1.2.1: login_hint pre-fills the username (autoescaped, as every value is).
        username=(request.openid.login_hint or "") if username is None else username,
    )
    if retry_after is not None:
        answer.headers["Retry-After"] = str(max(1, round(retry_after)))
    Cookies.of(services).set_csrf(answer, visit)
    return answer


async def _login_failed(
    request: AuthorizationRequest, services: IssuerServices, username: str
) -> HTMLResponse:
    """One answer for an unknown user and a wrong password."""
    return await _login_page(
        request, services, error=LOGIN_FAILED, username=username, status_code=400
    )


async def _code_response(
    request: AuthorizationRequest, user: User, services: IssuerServices, now: float
) -> RedirectResponse:
    """Back to the client with a code, or with invalid_scope."""
    try:
        code = await issue_code(request, user, services, now)
    except Refused as refused:
        return refusal(refused, services.settings.url)
    return redirect(request.redirect_uri, request.state, services.settings.url, code=code)


@router.get(
    "/authorize",
    summary="Authorization endpoint (RFC 6749 §4.1, PKCE S256)",
    response_class=HTMLResponse,
    responses=html_pages(
        {
            200: "The login page",
            303: "Back to the client's redirect URI, with a code or an error, state and iss",
            400: "An error page: unknown client or redirect URI (never redirected)",
            414: "An error page: the query string is over 8 KiB",
        }
    ),
)
async def authorize(request: Request, services: Services) -> Response:
    now = services.clock()
    checked = await _validated(_params(request.query_params.multi_items()), services)
    if isinstance(checked, Response):
        return checked
    user = await anyio.to_thread.run_sync(
        services.sign_in_sessions.user, request.cookies.get(Cookies.of(services).session), now
    )
    if user is not None:
        return await _code_response(checked, user, services, now)
    return await _login_page(checked, services)


@router.post(
    "/authorize",
    summary="The login form's submission",
    response_class=HTMLResponse,
    openapi_extra=_LOGIN_FORM,
    responses=html_pages(
        {
            200: "The login page again",
            303: "Signed in: back to the client's redirect URI with a code",
            400: "Wrong credentials, an expired form, or an untrusted request",
            429: "Throttled: too many failed attempts (Retry-After)",
            503: "Password checks busy (Retry-After)",
        }
    ),
)
async def sign_in(request: Request, services: Services) -> Response:
    try:
        form = await read_form(request)
    except OAuthError:
        return error_page(Untrusted("The sign-in form could not be read."))
    checked = await _validated({name: [value] for name, value in form.items()}, services)
    if isinstance(checked, Response):
        return checked
    if not await csrf_valid(request, services, form, "login"):
        expired = "The form expired. Please sign in again."
        return await _login_page(checked, services, error=expired, status_code=400)
    username, password = form.get("username", ""), form.get("password", "")
    address = client_address(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        services.settings.trusted_proxy_networks,
    )
    try:
        # The user, with the credential generation read before the password check.
        user = await services.login.authenticate(username, password, address, services.clock())
    except InvalidGrant:
        return await _login_failed(checked, services, username)
    except TemporarilyUnavailable as busy:  # the hash queue is full, or the store is down
        return await _login_page(
            checked,
            services,
            error="Sign-in is busy. Please try again in a moment.",
            status_code=503,
            retry_after=busy.retry_after or 5,
            username=username,
        )
    except OAuthError as refused:  # TooManyAttempts: throttled, exactly as /token is
        return await _login_page(
            checked,
            services,
            error="Too many failed attempts. Please try again later.",
            status_code=refused.status_code,
            retry_after=refused.retry_after,
            username=username,
        )
    # Read again: the sign-in and its code start now, after a check that may have queued.
    now = services.clock()
    value = await anyio.to_thread.run_sync(services.sign_in_sessions.start, user, now)
    if value is None:  # the password changed while it was being checked
        return await _login_failed(checked, services, username)
    response = await _code_response(checked, user, services, now)
    cookies = Cookies.of(services)
    cookies.set_session(response, value, services.settings.session_ttl)
    cookies.end_csrf(response)
    return response


@router.api_route(
    "/authorize", methods=["PUT", "DELETE", "PATCH", "OPTIONS"], include_in_schema=False
)
async def authorize_other_methods() -> Response:
    # Starlette's own 405 would name only the first route's method: GET and POST both serve.
    return Response(status_code=405, headers={"Allow": "GET, POST"})


@router.get("/authorize/page.css", include_in_schema=False)
async def page_css() -> Response:
    return Response(CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


def _params(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for name, value in items:
        params.setdefault(name, []).append(value)
    return params
