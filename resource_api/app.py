"""The resource API's app factory: `GET /users/me` behind the shared verifier."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Security, WebSocket
from fastapi.responses import JSONResponse

from jwtkit import (
    AccessTokenVerifier,
    BearerAuth,
    Clock,
    JwksCache,
    Principal,
    Sleep,
    TrustedIssuer,
    VerifiedTokenCache,
    VerifierObserver,
    add_bearer_error_handlers,
    offered_subprotocol,
    system_clock,
)
from resource_api.config import ResourceApiSettings
from resource_api.documented import BEARER_ERRORS, UserInfo
from resource_api.documented import Caller as CallerInfo
from resource_api.metrics import PrometheusObserver
from resource_api.readiness import readiness
from service_runtime.logs import configure_logging
from service_runtime.metrics import add_metrics_endpoint
from service_runtime.offline_docs import serve_docs_offline

SCOPES = {"profile": "Read your own profile"}
NO_USER_ANSWER = "this token was issued to a service, not a user: there is no user to describe"


def create_app(
    settings: ResourceApiSettings,
    *,
    clock: Clock = system_clock,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
) -> FastAPI:
    """`transport` lets tests reach in-process issuers; by default keys come over HTTP.
    `sleep` is what a WebSocket waits with until its token expires (tests control time)."""
    observer = PrometheusObserver() if settings.metrics else VerifierObserver()
    issuers = [
        TrustedIssuer(
            JwksCache(
                entry.issuer,
                jwks_url=entry.jwks_url,
                policy=settings.jwks_policy,
                transport=transport,
                clock=clock,
                observer=observer,
            ),
            entry.audience,
            entry.algorithms or settings.algorithms,
        )
        for entry in settings.trusted_issuers
    ]
    verifier = AccessTokenVerifier(
        issuers=issuers,
        leeway=settings.leeway,
        clock=clock,
        cache=VerifiedTokenCache(settings.token_cache_size),
        observer=observer,
    )
    bearer = BearerAuth(
        verifier,
        token_url=settings.token_url or f"{verifier.issuer}/token",
        scopes=SCOPES,
        sleep=sleep,
        authorization_url=settings.authorization_url or f"{verifier.issuer}/authorize",
    )
    # A type alias for endpoints, named like the type it stands for.
    CurrentUser = Annotated[Principal, Security(bearer, scopes=["profile"])]  # noqa: N806
    Caller = Annotated[Principal, Security(bearer)]  # noqa: N806 (any valid token, no scope)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with verifier:
            yield

    app = FastAPI(title="Resource API", lifespan=lifespan, docs_url=None, redoc_url=None)
    # No CDN: /docs works where nothing else is reachable. Its sign-in is the issuer's login
    # page (code flow, PKCE); the user only picks scopes.
    serve_docs_offline(
        app,
        init_oauth={
            "clientId": settings.docs_client_id,
            "usePkceWithAuthorizationCodeGrant": True,
            "scopes": " ".join(SCOPES),
        },
    )
    app.state.verifier = verifier
    add_bearer_error_handlers(app, realm=settings.realm)
    if settings.metrics:
        add_metrics_endpoint(app)

    @app.get(
        "/users/me",
        summary="The token's user",
        responses={
            200: {"model": UserInfo, "description": "The user the token speaks for"},
            **BEARER_ERRORS,
            403: {
                "description": "A valid token without the profile scope, or one issued to a"
                " service (client_credentials), which speaks for no user",
                "content": {"application/json": {"example": {"detail": NO_USER_ANSWER}}},
            },
        },
    )
    async def users_me(user: CurrentUser) -> Any:
        if user.kind == "service":
            body = {"detail": NO_USER_ANSWER, "client_id": user.client_id}
            return JSONResponse(body, 403)
        return {
            "username": user.username,
            "sub": user.subject,
            "scopes": sorted(user.scopes),
            "client_id": user.client_id,
            "expires_at": user.expires_at,
        }

    @app.get(
        "/whoami",
        summary="Who the token speaks for: a user or a service",
        responses={200: {"model": CallerInfo}, **BEARER_ERRORS},
    )
    async def whoami(caller: Caller) -> dict[str, Any]:
        return {
            "kind": caller.kind,
            "sub": caller.subject,
            "username": caller.username,
            "client_id": caller.client_id,
            "scopes": sorted(caller.scopes),
        }

    @app.websocket("/ws/echo")
    async def ws_echo(websocket: WebSocket, caller: Caller) -> None:
        """Echoes text frames back; any valid token, in the Authorization header or as a
        `bearer.<token>` subprotocol. Closed with 1008 when the token expires."""
        await websocket.accept(subprotocol=offered_subprotocol(websocket))

        async def echo() -> None:
            async for text in websocket.iter_text():
                await websocket.send_text(text)

        await bearer.serve_until_expiry(websocket, caller, echo)

    @app.get("/healthz", summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        summary="Each trusted issuer's keys are loaded; how fresh they are",
        responses={503: {"description": "No trusted issuer's keys are loaded"}},
    )
    async def readyz() -> JSONResponse:
        body = readiness(verifier)
        return JSONResponse(body, status_code=503 if body["status"] == "not ready" else 200)

    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn calls: settings from the environment, read at call time."""
    settings = ResourceApiSettings()
    configure_logging(settings.log_level)
    return create_app(settings)
