"""/logout: end the browser's sign-in session at the issuer.

OpenID Connect RP-Initiated Logout 1.0 §2: the OP "SHOULD ask the End-User whether to log
out". GET /logout only asks: it shows a form that POSTs back with a CSRF token bound to the
visit, so that no link, image or cross-site form can sign a user out. Only the POST ends the
sign-in. An optional `post_logout_redirect_uri` must be one of the `client_id`'s registered
redirect URIs; one that is not, or that does not parse, is a 400 page, never a redirect.
"""

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from issuer.api.dependencies import Services
from issuer.api.documented import html_pages
from issuer.api.errors import SignInPageRoute
from issuer.api.form import read_form
from issuer.api.sign_in_pages import Cookies, csrf_form, csrf_valid, page
from issuer.clients.redirect_uris import matches, parses
from issuer.errors import OAuthError
from issuer.services import IssuerServices

router = APIRouter(route_class=SignInPageRoute)

FIELDS = ("client_id", "post_logout_redirect_uri")
NOT_REGISTERED = "The return address given is not registered."
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


def _registered(services: IssuerServices, client_id: str | None, target: str) -> bool:
    """Whether `target` is one of the client's redirect URIs (blocking: a client lookup)."""
    if not parses(target):
        return False
    client = services.clients.get(client_id or "")
    return client is not None and matches(target, client.redirect_uris, native=client.native)


async def _target_ok(services: IssuerServices, fields: dict[str, str]) -> bool:
    target = fields.get("post_logout_redirect_uri")
    if target is None:
        return True
    return await anyio.to_thread.run_sync(_registered, services, fields.get("client_id"), target)


async def _confirmation(
    services: IssuerServices, fields: dict[str, str], *, status_code: int = 200, error: str = ""
) -> HTMLResponse:
    visit, token = await csrf_form(services, "logout")
    answer = page(
        "logout.html",
        status_code,
        fields=[(name, fields[name]) for name in FIELDS if name in fields],
        csrf_token=token,
        error=error,
    )
    Cookies.of(services).set_csrf(answer, visit)
    return answer


def _message(message: str, status_code: int = 200, *, title: str = "Signed out") -> HTMLResponse:
    return page("message.html", status_code, title=title, message=message, error=status_code >= 400)


@router.get(
    "/logout",
    summary="Ask whether to end the sign-in session (a form that POSTs)",
    response_class=HTMLResponse,
    openapi_extra=_QUERY,
    responses=html_pages(
        {
            200: "The confirmation form (nothing is ended yet)",
            400: "The return address given is not registered, or does not parse",
            414: "The query string is over 8 KiB",
        }
    ),
)
async def logout_form(request: Request, services: Services) -> Response:
    fields = {name: request.query_params[name] for name in FIELDS if request.query_params.get(name)}
    if not await _target_ok(services, fields):
        return _message(NOT_REGISTERED, 400, title="Cannot sign out")
    return await _confirmation(services, fields)


@router.post(
    "/logout",
    summary="End the sign-in session (the confirmation form's submission)",
    response_class=HTMLResponse,
    openapi_extra=_LOGOUT_FORM,
    responses=html_pages(
        {
            200: "Signed out",
            303: "Signed out, then to the registered post_logout_redirect_uri",
            400: "Not signed out: the form expired or could not be read. Or signed out, and "
            "the return address given is not registered",
        }
    ),
)
async def logout(request: Request, services: Services) -> Response:
    try:
        form = await read_form(request)
    except OAuthError:
        form = {}  # unreadable: asked again, as without a token
    fields = {name: form[name] for name in FIELDS if name in form}
    if not await csrf_valid(request, services, form, "logout"):
        expired = "The form expired. Please confirm again."
        return await _confirmation(services, fields, status_code=400, error=expired)
    cookies = Cookies.of(services)
    await anyio.to_thread.run_sync(
        services.sign_in_sessions.end, request.cookies.get(cookies.session)
    )
    response: Response
    if "post_logout_redirect_uri" not in fields:
        response = _message("You are signed out.")
    elif await _target_ok(services, fields):
        response = RedirectResponse(fields["post_logout_redirect_uri"], status_code=303)
    else:
        response = _message(f"You are signed out. {NOT_REGISTERED}", 400)
    cookies.end_session(response)
    cookies.end_csrf(response)
    return response


@router.api_route("/logout", methods=["PUT", "DELETE", "PATCH", "OPTIONS"], include_in_schema=False)
async def logout_other_methods() -> Response:
    # Starlette's own 405 would name only the first route's method: GET and POST both serve.
    return Response(status_code=405, headers={"Allow": "GET, POST"})
