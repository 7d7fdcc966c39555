"""POST /token: the RFC 6749 §4.3 resource owner password credentials grant.

Parsing is `form`, scope policy `scopes`, the password check (throttling, bounded hashing)
`login`; this module ties them together and writes one log line per request.
"""

import logging
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from issuer.api.form import FORM_CONTENT_TYPE, read_form
from issuer.client_address import client_address
from issuer.errors import (
    NO_STORE,
    InvalidClient,
    InvalidRequest,
    OAuthError,
    TemporarilyUnavailable,
    UnsupportedGrantType,
)
from issuer.keys.keyring import NoSigningKey
from issuer.scopes import granted_scopes, requested_scopes
from issuer.services import IssuerServices, Services
from issuer.tokens import access_token_claims, sign_access_token

logger = logging.getLogger("issuer.token")
router = APIRouter()

_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            FORM_CONTENT_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["password"]},
                        "username": {"type": "string"},
                        "password": {"type": "string", "format": "password"},
                        "scope": {"type": "string"},
                        "client_id": {"type": "string"},
                    },
                }
            }
        },
    }
}


def client_id(form: dict[str, str], services: IssuerServices) -> str:
    if "client_secret" in form or "client_assertion" in form:
        raise InvalidClient("this issuer has public clients only: send no client credentials")
    client = form.get("client_id", services.settings.default_client_id)
    if client not in services.settings.allowed_client_ids:
        raise InvalidClient("unknown client_id")
    return client


async def issue_token(
    request: Request, services: IssuerServices, address: str, log: dict[str, Any]
) -> JSONResponse:
    settings = services.settings
    form = await read_form(request)
    # grant_type may be omitted so that the seed's curl works verbatim; it then means password.
    if form.get("grant_type", "password") != "password":
        raise UnsupportedGrantType("only the password grant is supported")
    log["client"] = client = client_id(form, services)
    username, password = form.get("username"), form.get("password")
    if username is None or password is None:
        raise InvalidRequest("username and password are required")
    log["user"] = username[:150]
    known = frozenset(settings.scopes)
    requested = requested_scopes(form.get("scope"), known)
    user = await services.login.authenticate(username, password, address)
    scopes = granted_scopes(user, requested, known, frozenset(settings.default_scopes))
    now = services.clock()
    try:
        kid, key = services.keyring.signing_key(now)
    except NoSigningKey:
        raise TemporarilyUnavailable("no signing key is ready; try again shortly") from None
    claims = access_token_claims(
        user=user,
        scopes=scopes,
        client_id=client,
        issuer=settings.url,
        audience=settings.audience,
        ttl=settings.access_token_ttl,
        now=now,
    )
    token = sign_access_token(claims, kid, key)
    log["kid"] = kid
    body = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl,
        "scope": claims["scope"],
    }
    return JSONResponse(body, headers=NO_STORE)


@router.post("/token", openapi_extra=_FORM_SCHEMA, summary="Password grant (RFC 6749 §4.3)")
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
        # One line per token request; never the password or the token.
        logger.log(
            level,
            "token request",
            extra={
                **log,
                "remote": address,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
