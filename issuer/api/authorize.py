"""GET and POST /authorize and its login page: the authorization code grant with PKCE
(RFC 6749 §4.1, RFC 7636; RFC 9700 §2.1.1: S256 required), with OpenID Connect's
authentication request (Core §3.1.2).

- The grant's rules are issuer/grants/authorization_code.py's (the request's checks, the
  code), and whether a page comes first is issuer/grants/interaction.py's; this module is
  their HTTP side: an untrusted client or redirect URI gets an error page, every other error
  goes back to the client, and under prompt=none so does the need for a page.
- Core §3.1.2.1: the endpoint MUST take GET and POST. A POST without a `csrf_token` field is
  an authorization request, handled as a GET; with one it is the login form.
- A query string over 8 KiB is refused (414) before it is parsed (issuer/api/query_limit.py).
- The login page is a plain form, no script, its CSRF token bound to the visit
  (issuer/api/sign_in_pages.py). It signs in through the same pipeline as /token, throttling
  included, and gives the same answer for an unknown user and a wrong password. Each sign-in
  starts a new session (new sid and auth_time) that replaces the browser's old one, which ends
  as at /logout (Back-Channel Logout 1.0 tells its clients).
- A sign-in cookie lets another app sign in without the password for ISSUER_SESSION_TTL,
  while the user's credentials stay those it started under (issuer/sessions/sign_in_sessions.py);
  /logout ends it. prompt=login, max_age and an id_token_hint for another user ask for the
  password again all the same.
- A client registered with consent required gets the consent page (issuer/api/consent.py).
"""

from collections.abc import Mapping

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from issuer.accounts.users import User
from issuer.api import consent
from issuer.api.dependencies import Services
from issuer.api.documented import html_pages
from issuer.api.errors import SignInPageRoute
from issuer.api.sign_in_pages import (
    CSS,
    Cookies,
    csrf_valid,
    error_page,
    login_page,
    redirect,
    refusal,
    sign_in_form,
    validated,
)
from issuer.errors import InvalidGrant, OAuthError, TemporarilyUnavailable
from issuer.grants.authorization_code import (
    REQUEST_FIELDS,
    AuthorizationRequest,
    Refused,
    Untrusted,
    code_scopes,
    issue_code,
)
from issuer.grants.interaction import interaction, sign_in_again, without_page
from issuer.services import IssuerServices
from issuer.sessions.backchannel import backchannel_logout
from issuer.sessions.sign_in_sessions import SignIn
from issuer.sign_in.client_address import client_address
from issuer.sign_in.id_token_hint import hint_subject

router = APIRouter(route_class=SignInPageRoute)
router.include_router(consent.router)

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


async def _login_failed(
    request: AuthorizationRequest, services: IssuerServices, username: str
) -> HTMLResponse:
    """One answer for an unknown user and a wrong password."""
    return await login_page(
        request, services, error=LOGIN_FAILED, username=username, status_code=400
    )


async def _answer(
    request: AuthorizationRequest,
    signed_in: SignIn | None,
    services: IssuerServices,
    now: float,
    *,
    user: User | None = None,
    just_signed_in: bool = False,
) -> Response:
    """The page the request needs first (the login page, the consent page) or the code; under
    prompt=none the error for the client instead of a page."""
    try:
        hint = None if just_signed_in else await hint_subject(request, services)
        asked: frozenset[str] = frozenset()
        consented: frozenset[str] = frozenset()
        if signed_in is not None and (
            just_signed_in or not sign_in_again(request, signed_in, now, hint)
        ):
            if user is None:
                user = await anyio.to_thread.run_sync(services.users.get, signed_in.user_id)
            if user is None:  # removed since the session was read
                signed_in = None
            else:
                asked = code_scopes(request, user, services)
                if request.client.consent_required:
                    consented = await anyio.to_thread.run_sync(
                        services.consents.given,
                        user.id,
                        request.client.client_id,
                        None if request.resource is None else request.resource.uri,
                    )
        step = interaction(
            request,
            signed_in,
            now,
            hint_subject=hint,
            asked=asked,
            consented=consented,
            just_signed_in=just_signed_in,
        )
        refused = without_page(request, step)
        if refused is not None:
            raise refused
        if step == "consent" and user is not None:
            return await consent.consent_page(request, asked, user, services)
        if step is not None or signed_in is None:
            return await login_page(request, services)
        code = await issue_code(request, signed_in, asked, services, now)
    except Refused as refused:
        return refusal(refused, services.settings.url)
    return redirect(request.redirect_uri, request.state, services.settings.url, code=code)


