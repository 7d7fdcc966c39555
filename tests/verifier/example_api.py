"""An API of one's own, protected by jwtkit: GET /me needs a token with the scope profile.

create_app takes the verifier, so that a test hands it one that trusts the testing kit's fake
issuer (docs/protect.md shows this file whole; tests/verifier/test_testing_kit.py tests it)."""

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
