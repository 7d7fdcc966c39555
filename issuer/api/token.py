"""POST /token (RFC 6749 §3.2): authenticate the client, run its grant, sign the token.

Parsing is `form`, client authentication `client_auth`, each grant a module of `grants`,
scope policy `scopes`, signing `tokens`; this module ties them together and writes one log
line per request.
"""

import logging
import time
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from issuer.api.dependencies import Services
from issuer.api.documented import TokenResponse, oauth_errors
from issuer.api.form import FORM_CONTENT_TYPE, read_form
from issuer.clients.authentication import presented_credentials
from issuer.clients.resources import scopes_for, target
from issuer.config import IssuerSettings
from issuer.errors import (
    NO_STORE,
    InvalidRequest,
    OAuthError,
    TemporarilyUnavailable,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from issuer.grants import Grant, GrantRequest
from issuer.grants.authorization_code import authorization_code_grant
from issuer.grants.client_credentials import client_credentials_grant
from issuer.grants.password import password_grant
from issuer.grants.refresh_token import refresh_token_grant
from issuer.keys.keyring import NoSigningKey
from issuer.metrics import TOKEN_LATENCY, TOKEN_REQUESTS, UNKNOWN_GRANT
from issuer.services import IssuerServices
from issuer.sign_in.client_address import client_address
from issuer.tokens.access_tokens import access_token_claims, sign_access_token

logger = logging.getLogger("issuer.token")
router = APIRouter()

GRANTS: dict[str, Grant] = {
    "authorization_code": authorization_code_grant,
    "password": password_grant,
    "client_credentials": client_credentials_grant,
    "refresh_token": refresh_token_grant,
}


def enabled_grants(settings: IssuerSettings) -> dict[str, Grant]:
    """The grants this issuer runs: RFC 9700 §2.4 says the password grant "MUST NOT be used",
    so it runs only with ISSUER_PASSWORD_GRANT on (the demo's curl)."""
    return {
        name: grant
        for name, grant in GRANTS.items()
        if name != "password" or settings.password_grant
    }


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
                            "enum": sorted(GRANTS),
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


async def issue_token(
    request: Request, services: IssuerServices, address: str, log: dict[str, Any]
) -> JSONResponse:
    """Any database failure on the way (client, resource, user lookups) is a 503."""
    try:
        return await _issue_token(request, services, address, log)
    except SQLAlchemyError:
        logger.exception("the database failed during a token request")
        raise TemporarilyUnavailable("the database is unavailable; try again shortly") from None


async def _issue_token(
    request: Request, services: IssuerServices, address: str, log: dict[str, Any]
) -> JSONResponse:
    settings = services.settings
    form = await read_form(request)
    presented = presented_credentials(request.headers.get("authorization"), form)
    if services.client_auth.in_memory(presented):
        client = services.client_auth.authenticate(presented, services.clock())
    else:
        client = await anyio.to_thread.run_sync(
            services.client_auth.authenticate, presented, services.clock()
        )
    log["client"] = client.client_id
    # grant_type is REQUIRED (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6). With the password grant
    # on it may be omitted, so that the seed's curl works verbatim; it then means password.
    grant_type = form.get("grant_type", "password" if settings.password_grant else None)
    if grant_type is None:
        raise InvalidRequest("grant_type is required")
    grant = enabled_grants(settings).get(grant_type)
    if grant is None:
        raise UnsupportedGrantType("this grant type is not supported")
    log["grant"] = grant_type
    if grant_type not in client.grants:
        raise UnauthorizedClient("this client is not registered for this grant type")
    if "username" in form:
        log["user"] = form["username"][:150]  # the attempted one, so that failures show it
    requested_resource = form.get("resource")
    resource = (
        await anyio.to_thread.run_sync(services.resources.get, requested_resource)
        if requested_resource
        else None
    )
    token_audience = target(resource, requested_resource, client, settings.audience)
    granted = await grant(GrantRequest(form, client, address, services))
    now = services.clock()
    try:
        kid, key, algorithm = services.keyring.signer(now)
    except NoSigningKey as missing:
        raise TemporarilyUnavailable(
            "no signing key is ready; try again shortly", retry_after=missing.retry_after
        ) from None
    claims = access_token_claims(
        subject=granted.subject,
        username=granted.username,
        scopes=scopes_for(resource, granted.scopes),
        client_id=client.client_id,
        issuer=settings.url,
        audience=token_audience,
        ttl=settings.access_token_ttl,
        now=now,
    )
    token = sign_access_token(claims, kid, key, algorithm)
    log["kid"] = kid
    body = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl,
        "scope": claims["scope"],
    }
    if granted.refresh_token is not None:
        body["refresh_token"] = granted.refresh_token
    if granted.code_hash is not None:
        # Kept with the code, so that a second use of it revokes these (RFC 6749 §4.1.2).
        await anyio.to_thread.run_sync(
            lambda: services.authorization_codes.record_issued(
                str(granted.code_hash),
                client_id=client.client_id,
                refresh_token=granted.refresh_token,
                access_jti=claims["jti"],
                access_expires_at=float(claims["exp"]),
                now=now,
            )
        )
    return JSONResponse(body, headers=NO_STORE)


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
    # The outcome is what actually happened: set on success, on an OAuth error, or on a failure
    # that escaped as an exception (then logged as an error, with its traceback).
    log: dict[str, Any] = {"outcome": "server_error"}
    level = logging.ERROR
    try:
        response = await issue_token(request, services, address, log)
    except OAuthError as error:
        log["outcome"] = error.error
        log["status"] = error.status_code
        level = logging.INFO
        raise
    except BaseException:
        logger.exception("token request failed", extra={"remote": address})
        raise
    else:
        log["outcome"], log["status"] = "issued", 200
        level = logging.INFO
        return response
    finally:
        duration = time.perf_counter() - started
        # The grant once validated ("unknown" when the request failed before that).
        grant = log.get("grant", UNKNOWN_GRANT)
        TOKEN_REQUESTS.labels(grant, log["outcome"]).inc()
        TOKEN_LATENCY.labels(grant).observe(duration)
        # One line per token request; never a password, a secret or the token.
        logger.log(
            level,
            "token request",
            extra={**log, "remote": address, "duration_ms": round(duration * 1000, 2)},
        )
