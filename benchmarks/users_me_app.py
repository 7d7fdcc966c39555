"""The resource API with two twins of GET /users/me, served by the same process:

- /bench/anonymous: the same response, no authentication at all (the ceiling);
- /bench/noop-security: the same response behind a FastAPI Security dependency that checks
  nothing, to show what FastAPI's dependency machinery alone costs;
- /bench/pyjwt: the common recipe, PyJWT's PyJWKClient plus jwt.decode (RS256).
"""

from typing import Annotated, Any

import jwt
from fastapi import FastAPI, Header, HTTPException, Request, Security
from fastapi.security import SecurityScopes

from resource_api.app import create_app
from resource_api.config import ResourceApiSettings


def bench_app() -> FastAPI:
    settings = ResourceApiSettings()
    app = create_app(settings)
    recipe_keys = jwt.PyJWKClient(f"{settings.issuer_url}/.well-known/jwks.json", cache_keys=True)

    @app.get("/bench/anonymous")
    async def anonymous() -> dict[str, Any]:
        return {
            "username": "bench",
            "sub": "7b0c3f0e-3b8a-4c1e-9a55-1f0e2f1d2c3b",
            "scopes": ["profile"],
            "client_id": "default",
            "expires_at": 1_900_000_000,
        }

    async def accept_anything(request: Request, security_scopes: SecurityScopes) -> str:
        return "bench"

    @app.get("/bench/noop-security")
    async def noop_security(
        _user: Annotated[str, Security(accept_anything, scopes=["profile"])],
    ) -> dict[str, Any]:
        return await anonymous()

    @app.get("/bench/pyjwt")
    async def pyjwt_recipe(authorization: Annotated[str, Header()]) -> dict[str, Any]:
        token = authorization.removeprefix("Bearer ")
        try:
            key = recipe_keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=settings.audience,
                issuer=settings.issuer_url,
            )
        except jwt.PyJWTError as error:
            raise HTTPException(401, "invalid token") from error
        return {
            "username": claims.get("preferred_username"),
            "sub": claims["sub"],
            "scopes": sorted(claims.get("scope", "").split()),
            "client_id": claims.get("client_id"),
            "expires_at": claims["exp"],
        }

    return app
