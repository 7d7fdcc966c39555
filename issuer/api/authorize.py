"""GET /authorize, its login page, and /logout: the authorization code grant with PKCE
(RFC 6749 §4.1, RFC 7636; RFC 9700 §2.1.1: S256 required).

- A bad client or redirect URI shows an error page and never redirects (RFC 6749 §4.1.2.1):
  redirecting would hand an attacker an open redirector.
- Every other error goes back to the client's redirect URI with `error`, `state` and `iss`
  (RFC 9207).
- The login page is a plain form, no script. A double-submit cookie protects it from CSRF.
  It signs in through the same pipeline as /token, throttling included, and gives the same
  answer for an unknown user and a wrong password.
- A sign-in cookie (HttpOnly, SameSite=Lax, Secure on https) lets another app sign in
  without the password for ISSUER_SESSION_TTL; /logout ends it.
"""

import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import URL

from issuer.api.documented import html_pages
from issuer.api.form import read_form
from issuer.client_address import client_address
from issuer.clients import Client
from issuer.errors import InvalidGrant, InvalidScope, OAuthError, TemporarilyUnavailable
from issuer.redirect_uris import matches
from issuer.scopes import granted_scopes, requested_scopes, within_client
from issuer.services import IssuerServices, Services
from issuer.users import User

