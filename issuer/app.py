"""The issuer's app factory: `create_app(settings)`; nothing reads the environment at import."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import Engine

from issuer.api import health, token, wellknown
from issuer.config import IssuerSettings
from issuer.db import open_database
from issuer.errors import OAuthError, oauth_error_response
from issuer.keys.keyring import KeyRing
from issuer.keys.lifecycle import KeyLifecycle
from issuer.keys.schedule import Schedule
from issuer.keys.store import KeyStore
from issuer.passwords import password_hasher
from issuer.services import IssuerServices
from issuer.users import UserError, UserStore
from shared.clock import Clock, system_clock
from shared.logging import configure_logging

logger = logging.getLogger("issuer")

Sleep = Callable[[float], Awaitable[None]]


def key_schedule(settings: IssuerSettings) -> Schedule:
    return Schedule(
        rotation_interval=settings.key_rotation_interval,
        publish_ahead=settings.key_publish_ahead,
        retired_grace=settings.access_token_ttl + settings.verifier_leeway,
    )


def key_lifecycle(settings: IssuerSettings, engine: Engine) -> KeyLifecycle:
    passphrase = settings.passphrase()
    if passphrase is None:
        logger.warning(
            "ISSUER_KEY_PASSPHRASE is not set: private signing keys are stored UNENCRYPTED. "
            "Set it (or ISSUER_KEY_PASSPHRASE_FILE) outside local development."
        )
    return KeyLifecycle(KeyStore(engine, passphrase, settings.key_size), key_schedule(settings))


def build_services(settings: IssuerSettings, clock: Clock) -> IssuerServices:
    """Opens the database and the stores; blocking, so run it in a thread from async code."""
    engine = open_database(settings.sqlalchemy_url, settings.data_dir)
    keyring = KeyRing(key_lifecycle(settings, engine), clock)
    users = UserStore(engine, password_hasher(settings), clock)
    return IssuerServices(settings, clock, engine, users, keyring)


def add_demo_users(services: IssuerServices) -> None:
    credentials = services.settings.demo_credentials()
    if not credentials:
        return
    logger.warning(
        "ISSUER_DEMO_USERS is set: demo users with known passwords exist. For demos only.",
        extra={"users": [name for name, _ in credentials]},
    )
    scopes = frozenset(services.settings.default_scopes)
    for name, password in credentials:
        if not services.users.exists(name):
            with contextlib.suppress(UserError):  # another process added it just now
                services.users.add(name, password, scopes)


async def keep_keys_fresh(keyring: KeyRing, interval: float, sleep: Sleep = asyncio.sleep) -> None:
    """Runs the key schedule and reloads keys every `interval` seconds, in a worker thread."""
    while True:
        await sleep(interval)
        try:
            await anyio.to_thread.run_sync(keyring.refresh)
        except Exception:
            # Keep signing with the keys already loaded; the next tick tries again.
            logger.exception("refreshing signing keys failed")


def create_app(settings: IssuerSettings, clock: Clock = system_clock) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await anyio.to_thread.run_sync(build_services, settings, clock)
        await anyio.to_thread.run_sync(add_demo_users, services)
        await anyio.to_thread.run_sync(services.keyring.refresh)
        app.state.services = services
        refresher = asyncio.create_task(
            keep_keys_fresh(services.keyring, settings.key_check_interval)
        )
        try:
            yield
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            services.engine.dispose()

    app = FastAPI(
        title="Token issuer",
        summary="RS256 access tokens (RFC 9068) for the password grant",
        lifespan=lifespan,
    )
    app.add_exception_handler(OAuthError, oauth_error_response)
    if settings.cors_origins:
        # Lets a browser app (such as a resource API's /docs) call /token.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.include_router(token.router)
    app.include_router(wellknown.router)
    app.include_router(health.router)
    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn calls: settings from the environment, read at call time."""
    settings = IssuerSettings()
    configure_logging(settings.log_level)
    return create_app(settings)
