"""POST /token (RFC 6749 §3.2): the HTTP side of the token pipeline (issuer/grants/issuance.py).

Reads the form, reads the clock once, runs the pipeline, answers with its token or its error,
and writes one log line and the metrics per request, from what the pipeline returned or raised.
"""

import logging
import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from issuer.api.dependencies import Services
from issuer.api.documented import TokenResponse, oauth_errors
from issuer.api.form import FORM_CONTENT_TYPE, read_form
from issuer.config import IssuerSettings
from issuer.errors import NO_STORE, OAuthError
from issuer.grants.issuance import Attempt, Issued, TokenRequest, TokenRequestFailed, issue_token
from issuer.grants.registry import GRANT_TYPES, enabled_grants
from issuer.metrics import TOKEN_LATENCY, TOKEN_REQUESTS, UNKNOWN_GRANT
from issuer.services import IssuerServices
from issuer.sign_in.client_address import client_address
from issuer.store.failures import unavailable_for

logger = logging.getLogger("issuer.token")
router = APIRouter()


# Examples that work when /docs' "Try it out" is pressed with only a username and password
# typed: the password grant, the default public client, the profile scope. Empty examples
# leave a field out of the request.
_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            FORM_CONTENT_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {
                            "type": "string",
                            "enum": sorted(GRANT_TYPES),
                            "default": "password",
                        },
                        "username": {"type": "string", "example": ""},
                        "password": {"type": "string", "format": "password", "example": ""},
                        "scope": {"type": "string", "example": "profile"},
                        "client_id": {"type": "string", "example": "default"},
                        "client_secret": {"type": "string", "format": "password", "example": ""},
                        "refresh_token": {"type": "string", "example": ""},
                        "code": {"type": "string", "example": ""},
                        "redirect_uri": {"type": "string", "example": ""},
                        "code_verifier": {"type": "string", "example": ""},
                        "resource": {"type": "string", "example": ""},
                    },
                }
            }
        },
    }
}


def document_enabled_grants(app: FastAPI, settings: IssuerSettings) -> None:
    """The /token form in `app`'s OpenAPI document offers only the grants it runs: with the
    password grant off, neither its grant_type (nor as the default) nor username and password.
    (The route's schema is shared by every app; each document is adjusted once, when built.)"""
    if settings.password_grant:
        return
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            body = schema["paths"]["/token"]["post"]["requestBody"]["content"][FORM_CONTENT_TYPE]
            fields = body["schema"]["properties"]
            fields["grant_type"] = {"type": "string", "enum": sorted(enabled_grants(settings))}
            for name in ("username", "password"):
                fields.pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


async def _issued(request: Request, services: IssuerServices, address: str) -> Issued:
    form = await read_form(request)
    token_request = TokenRequest(form, request.headers.get("authorization"), address)
    try:
        return await issue_token(token_request, services, services.clock())
    except TokenRequestFailed as failed:
        # Any database failure on the way (client, resource, user lookups) is a 503.
        unavailable = unavailable_for(failed.error)
        if unavailable is None:
            raise
        logger.error("the database failed during a token request", exc_info=failed.error)
        raise TokenRequestFailed(failed.attempt, unavailable) from None


def _body(issued: Issued) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    }
    if issued.refresh_token is not None:
        body["refresh_token"] = issued.refresh_token
    if issued.id_token is not None:
        body["id_token"] = issued.id_token
    return body


@router.post(
    "/token",
    openapi_extra=_FORM_SCHEMA,
    summary="Token endpoint (RFC 6749 §3.2)",
    responses={
        200: {"model": TokenResponse, "description": "The tokens (RFC 6749 §5.1)"},
        **oauth_errors(400, 401, 429, 503),
    },
)
async def token(request: Request, services: Services) -> JSONResponse:
    started = time.perf_counter()
    address = client_address(
        request.client.host if request.client else None,
        request.headers.getlist("x-forwarded-for"),
        services.settings.trusted_proxy_networks,
    )
    try:
        issued = await _issued(request, services, address)
    except TokenRequestFailed as failed:
        attempt, error = failed.attempt, failed.error
    except BaseException as unread:  # the form could not be read
        attempt, error = Attempt(), unread
    else:
        _log_request(issued.attempt, None, address, started)
        return JSONResponse(_body(issued), headers=NO_STORE)
    _log_request(attempt, error, address, started)
    raise error  # an OAuthError becomes its RFC 6749 §5.2 answer


def _log_request(
    attempt: Attempt, error: BaseException | None, address: str, started: float
) -> None:
    """One line per token request, and its metrics; never a password, a secret or the token.
    The outcome is what actually happened: issued, an OAuth error, or a failure that escaped
    as an exception (then logged as an error, with its traceback)."""
    duration = time.perf_counter() - started
    if error is None:
        outcome, status, level = "issued", 200, logging.INFO
    elif isinstance(error, OAuthError):
        outcome, status, level = error.error, error.status_code, logging.INFO
    else:
        outcome, status, level = "server_error", None, logging.ERROR
        logger.error("token request failed", exc_info=error, extra={"remote": address})
    # The grant once validated ("unknown" when the request failed before that).
    grant = attempt.grant_type or UNKNOWN_GRANT
    TOKEN_REQUESTS.labels(grant, outcome).inc()
    TOKEN_LATENCY.labels(grant).observe(duration)
    fields: dict[str, Any] = {"outcome": outcome}
    for name, value in (
        ("client", attempt.client_id),
        ("grant", attempt.grant_type),
        ("user", attempt.username),
        ("kid", attempt.kid),
        ("status", status),
    ):
        if value is not None:
            fields[name] = value
    fields.update(remote=address, duration_ms=round(duration * 1000, 2))
    logger.log(level, "token request", extra=fields)