router = APIRouter()

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("issuer", "templates"), autoescape=True, auto_reload=False
)
_CSS = (files("issuer") / "templates" / "page.css").read_bytes()
PAGE_HEADERS = {
    # No script at all, styles only from here, never in a frame.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
SESSION_COOKIE = "issuer_session"
CSRF_COOKIE = "issuer_csrf"
REQUEST_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
# RFC 7636 §4.2: an S256 challenge is the base64url of a SHA-256: 43 characters.
_S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
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


class ErrorPage(Exception):
    """Shown to the user, never redirected: the client or its redirect URI is not trusted."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class ErrorRedirect(Exception):
    """Sent back to the client's (verified) redirect URI with its state, RFC 6749 §4.1.2.1."""

    def __init__(self, redirect_uri: str, state: str | None, error: str, description: str) -> None:
        super().__init__(description)
        self.redirect_uri, self.state = redirect_uri, state
        self.error, self.description = error, description

    def response(self, issuer: str) -> RedirectResponse:
        return _redirect(
            self.redirect_uri,
            self.state,
            issuer,
            error=self.error,
            error_description=self.description,
        )


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    state: str | None
    requested: frozenset[str] | None
    code_challenge: str
    fields: tuple[tuple[str, str], ...]  # carried through the login form


def _single(params: Mapping[str, list[str]]) -> dict[str, str]:
    values = {}
    for name in REQUEST_FIELDS:
        given = params.get(name, [])
        if len(given) > 1:
            raise ErrorPage("The sign-in request repeats a parameter.")
        if given:
            values[name] = given[0]
    return values


def validate(params: Mapping[str, list[str]], services: IssuerServices) -> AuthorizationRequest:
    values = _single(params)
    client = services.clients.get(values.get("client_id", ""))
    if client is None:
        raise ErrorPage("The application asking you to sign in is not registered here.")
    redirect_uri = values.get("redirect_uri")
    if redirect_uri is None and len(client.redirect_uris) == 1:
        redirect_uri = client.redirect_uris[0]
    if redirect_uri is None or not matches(redirect_uri, client.redirect_uris):
        raise ErrorPage("The application's return address is not one it registered.")
    state = values.get("state")

    def refused(error: str, description: str) -> ErrorRedirect:
        return ErrorRedirect(redirect_uri, state, error, description)

    if values.get("response_type") != "code":
        raise refused("unsupported_response_type", "only response_type=code is offered")
    if "authorization_code" not in client.grants:
        raise refused("unauthorized_client", "this client may not use the code flow")
    challenge = values.get("code_challenge")
    if challenge is None:
        raise refused("invalid_request", "PKCE is required: send a code_challenge")
    if values.get("code_challenge_method") != "S256" or not _S256_CHALLENGE.match(challenge):
        raise refused("invalid_request", "the code_challenge_method must be S256")
    try:
        requested = requested_scopes(values.get("scope"), frozenset(services.settings.scopes))
    except InvalidScope as error:
        raise refused("invalid_scope", error.description) from None
    return AuthorizationRequest(
        client, redirect_uri, state, requested, challenge, tuple(values.items())
    )


async def _validated(
    params: Mapping[str, list[str]], services: IssuerServices
) -> AuthorizationRequest | Response:
    """The checked request, or the answer that refuses it. In a thread: the client lookup
    may read the database."""
    try:
        return await anyio.to_thread.run_sync(validate, params, services)
    except ErrorPage as error:
        return _error_page(error)
    except ErrorRedirect as refusal:
        return refusal.response(services.settings.url)


def _redirect(redirect_uri: str, state: str | None, issuer: str, **params: str) -> RedirectResponse:
    values = {**params, **({"state": state} if state is not None else {})}
    values["iss"] = issuer  # RFC 9207: which issuer answered (mix-up attacks)
    separator = "&" if "?" in redirect_uri else "?"
    target = f"{redirect_uri}{separator}{urlencode(values)}"
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def _page(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    body = _TEMPLATES.get_template(template).render(issuer_name="Token issuer", **context)
    return HTMLResponse(body, status_code=status_code, headers=PAGE_HEADERS)


def _error_page(error: ErrorPage) -> HTMLResponse:
    return _page(
        "message.html",
        error.status_code,
        title="Cannot sign in",
        message=error.message,
        error=True,
    )


def _login_page(
    request: AuthorizationRequest,
    secure: bool,
    *,
    error: str | None = None,
    username: str = "",
    status_code: int = 200,
    retry_after: float | None = None,
) -> HTMLResponse:
    csrf = secrets.token_urlsafe(32)
    page = _page(
        "login.html",
        status_code,
        client_id=request.client.client_id,
        scopes=sorted(request.requested or ()),
        request_fields=request.fields,
        csrf_token=csrf,
        error=error,
        username=username,
    )
    if retry_after is not None:
        page.headers["Retry-After"] = str(max(1, round(retry_after)))
    page.set_cookie(
        CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=secure, path="/authorize"
    )
    return page


async def _issue_code(
    request: AuthorizationRequest, user: User, services: IssuerServices
) -> RedirectResponse:
    known = frozenset(services.settings.scopes)
    defaults = frozenset(services.settings.default_scopes)
    try:
        # Within the user's scopes and the client's: otherwise invalid_scope, to the client.
        scopes = within_client(
            granted_scopes(user, request.requested, known, defaults), request.client
        )
    except InvalidScope as error:
        refusal = ErrorRedirect(
            request.redirect_uri, request.state, "invalid_scope", error.description
        )
        return refusal.response(services.settings.url)
    code = await anyio.to_thread.run_sync(
        lambda: services.authorization_codes.issue(
            client_id=request.client.client_id,
            redirect_uri=request.redirect_uri,
            code_challenge=request.code_challenge,
            user_id=user.id,
            scopes=scopes,
            now=services.clock(),
        )
    )
    return _redirect(request.redirect_uri, request.state, services.settings.url, code=code)


def _secure(services: IssuerServices) -> bool:
    return URL(services.settings.url).scheme == "https"


@router.get(
    "/authorize",
    summary="Authorization endpoint (RFC 6749 §4.1, PKCE S256)",
    response_class=HTMLResponse,
    responses=html_pages(
        {
            200: "The login page",
            303: "Back to the client's redirect URI, with a code or an error, state and iss",
            400: "An error page: unknown client or redirect URI (never redirected)",
        }
    ),
)
async def authorize(request: Request, services: Services) -> Response:
    checked = await _validated(_params(request.query_params.multi_items()), services)
    if isinstance(checked, Response):
        return checked
    user_id = await anyio.to_thread.run_sync(
        services.sign_in_sessions.user_id, request.cookies.get(SESSION_COOKIE), services.clock()
    )
    user = None if user_id is None else await anyio.to_thread.run_sync(services.users.get, user_id)
    if user is not None:
        return await _issue_code(checked, user, services)
    return _login_page(checked, _secure(services))


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
        return _error_page(ErrorPage("The sign-in form could not be read."))
    checked = await _validated({name: [value] for name, value in form.items()}, services)
    if isinstance(checked, Response):
        return checked
    secure = _secure(services)
    cookie, field = request.cookies.get(CSRF_COOKIE, ""), form.get("csrf_token", "")
    if not cookie or not hmac.compare_digest(cookie.encode(), field.encode()):
        return _login_page(
            checked, secure, error="The form expired. Please sign in again.", status_code=400
        )
    username, password = form.get("username", ""), form.get("password", "")
    address = client_address(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        services.settings.trusted_proxy_networks,
    )
    try:
        user = await services.login.authenticate(username, password, address)
    except InvalidGrant:
        return _login_page(checked, secure, error=LOGIN_FAILED, username=username, status_code=400)
    except TemporarilyUnavailable as busy:  # the hash queue is full, or the store is down
        return _login_page(
            checked,
            secure,
            error="Sign-in is busy. Please try again in a moment.",
            username=username,
            status_code=503,
            retry_after=busy.retry_after or 5,
        )
    except OAuthError as refused:  # TooManyAttempts: throttled, exactly as /token is
        return _login_page(
            checked,
            secure,
            error="Too many failed attempts. Please try again later.",
            username=username,
            status_code=refused.status_code,
            retry_after=refused.retry_after,
        )
    value = await anyio.to_thread.run_sync(
        services.sign_in_sessions.start, user.id, services.clock()
    )
    response = await _issue_code(checked, user, services)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(services.settings.session_ttl),
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    response.delete_cookie(CSRF_COOKIE, path="/authorize")
    return response


@router.get(
    "/logout",
    summary="End the sign-in session",
    response_class=HTMLResponse,
    responses=html_pages(
        {
            200: "Signed out",
            303: "Signed out, then to the registered post_logout_redirect_uri",
            400: "Signed out; the return address given is not registered",
        }
    ),
)
async def logout(request: Request, services: Services) -> Response:
    await anyio.to_thread.run_sync(
        services.sign_in_sessions.end, request.cookies.get(SESSION_COOKIE)
    )
    target = request.query_params.get("post_logout_redirect_uri")
    client = await anyio.to_thread.run_sync(
        services.clients.get, request.query_params.get("client_id", "")
    )
    response: Response
    if target is not None and client is not None and matches(target, client.redirect_uris):
        response = RedirectResponse(target, status_code=303)
    elif target is not None:
        response = _page(
            "message.html",
            400,
            title="Signed out",
            message="You are signed out. The return address given is not registered.",
            error=True,
        )
    else:
        response = _page("message.html", title="Signed out", message="You are signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.api_route(
    "/authorize", methods=["PUT", "DELETE", "PATCH", "OPTIONS"], include_in_schema=False
)
async def authorize_other_methods() -> Response:
    # Starlette's own 405 would name only the first route's method: GET and POST both serve.
    return Response(status_code=405, headers={"Allow": "GET, POST"})


@router.get("/authorize/page.css", include_in_schema=False)
async def page_css() -> Response:
    return Response(_CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


def _params(items: list[tuple[str, str]]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for name, value in items:
        params.setdefault(name, []).append(value)
    return params
