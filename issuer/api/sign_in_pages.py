"""The sign-in's HTML pages and cookies, shared by /authorize, its consent page and /logout.

- Pages are plain forms, no script; their headers forbid script, frames and referrers.
- Cookies are HttpOnly, Secure on https, and named with the `__Host-` prefix there
  (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain, so that no other origin, a sibling
  subdomain or plain http on the same name, can set or shadow them). The sign-in cookie is
  SameSite=Lax (a link from an app must carry it); the CSRF cookie SameSite=Strict.
- The CSRF cookie holds a per-visit id and lives on Path=/ (on http too, one rule for both:
  `__Host-` requires it, and both /authorize and /logout read it). The form carries the HMAC
  of that id under the issuer's secret (issuer/sign_in/csrf.py).
- A query string longer than MAX_QUERY_BYTES is refused with 414 before it is parsed
  (issuer/api/query_limit.py).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from issuer.api.form import read_form
from issuer.errors import OAuthError
from issuer.grants.authorization_code import (
    REQUEST_FIELDS,
    AuthorizationRequest,
    Refused,
    Untrusted,
    validate_authorization_request,
)
from issuer.services import IssuerServices
from issuer.sign_in.csrf import Purpose, form_token, form_token_valid, new_visit

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("issuer", "templates"), autoescape=True, auto_reload=False
)
CSS = (files("issuer") / "templates" / "page.css").read_bytes()
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
MAX_QUERY_BYTES = 8192
# A form carries an authorization request (up to a query string's size) and a few fields more.
MAX_FORM_BYTES = MAX_QUERY_BYTES + 1024
MAX_FORM_FIELDS = len(REQUEST_FIELDS) + 8
CSRF_KEY_ROW = "csrf"  # the issuer_secrets row holding the CSRF HMAC key


@dataclass(frozen=True, slots=True)
class Cookies:
    """The sign-in's cookie names and flags for the issuer's URL."""

    session: str
    csrf: str
    secure: bool

    @classmethod
    def of(cls, services: IssuerServices) -> "Cookies":
        secure = services.settings.url.startswith("https://")
        prefix = "__Host-" if secure else ""
        return cls(f"{prefix}issuer_session", f"{prefix}issuer_csrf", secure)

    def set_session(self, response: Response, value: str, max_age: float) -> None:
        response.set_cookie(
            self.session,
            value,
            max_age=int(max_age),
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    def end_session(self, response: Response) -> None:
        response.delete_cookie(
            self.session, path="/", secure=self.secure, httponly=True, samesite="lax"
        )

    def set_csrf(self, response: Response, visit: str) -> None:
        response.set_cookie(
            self.csrf, visit, httponly=True, samesite="strict", secure=self.secure, path="/"
        )

    def end_csrf(self, response: Response) -> None:
        response.delete_cookie(
            self.csrf, path="/", secure=self.secure, httponly=True, samesite="strict"
        )


async def _csrf_key(services: IssuerServices) -> bytes:
    known = services.issuer_secrets.cached(CSRF_KEY_ROW)
    if known is not None:
        return known
    return await anyio.to_thread.run_sync(services.issuer_secrets.get, CSRF_KEY_ROW)


async def csrf_form(services: IssuerServices, purpose: Purpose) -> tuple[str, str]:
    """A new visit id (for the cookie) and its form token."""
    visit = new_visit()
    return visit, form_token(await _csrf_key(services), visit, purpose)


async def csrf_valid(
    request: Request, services: IssuerServices, form: dict[str, str], purpose: Purpose
) -> bool:
    visit = request.cookies.get(Cookies.of(services).csrf)
    key = await _csrf_key(services)
    return form_token_valid(key, visit, purpose, form.get("csrf_token"))


def page(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    body = _TEMPLATES.get_template(template).render(issuer_name="Token issuer", **context)
    return HTMLResponse(body, status_code=status_code, headers=PAGE_HEADERS)


def error_page(error: Untrusted) -> HTMLResponse:
    return page(
        "message.html",
        error.status_code,
        title="Cannot sign in",
        message=error.message,
        error=True,
    )


def redirect(redirect_uri: str, state: str | None, issuer: str, **params: str) -> RedirectResponse:
    values = {**params, **({"state": state} if state is not None else {})}
    values["iss"] = issuer  # RFC 9207: which issuer answered (mix-up attacks)
    separator = "&" if "?" in redirect_uri else "?"
    target = f"{redirect_uri}{separator}{urlencode(values)}"
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def refusal(refused: Refused, issuer: str) -> RedirectResponse:
    return redirect(
        refused.redirect_uri,
        refused.state,
        issuer,
        error=refused.error,
        error_description=refused.description,
    )


async def sign_in_form(request: Request) -> dict[str, str] | None:
    """A sign-in page's form (or an authorization request POSTed), or None: unreadable."""
    try:
        return await read_form(request, max_bytes=MAX_FORM_BYTES, max_fields=MAX_FORM_FIELDS)
    except OAuthError:
        return None


async def validated(
    params: Mapping[str, list[str]], services: IssuerServices
) -> AuthorizationRequest | Response:
    """The checked authorization request, or the answer that refuses it."""
    try:
        return await validate_authorization_request(params, services)
    except Untrusted as error:
        return error_page(error)
    except Refused as refused:
        return refusal(refused, services.settings.url)


async def login_page(
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
