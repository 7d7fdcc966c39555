"""An app's own `shared` package (a common name in service repositories): its API, protected by
jwtkit. jwtkit installs no top-level name but its own, so this package and its neighbours
`issuer`, `resource_api` and `tests` are never shadowed (scripts/check-verifier-install)."""

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import FastAPI, Security

from issuer import ENDPOINT
from jwtkit import AccessTokenVerifier, BearerAuth, Principal, add_bearer_error_handlers
from resource_api import REALM


def create_app(verifier: AccessTokenVerifier) -> FastAPI:
    bearer = BearerAuth(verifier, token_url=f"{verifier.issuer}{ENDPOINT}")

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with verifier:
            yield

    app = FastAPI(lifespan=lifespan)
    add_bearer_error_handlers(app, realm=REALM)

    @app.get("/me")
    async def me(
        user: Annotated[Principal, Security(bearer, scopes=["profile"])],
    ) -> dict[str, str]:
        return {"user": user.subject}

    return app
