"""Helpers the tests share: settings, in-process apps, real processes, token forging."""

import base64
import contextlib
import os
import subprocess
import sys
import time
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx
from fastapi import FastAPI

from issuer.app import create_app as create_issuer_app
from issuer.config import IssuerSettings
from issuer.services import IssuerServices
from jwtkit.testing import FakeClock

# The service-free basics, here too for the services' tests.
from tests.basics import ISSUER as ISSUER
from tests.basics import ROOT as ROOT
from tests.basics import b64 as b64
from tests.basics import free_port as free_port

# OWASP's second argon2id configuration: the cheapest the issuer accepts, to keep tests quick.
CHEAP_ARGON2 = {"argon2_memory_kib": 19456, "argon2_time_cost": 2, "argon2_parallelism": 1}


# The store the current test runs on (the `database` fixture sets it); None: SQLite in data_dir.
DATABASE_URL: ContextVar[str | None] = ContextVar("DATABASE_URL", default=None)


def issuer_settings(data_dir: Path, **overrides: Any) -> IssuerSettings:
    """Settings for an issuer under test. A test-support default unlike the issuer's own: the
    password grant is ON (`password_grant=True`), since most tests get their tokens with it;
    a test of the real default passes `password_grant=False`."""
    values: dict[str, Any] = {
        "url": ISSUER,
        "data_dir": data_dir,
        "database_url": DATABASE_URL.get(),
        "password_grant": True,
        "scopes": ["profile", "admin"],
        "key_check_interval": 3600,  # tests tick the key schedule themselves
        "key_stale_after": 7200,  # and move the clock up to an hour between ticks
        **CHEAP_ARGON2,
        **overrides,
    }
    return IssuerSettings(**values)


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    """Runs the app's lifespan, as a server would around its requests."""
    async with app.router.lifespan_context(app):
        yield app


@contextlib.asynccontextmanager
async def issuer_client(
    settings: IssuerSettings, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, IssuerServices]]:
    app = create_issuer_app(settings, clock)
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.url) as client:
            yield client, app.state.services


async def password_token(
    client: httpx.AsyncClient, username: str, password: str, **extra: str
) -> str:
    response = await client.post(
        "/token", data={"username": username, "password": password, **extra}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def wait_until_ready(url: str, timeout: float = 30) -> None:
    """Polls a real process's readiness endpoint until it answers 200 (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not become ready within {timeout} s")


@contextlib.contextmanager
def serve(
    module: str, port: int, env: Mapping[str, str], log: Path, *, workers: int = 1
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m MODULE serve` as a real process on a loopback port, stopped afterwards."""
    full_env = {**os.environ, **env}
    argv = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *argv],
            env=full_env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def issuer_process_env(url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a real issuer process under test: its URL and data directory, the
    cheap argon2 parameters, and `settings` by name without the prefix (DEMO_USERS="a:b").
    A test-support default unlike the issuer's own: ISSUER_PASSWORD_GRANT=true, since most
    process tests get their tokens with the password grant (PASSWORD_GRANT="false" turns it
    off)."""
    return {
        "ISSUER_URL": url,
        "ISSUER_DATA_DIR": str(data_dir),
        "ISSUER_PASSWORD_GRANT": "true",
        **{f"ISSUER_{name.upper()}": str(value) for name, value in CHEAP_ARGON2.items()},
        **{f"ISSUER_{name}": value for name, value in settings.items()},
    }


def issuer_cli(env: Mapping[str, str], *args: str) -> str:
    """`python -m issuer ARGS` as a real process; its standard output (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-m", "issuer", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def basic_auth(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 §2.3.1 client_secret_basic: id and secret form-urlencoded, joined by ':'."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def authlib_oauth2_client(name: str = "OAuth2Client") -> Any:
    """Authlib's httpx OAuth2Client class, or another of its httpx integration by `name`
    (AsyncOAuth2Client: on an httpx.ASGITransport), an independent OAuth client for tests,
    imported without the notice it raises about its httpx integration."""
    with warnings.catch_warnings():
        # authlib.deprecate installs an "always" filter when imported: import it first.
        import authlib.deprecate  # noqa: F401

        warnings.simplefilter("ignore")
        from authlib.integrations import httpx_client
    return getattr(httpx_client, name)
