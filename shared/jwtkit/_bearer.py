"""FastAPI integration: a `Security` dependency that yields a `Principal`.

verifier = AccessTokenVerifier(JwksCache(issuer), audience="my-api")
bearer = BearerAuth(verifier, token_url=f"{issuer}/token", scopes={"profile": "..."})

@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with verifier:  # fetches the keys at start, refreshes them in the background
        yield

app = FastAPI(lifespan=lifespan)
add_bearer_error_handlers(app, realm="my-api")

@app.get("/me")
async def me(user: Annotated[Principal, Security(bearer, scopes=["profile"])]): ...
"""

import asyncio
import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, WebSocket, WebSocketException
from fastapi.openapi.models import OAuthFlowAuthorizationCode, OAuthFlowPassword, OAuthFlows
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2, SecurityScopes
from starlette.requests import HTTPConnection

from jwtkit._errors import (
    BearerError,
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    KeysUnavailable,
    MissingCredentials,
    VerifierError,
)
from jwtkit._principal import Principal
from jwtkit._revocation import RevocationCheck
from jwtkit._verifier import AccessTokenVerifier
from jwtkit._websocket import (
    POLICY_VIOLATION,
    TRY_AGAIN_LATER,
    Sleep,
    serve_until_expiry,
    subprotocol_token,
)

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")


def bearer_token(request: HTTPConnection, *, optional: bool = False) -> str:
    """The token from the Authorization header (RFC 6750 §2.1), the only place an HTTP request
    may carry it. `optional`: "" when there is no header (a WebSocket may use its protocol)."""
    # RFC 6750 §2.3 allows a URI query parameter but warns it leaks into logs and history.
    if request.scope["query_string"] and "access_token" in request.query_params:
        raise InvalidRequest("send the token in the Authorization header, not the query string")
    # The raw ASGI header list, not request.headers: this runs on every protected request.
    headers: list[tuple[bytes, bytes]] = request.scope["headers"]
    values = [value for name, value in headers if name == b"authorization"]
    if not values and optional:
        return ""
    if not values:
        raise MissingCredentials("no credentials")
    if len(values) > 1:
        raise InvalidRequest("send one Authorization header")
    scheme, _, token = values[0].decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer":
        raise MissingCredentials("no bearer credentials")
    return token.strip()


def check_token_syntax(token: str) -> None:
    if not _B64TOKEN.match(token):
        raise InvalidRequest("the Authorization header is not a well-formed bearer token")


def websocket_token(connection: HTTPConnection) -> str:
    """A WebSocket's token: the Authorization header or a `bearer.<token>` subprotocol."""
    from_header = bearer_token(connection, optional=True)
    from_protocol = subprotocol_token(connection)
    if from_header and from_protocol is not None:
        raise InvalidRequest("send the token once: header or subprotocol")
    token = from_header or from_protocol
    if not token:
        raise MissingCredentials("no credentials")
    return token


class BearerAuth(OAuth2):
    """Verifies the bearer token and the endpoint's scopes, on HTTP and WebSocket routes;
    declares the OAuth2 password flow in OpenAPI so that /docs can log in at the issuer's
    token endpoint."""

    def __init__(
        self,
        verifier: AccessTokenVerifier,
        *,
        token_url: str,
        scopes: dict[str, str] | None = None,
        scheme_name: str = "issuer",
        check_revocation: RevocationCheck | None = None,
        sleep: Sleep = asyncio.sleep,
        authorization_url: str | None = None,
    ) -> None:
        """`check_revocation`: also ask the issuer whether the token was revoked (a second
        BearerAuth with it, for the endpoints that need it; see shared/jwtkit/_revocation.py).
        `authorization_url`: also declare the authorization code flow for /docs."""
        flows = OAuthFlows(password=OAuthFlowPassword(tokenUrl=token_url, scopes=scopes or {}))
        if authorization_url is not None:
            # The browser sign-in (authorization code with PKCE), beside the password flow.
            flows.authorizationCode = OAuthFlowAuthorizationCode(
                authorizationUrl=authorization_url, tokenUrl=token_url, scopes=scopes or {}
            )
        super().__init__(flows=flows, scheme_name=scheme_name)
        self.verifier = verifier
        self.check_revocation = check_revocation
        self._sleep = sleep

    async def __call__(  # type: ignore[override]
        self, connection: HTTPConnection, security_scopes: SecurityScopes
    ) -> Principal:
        websocket = connection.scope["type"] == "websocket"
        observer = self.verifier.observer
        try:
            token = websocket_token(connection) if websocket else bearer_token(connection)
            principal = await self._authenticate(token, security_scopes)
        except VerifierError as error:
            observer.verification(outcome_of(error))
            if websocket:
                _close_handshake(error)
            raise
        observer.verification("ok")
        return principal

    async def serve_until_expiry(
        self, websocket: WebSocket, principal: Principal, session: Callable[[], Awaitable[None]]
    ) -> None:
        """Runs `session`; closes the connection with 1008 when the token expires (as the
        verifier judges it: exp plus the leeway)."""
        await serve_until_expiry(
            websocket,
            session,
            expires_at=principal.expires_at + self.verifier.leeway,
            clock=self.verifier.clock,
            sleep=self._sleep,
        )

    async def _authenticate(self, token: str, security_scopes: SecurityScopes) -> Principal:
        # A token verified before is well-formed by definition: skip the syntax scan.
        principal = self.verifier.cached(token)
        self.verifier.observer.token_cache(principal is not None)
        if principal is None:
            # The RFC 6750 syntax scan runs once the verifier has found the length sane.
            principal = await self.verifier.verify_uncached(token, screen=check_token_syntax)
        required = frozenset(security_scopes.scopes)
        if not required <= principal.scopes:
            raise InsufficientScope(required)
        if self.check_revocation is not None:
            await self.check_revocation.ensure_active(token, principal)
        return principal


def outcome_of(error: VerifierError) -> str:
    """A refusal's class, from a fixed set (a metrics label)."""
    if isinstance(error, InvalidToken):
        return error.rule
    if isinstance(error, KeysUnavailable):
        return "keys_unavailable"
    return {
        MissingCredentials: "missing_credentials",
        InvalidRequest: "invalid_request",
        InsufficientScope: "insufficient_scope",
    }.get(type(error), "refused")


def _close_handshake(error: VerifierError) -> None:
    """A WebSocket refused before the handshake is accepted: the client sees the close code
    (a server that cannot fetch keys says try again later, as HTTP's 503 does)."""
    code = TRY_AGAIN_LATER if isinstance(error, KeysUnavailable) else POLICY_VIOLATION
    raise WebSocketException(code, error.description) from None


def add_bearer_error_handlers(app: FastAPI, realm: str) -> None:
    """Answers verifier errors as RFC 6750 §3 challenges (and 503 while keys are unavailable)."""

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, VerifierError)
        headers = {"Cache-Control": "no-store"}
        body: dict[str, str] = {"error_description": exc.description}
        if isinstance(exc, BearerError):
            headers["WWW-Authenticate"] = exc.challenge(realm)
            if exc.error is not None:
                body["error"] = exc.error
        elif isinstance(exc, KeysUnavailable):
            headers["Retry-After"] = str(exc.retry_after)
            body["error"] = "temporarily_unavailable"
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    app.add_exception_handler(VerifierError, handle)
