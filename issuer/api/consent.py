"""The consent page (OpenID Connect Core §3.1.2.4) and its form's POST /authorize/consent.

- Only a client registered with consent required (`clients add --consent required`) shows it:
  a first-party client's registration is the "previous administrative consent".
- The page lists the client, each scope asked for and the claims it releases
  (issuer/accounts/claims.py), and the RFC 8707 resource the tokens will be for, if one was
  named (the scopes already narrowed to it; a consent covers only the resources it named);
  it has the login page's headers (no script, never framed) and
  a CSRF token of its own purpose, bound to the visit (issuer/sign_in/csrf.py).
- The form carries the authorization request, checked again as at GET /authorize. The user is
  the live sign-in session's, never a field of the form: without one, the login page.
- Allow: the scopes are remembered for the user and client (issuer/sessions/consents.py),
  added to those allowed before, and the code goes to the client. Deny: `access_denied`
  (RFC 6749 §4.1.2.1), with state and iss.
"""

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from issuer.accounts.claims import SCOPE_CLAIMS
from issuer.accounts.users import User
from issuer.api.dependencies import Services
from issuer.api.documented import html_pages
from issuer.api.errors import SignInPageRoute
from issuer.api.sign_in_pages import (
    Cookies,
    csrf_form,
    csrf_valid,
    error_page,
    login_page,
    page,
    redirect,
    refusal,
    sign_in_form,
    validated,
)
from issuer.grants.authorization_code import (
    REQUEST_FIELDS,
    AuthorizationRequest,
    Refused,
    Untrusted,
    code_scopes,
    issue_code,
)
from issuer.services import IssuerServices

router = APIRouter(route_class=SignInPageRoute)

# `openid` releases only who the user is to this issuer: the `sub` of the ID token.
_RELEASED = {"openid": ("sub",), **SCOPE_CLAIMS}
_CONSENT_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        name: {"type": "string"}
                        for name in (*REQUEST_FIELDS, "csrf_token", "decision")
                    },
                }
            }
        },
    }
}


async def consent_page(
    request: AuthorizationRequest,
    scopes: frozenset[str],
    user: User,
    services: IssuerServices,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Asks `user` to allow the client `scopes`, each with the claims it releases."""
    visit, token = await csrf_form(services, "consent")
    answer = page(
        "consent.html",
        status_code,
        client_id=request.client.client_id,
        username=user.username,
        scopes=[(scope, _RELEASED.get(scope, ())) for scope in sorted(scopes)],
        request_fields=request.fields,
        resource=None if request.resource is None else request.resource.uri,
        csrf_token=token,
        error=error,
    )
    Cookies.of(services).set_csrf(answer, visit)
    return answer


@router.post(
    "/authorize/consent",
    summary="The consent form's answer (OpenID Connect Core §3.1.2.4)",
    response_class=HTMLResponse,
    openapi_extra=_CONSENT_FORM,
    responses=html_pages(
        {
            200: "The login page: the sign-in session ended",
            303: "Back to the client's redirect URI, with a code or access_denied, state and iss",
            400: "An expired form, or an untrusted request",
        }
    ),
)
async def consent(request: Request, services: Services) -> Response:
    form = await sign_in_form(request)
    if form is None:
        return error_page(Untrusted("The consent form could not be read."))
    fields = {name: value for name, value in form.items() if name in REQUEST_FIELDS}
    checked = await validated({name: [value] for name, value in fields.items()}, services)
    if isinstance(checked, Response):
        return checked
    now = services.clock()
    cookie = request.cookies.get(Cookies.of(services).session)
    signed_in = await anyio.to_thread.run_sync(services.sign_in_sessions.current, cookie, now)
    user = None
    if signed_in is not None:
        user = await anyio.to_thread.run_sync(services.users.get, signed_in.user_id)
    if signed_in is None or user is None:
        return await login_page(checked, services)
    try:
        scopes = code_scopes(checked, user, services)
        if not await csrf_valid(request, services, form, "consent"):
            expired = "The form expired. Please answer again."
            return await consent_page(
                checked, scopes, user, services, error=expired, status_code=400
            )
        decision = form.get("decision")
        if decision == "deny":
            raise Refused(
                checked.redirect_uri, checked.state, "access_denied", "the user did not allow it"
            )
        if decision != "allow":
            return await consent_page(
                checked, scopes, user, services, error="Choose Allow or Deny.", status_code=400
            )
        client_id = checked.client.client_id
        resource = None if checked.resource is None else checked.resource.uri
        await anyio.to_thread.run_sync(
            services.consents.grant, user.id, client_id, scopes, now, resource
        )
        code = await issue_code(checked, signed_in, scopes, services, now)
        answer = redirect(checked.redirect_uri, checked.state, services.settings.url, code=code)
    except Refused as refused:
        answer = refusal(refused, services.settings.url)
    Cookies.of(services).end_csrf(answer)
    return answer