async def _authorization_request(
    request: Request, params: Mapping[str, list[str]], services: IssuerServices
) -> Response:
    now = services.clock()
    checked = await validated(params, services)
    if isinstance(checked, Response):
        return checked
    cookie = request.cookies.get(Cookies.of(services).session)
    signed_in = await anyio.to_thread.run_sync(services.sign_in_sessions.current, cookie, now)
    return await _answer(checked, signed_in, services, now)


@router.get(
    "/authorize",
    summary="Authorization endpoint (RFC 6749 §4.1, PKCE S256; OpenID Connect Core §3.1.2)",
    response_class=HTMLResponse,
    responses=html_pages(
        {
            200: "The login page, or the consent page",
            303: "Back to the client's redirect URI, with a code or an error, state and iss",
            400: "An error page: unknown client or redirect URI (never redirected)",
            414: "An error page: the query string is over 8 KiB",
        }
    ),
)
async def authorize(request: Request, services: Services) -> Response:
    return await _authorization_request(
        request, _params(request.query_params.multi_items()), services
    )


@router.post(
    "/authorize",
    summary="The login form's submission, or an authorization request (without csrf_token)",
    response_class=HTMLResponse,
    openapi_extra=_LOGIN_FORM,
    responses=html_pages(
        {
            200: "The login page again, or the consent page",
            303: "Back to the client's redirect URI with a code or an error",
            400: "Wrong credentials, an expired form, or an untrusted request",
            429: "Throttled: too many failed attempts (Retry-After)",
            503: "Password checks busy (Retry-After)",
        }
    ),
)
async def sign_in(request: Request, services: Services) -> Response:
    form = await sign_in_form(request)
    if form is None:
        return error_page(Untrusted("The sign-in form could not be read."))
    params = {name: [value] for name, value in form.items()}
    if "csrf_token" not in form:  # Core §3.1.2.1: an authorization request by POST
        return await _authorization_request(request, params, services)
    checked = await validated(params, services)
    if isinstance(checked, Response):
        return checked
    if not await csrf_valid(request, services, form, "login"):
        expired = "The form expired. Please sign in again."
        return await login_page(checked, services, error=expired, status_code=400)
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
        return await login_page(
            checked,
            services,
            error="Sign-in is busy. Please try again in a moment.",
            status_code=503,
            retry_after=busy.retry_after or 5,
            username=username,
        )
    except OAuthError as refused:  # TooManyAttempts: throttled, exactly as /token is
        return await login_page(
            checked,
            services,
            error="Too many failed attempts. Please try again later.",
            status_code=refused.status_code,
            retry_after=refused.retry_after,
            username=username,
        )
    return await _signed_in(request, checked, user, services)


async def _signed_in(
    request: Request, checked: AuthorizationRequest, user: User, services: IssuerServices
) -> Response:
    """A new sign-in session, replacing the browser's old one; then consent or the code."""
    # Read again: the sign-in and its code start now, after a check that may have queued.
    now = services.clock()
    sessions, cookies = services.sign_in_sessions, Cookies.of(services)
    value = await anyio.to_thread.run_sync(sessions.start, user, now)
    if value is None:  # the password changed while it was being checked
        return await _login_failed(checked, services, user.username)
    old = request.cookies.get(cookies.session)
    if old:  # one session per browser: the new sid and auth_time replace the old ones
        await anyio.to_thread.run_sync(_end_replaced, services, old, now)
    signed_in = await anyio.to_thread.run_sync(sessions.current, value, now)
    response = await _answer(checked, signed_in, services, now, user=user, just_signed_in=True)
    cookies.set_session(response, value, services.settings.session_ttl)
    if isinstance(response, RedirectResponse):  # done: a page keeps its own CSRF cookie
        cookies.end_csrf(response)
    return response


def _end_replaced(services: IssuerServices, cookie: str, now: float) -> None:
    """The browser's previous session ends as /logout ends one: its clients are told over the
    back channel (and its refresh tokens end), then the row goes (blocking: the database)."""
    replaced = services.sign_in_sessions.current(cookie, now)
    if replaced is not None:
        ending = backchannel_logout(services)
        ending.session_ending(replaced.session_id, replaced.user_id, now)
    services.sign_in_sessions.end(cookie)


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
