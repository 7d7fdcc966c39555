"""/logout: the end-session endpoint of OpenID Connect RP-Initiated Logout 1.0.

- §2: "The OP MUST support the use of the HTTP GET and POST methods": a GET, or a POST without
  a `csrf_token` field, is a logout request; a POST with one is the confirmation form's.
- The request is checked first (issuer/sign_in/end_session.py): a bad id_token_hint, a
  client_id other than the hint's, a post_logout_redirect_uri not registered exactly: a 400
  page, never a redirect, and nobody is signed out.
- A valid hint naming the browser's sign-in session (its sid, or its sub when it has no sid),
  or no session at all: signed out at once, then to the registered target with `state`.
- Otherwise the user is asked (§6: requests without a valid hint "are a potential means of
  denial of service; therefore, OPs should obtain explicit confirmation from the End-User"):
  a form that POSTs back with a CSRF token bound to the visit, so that no link, image or
  cross-site form can sign a user out. After it, the browser goes on only to a target
  registered for the client_id the request named (§3: without a valid hint the OP "MUST NOT
  perform post-logout redirection unless the OP has other means of confirming the legitimacy
  of the post-logout redirection target": here the user's confirmation and the exact
  registration).
- Ending a session tells its clients over the back channel (issuer/sessions/backchannel.py).
"""

from urllib.parse import urlencode

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from issuer.api.dependencies import Services
from issuer.api.documented import html_pages
from issuer.api.errors import SignInPageRoute
from issuer.api.form import read_form
from issuer.api.sign_in_pages import Cookies, csrf_form, csrf_valid, page
from issuer.errors import OAuthError
from issuer.services import IssuerServices
from issuer.sessions.backchannel import backchannel_logout
from issuer.sessions.sign_in_sessions import SignIn
from issuer.sign_in.end_session import (
    FIELDS,
    NOT_REGISTERED,
    EndSessionRefused,
    EndSessionRequest,
    end_session_request,
)

router = APIRouter(route_class=SignInPageRoute)

# What the confirmation form carries over (the hint, once checked, is not needed again).
CONFIRMED_FIELDS = ("client_id", "post_logout_redirect_uri", "state")
_LOGOUT_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {name: {"type": "string"} for name in (*FIELDS, "csrf_token")},
                }
            }
        },
    }
}
_QUERY = {
    "parameters": [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in FIELDS
    ]
}


def _message(message: str, status_code: int = 200, *, title: str = "Signed out") -> HTMLResponse:
    return page("message.html", status_code, title=title, message=message, error=status_code >= 400)


async def _confirmation(
    services: IssuerServices, fields: dict[str, str], *, status_code: int = 200, error: str = ""
) -> HTMLResponse:
    visit, token = await csrf_form(services, "logout")
    answer = page(
        "logout.html",
        status_code,
        fields=[(name, fields[name]) for name in CONFIRMED_FIELDS if fields.get(name)],
        csrf_token=token,
        error=error,
    )
    Cookies.of(services).set_csrf(answer, visit)
    return answer


def _signed_out(checked: EndSessionRequest) -> Response:
    if checked.target is None:
        return _message("You are signed out.")
    target = checked.target
    if checked.state is not None:  # §3: state is passed back
        separator = "&" if "?" in target else "?"
        target = f"{target}{separator}{urlencode({'state': checked.state})}"
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def _current(services: IssuerServices, cookie: str | None) -> SignIn | None:
    return services.sign_in_sessions.current(cookie, services.clock()) if cookie else None


def _end(services: IssuerServices, cookie: str | None, current: SignIn | None) -> None:
    """Tells the session's clients, then ends it (blocking: the database)."""
    if current is not None:
        ending = backchannel_logout(services)
        ending.session_ending(current.session_id, current.user_id, services.clock())
    services.sign_in_sessions.end(cookie)


async def _logout_request(
    request: Request, services: IssuerServices, fields: dict[str, str]
) -> Response:
    try:
        checked = await end_session_request(services, fields)
    except EndSessionRefused as refused:
        return _message(str(refused), 400, title="Cannot sign out")
    cookies = Cookies.of(services)
    cookie = request.cookies.get(cookies.session)
    current = await anyio.to_thread.run_sync(_current, services, cookie)
    if current is not None and not checked.names(current):
        return await _confirmation(services, {**fields, "client_id": checked.client_id or ""})
    if current is not None:
        await anyio.to_thread.run_sync(_end, services, cookie, current)
    response = _signed_out(checked)
    cookies.end_session(response)
    return response


def _fields(values: dict[str, str]) -> dict[str, str]:
    return {name: values[name] for name in FIELDS if values.get(name)}


@router.get(
    "/logout",
    summary="RP-Initiated Logout: end the sign-in session, asking first without a valid hint",
    response_class=HTMLResponse,
    openapi_extra=_QUERY,
    responses=html_pages(
        {
            200: "The confirmation form (nothing is ended yet), or signed out",
            303: "Signed out, then to the registered post_logout_redirect_uri, with state",
            400: "A bad id_token_hint, another client's, or a return address not registered",
            414: "The query string is over 8 KiB",
        }
    ),
)
async def logout_request(request: Request, services: Services) -> Response:
    return await _logout_request(request, services, _fields(dict(request.query_params)))


@router.post(
    "/logout",
    summary="RP-Initiated Logout by POST, or the confirmation form's submission",
    response_class=HTMLResponse,
    openapi_extra=_LOGOUT_FORM,
    responses=html_pages(
        {
            200: "Signed out, or (a logout request) the confirmation form",
            303: "Signed out, then to the registered post_logout_redirect_uri, with state",
            400: "Not signed out: the form expired or could not be read, or the request is "
            "refused. Or signed out, and the return address given is not registered",
        }
    ),
)
async def logout(request: Request, services: Services) -> Response:
    try:
        form = await read_form(request)
    except OAuthError:
        form = {"csrf_token": ""}  # unreadable: asked again, as a form with a bad token
    fields = _fields(form)
    if "csrf_token" not in form:
        return await _logout_request(request, services, fields)
    if not await csrf_valid(request, services, form, "logout"):
        expired = "The form expired. Please confirm again."
        return await _confirmation(services, fields, status_code=400, error=expired)
    cookies = Cookies.of(services)
    cookie = request.cookies.get(cookies.session)
    current = await anyio.to_thread.run_sync(_current, services, cookie)
    await anyio.to_thread.run_sync(_end, services, cookie, current)
    response: Response
    try:
        response = _signed_out(await end_session_request(services, _confirmed(fields)))
    except EndSessionRefused:
        response = _message(f"You are signed out. {NOT_REGISTERED}", 400)
    cookies.end_session(response)
    cookies.end_csrf(response)
    return response


def _confirmed(fields: dict[str, str]) -> dict[str, str]:
    """§3: after the user's confirmation, a redirect only to a target registered for the
    client_id sent (end_session_request refuses a target without one)."""
    return {name: fields[name] for name in CONFIRMED_FIELDS if name in fields}


@router.api_route("/logout", methods=["PUT", "DELETE", "PATCH", "OPTIONS"], include_in_schema=False)
async def logout_other_methods() -> Response:
    # Starlette's own 405 would name only the first route's method: GET and POST both serve.
    return Response(status_code=405, headers={"Allow": "GET, POST"})
