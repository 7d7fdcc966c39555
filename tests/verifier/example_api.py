"""A user's own API protected by the verifier, written as the README's "Test your own API"
section shows it; tests/verifier/test_testing_kit.py tests it with the kit."""

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import FastAPI, Security

from jwtkit import AccessTokenVerifier, BearerAuth, Principal, add_bearer_error_handlers


def create_app(verifier: AccessTokenVerifier) -> FastAPI:
    bearer = BearerAuth(verifier, token_url=f"{verifier.issuer}/token")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with verifier:
            yield

    app = FastAPI(lifespan=lifespan)
    add_bearer_error_handlers(app, realm="my-api")

    @app.get("/me")
    async def me(
        user: Annotated[Principal, Security(bearer, scopes=["profile"])],
    ) -> dict[str, str]:
        return {"user": user.subject}

    return app
