"""The issuer's app factory: `create_app(settings)`; nothing reads the environment at import."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from issuer.api import authorize, health, logout, token, token_status, userinfo, wellknown
from issuer.api.errors import oauth_error_response
from issuer.api.query_limit import QueryLimit
from issuer.config import IssuerSettings
from issuer.errors import OAuthError
from issuer.metrics import observe_keys
from issuer.services import IssuerServices
from issuer.sessions import backchannel
from issuer.sessions.backchannel import backchannel_delivery
from issuer.wiring import add_demo_users, build_services
from jwtkit import Clock, add_bearer_error_handlers, system_clock
from service_runtime.logs import configure_logging
from service_runtime.metrics import add_metrics_endpoint
from service_runtime.offline_docs import serve_docs_offline

logger = logging.getLogger("issuer")

Sleep = Callable[[float], Awaitable[None]]

# Login failure rows past every throttling window are deleted this often, in bounded batches.
PRUNE_INTERVAL = 60.0


async def every(interval: float, job: Callable[[], object], what: str, sleep: Sleep) -> None:
    """Runs a blocking `job` in a worker thread every `interval` seconds, until cancelled."""
    while True:
        await sleep(interval)
        try:
            await anyio.to_thread.run_sync(job)
        except Exception:
            # The next tick tries again; for keys, the ones already loaded keep signing until
            # ISSUER_KEY_STALE_AFTER.
            logger.exception("%s failed", what)


def background_jobs(
    services: IssuerServices, sleep: Sleep = asyncio.sleep
) -> list[asyncio.Task[None]]:
    """The key schedule, and the pruning that keeps every bounded table bounded."""
    settings, clock = services.settings, services.clock
    jobs: list[tuple[float, Callable[[], object], str]] = [
        (settings.key_check_interval, services.keyring.refresh, "refreshing keys"),
        (PRUNE_INTERVAL, lambda: services.throttle.prune(clock()), "pruning login failures"),
        (PRUNE_INTERVAL, lambda: services.client_auth.prune(clock()), "pruning assertions"),
        (PRUNE_INTERVAL, lambda: services.refresh_tokens.prune(clock()), "pruning sessions"),
        (PRUNE_INTERVAL, lambda: services.token_status.prune(clock()), "pruning revocations"),
        (PRUNE_INTERVAL, lambda: services.authorization_codes.prune(clock()), "pruning codes"),
        (PRUNE_INTERVAL, lambda: services.sign_in_sessions.prune(clock()), "pruning sign-ins"),
        (
            PRUNE_INTERVAL,
            lambda: services.registration_throttle.prune(clock()),
            "pruning registration counts",
        ),
        (backchannel.DELIVERY_INTERVAL, backchannel_delivery(services).tick, "back-channel logout"),
    ]
    return [asyncio.create_task(every(interval, job, what, sleep)) for interval, job, what in jobs]


def create_app(settings: IssuerSettings, clock: Clock = system_clock) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await anyio.to_thread.run_sync(build_services, settings, clock)
        await anyio.to_thread.run_sync(add_demo_users, services)
        await anyio.to_thread.run_sync(services.keyring.refresh)
        app.state.services = services
        jobs = background_jobs(services)
        try:
            yield
        finally:
            for job in jobs:
                job.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await job
            services.limiter.shutdown()
            services.engine.dispose()

    app = FastAPI(
        title="Token issuer",
        summary="Access tokens (RFC 9068): password, client_credentials, refresh_token",
        lifespan=lifespan,
        docs_url=None,  # served offline below
        redoc_url=None,
    )
    serve_docs_offline(app)
    app.add_exception_handler(OAuthError, oauth_error_response)
    # Before routing, which parses the query string.
    app.add_middleware(QueryLimit, paths=("/authorize", "/logout"))
    if settings.cors_origins:
        # Lets a browser app (such as a resource API's /docs) call /token.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.include_router(token.router)
    token.document_enabled_grants(app, settings)
    app.include_router(authorize.router)
    app.include_router(logout.router)
    app.include_router(token_status.router)
    app.include_router(userinfo.router)
    # /userinfo's refusals: RFC 6750 §3 challenges, as jwtkit answers for resource servers.
    add_bearer_error_handlers(app, realm=settings.url)
    app.include_router(wellknown.router)
    app.include_router(health.router)
    if settings.metrics:

        def keys_by_state() -> None:
            services: IssuerServices | None = getattr(app.state, "services", None)
            if services is not None:
                observe_keys(services.keyring, clock())

        add_metrics_endpoint(app, on_scrape=keys_by_state)
    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn calls: settings from the environment, read at call time."""
    settings = IssuerSettings()
    configure_logging(settings.log_level)
    return create_app(settings)
