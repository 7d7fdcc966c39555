"""Liveness and readiness probes."""

import anyio.to_thread
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from issuer.api.dependencies import Services
from issuer.store.db import database_reachable

router = APIRouter()


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Database reachable and a signing key loaded",
    responses={503: {"description": "Not ready: the database or the signing key is missing"}},
)
async def readyz(services: Services) -> JSONResponse:
    database = await anyio.to_thread.run_sync(database_reachable, services.engine)
    signing_key = services.keyring.ready
    ready = database and signing_key
    return JSONResponse(
        {
            "status": "ready" if ready else "not ready",
            "database": database,
            "signing_key": signing_key,
        },
        status_code=200 if ready else 503,
    )
