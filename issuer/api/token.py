"""POST /token: the RFC 6749 §4.3 resource owner password credentials grant."""

import logging
import time
from urllib.parse import parse_qsl

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from issuer.errors import (
    NO_STORE,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    TemporarilyUnavailable,
    UnsupportedGrantType,
)
from issuer.keys.keyring import NoSigningKey
from issuer.services import IssuerServices, Services
from issuer.tokens import access_token_claims, sign_access_token
from issuer.users import MAX_PASSWORD_LENGTH, SCOPE_TOKEN, User

logger = logging.getLogger("issuer.token")
router = APIRouter()

MAX_BODY_BYTES = 4096
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

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


async def read_form(request: Request) -> dict[str, str]:
    """The form's parameters, each at most once; blank values count as omitted (RFC 6749 §3.1)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise InvalidRequest(f"the request body must be {FORM_CONTENT_TYPE}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise InvalidRequest("the request body is too large")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=16, errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the request body is not a valid form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        # RFC 6749 §3.2: parameters MUST NOT be included more than once.
        if name in form:
            raise InvalidRequest(f"parameter {name!r} is repeated")
        form[name] = value
    return {name: value for name, value in form.items() if value}


def requested_scopes(form: dict[str, str], known: frozenset[str]) -> frozenset[str] | None:
    """The scopes asked for, or None when the request names none (the user's defaults apply)."""
    if "scope" not in form:
        return None
    scopes = frozenset(form["scope"].split(" ")) - {""}
    if not all(SCOPE_TOKEN.match(scope) for scope in scopes):
        raise InvalidScope("the scope parameter is malformed")
    unknown = scopes - known
    if unknown:
        raise InvalidScope(f"unknown scope: {' '.join(sorted(unknown))}")
    return scopes or None


def client_id(form: dict[str, str], services: IssuerServices) -> str:
    if "client_secret" in form or "client_assertion" in form:
        raise InvalidClient("this issuer has public clients only: send no client credentials")
    client = form.get("client_id", services.settings.default_client_id)
    if client not in services.settings.allowed_client_ids:
        raise InvalidClient("unknown client_id")
    return client


def granted_scopes(
    user: User, requested: frozenset[str] | None, defaults: list[str]
) -> frozenset[str]:
    if requested is None:
        return user.scopes & frozenset(defaults) or user.scopes
    if not requested <= user.scopes:
        raise InvalidScope("the requested scope exceeds what this user may be granted")
    return requested


async def issue_token(
    request: Request, services: IssuerServices, outcome: dict[str, str]
) -> JSONResponse:
    settings = services.settings
    form = await read_form(request)
    # grant_type may be omitted so that the seed's curl works verbatim; it then means password.
    if form.get("grant_type", "password") != "password":
        raise UnsupportedGrantType("only the password grant is supported")
    outcome["client"] = client = client_id(form, services)
    username, password = form.get("username"), form.get("password")
    if username is None or password is None:
        raise InvalidRequest("username and password are required")
    outcome["user"] = username[:150]
    requested = requested_scopes(form, frozenset(settings.scopes))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidGrant("invalid username or password")
    # argon2 is slow on purpose: off the event loop, so one login never stalls other requests.
    try:
        user = await anyio.to_thread.run_sync(services.users.authenticate, username, password)
    except SQLAlchemyError:
        logger.exception("the user store failed")
        raise TemporarilyUnavailable("the user store is unavailable; try again shortly") from None
    if user is None:
        raise InvalidGrant("invalid username or password")
    scopes = granted_scopes(user, requested, settings.default_scopes)
    now = services.clock()
    try:
        kid, key = services.keyring.signing_key(now)
    except NoSigningKey:
        raise TemporarilyUnavailable("no signing key is loaded yet; try again shortly") from None
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
    outcome["kid"] = kid
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
    outcome: dict[str, str] = {"outcome": "issued"}
    try:
        return await issue_token(request, services, outcome)
    except OAuthError as error:
        outcome["outcome"] = error.error
        raise
    finally:
        # One line per token request; never the password or the token.
        logger.info(
            "token request",
            extra={
                **outcome,
                "remote": request.client.host if request.client else None,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
