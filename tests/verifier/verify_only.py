"""An app that only verifies tokens, as a user writes it: run by scripts/check-verifier-install
in a venv that holds nothing but the verifier's dependencies, and by
tests/verifier/test_verifier_dependencies.py with the services' packages hidden. Self-contained: it
imports nothing from tests/."""

import contextlib
import io
import sys
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import FastAPI, Security
from fastapi.testclient import TestClient

from jwtkit import BearerAuth, Principal, add_bearer_error_handlers
from jwtkit.__main__ import main as verifier_cli
from jwtkit.testing import FakeIssuer

# What only the issuer and the resource API service need.
SERVICE_ONLY = (
    "alembic",
    "argon2",
    "issuer",
    "psycopg",
    "pydantic_settings",
    "resource_api",
    "sqlalchemy",
    "uvicorn",
)


def main() -> None:
    fake = FakeIssuer()
    verifier = fake.verifier()
    bearer = BearerAuth(verifier, token_url=f"{fake.issuer}/token")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with verifier:
            yield

    app = FastAPI(lifespan=lifespan)
    add_bearer_error_handlers(app, realm="my-api")

    @app.get("/me")
    async def me(user: Annotated[Principal, Security(bearer, scopes=["profile"])]) -> str:
        return user.subject

    with TestClient(app) as client:
        good = client.get("/me", headers={"Authorization": f"Bearer {fake.token('alice')}"})
        bad = client.get("/me", headers={"Authorization": f"Bearer {fake.token(expired=True)}"})
    assert (200, "alice") == (good.status_code, good.json()), good.text
    assert 401 == bad.status_code, bad.text
    out = io.StringIO()
    argv = ["inspect", fake.token(), "--issuer", fake.issuer, "--audience", fake.audience]
    assert 0 == verifier_cli(argv, out=out, transport=fake.transport()), out.getvalue()
    loaded = sorted(name for name in SERVICE_ONLY if name in sys.modules)
    assert not loaded, f"the verifier imported {loaded}"
    print("the verifier, its testing kit and its inspector work with their own dependencies")


if __name__ == "__main__":
    main()
