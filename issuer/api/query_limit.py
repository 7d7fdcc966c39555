"""A cap on the query string of the sign-in's pages, checked before anything parses it.

Routing alone makes FastAPI read `request.query_params` (to solve the route's dependencies),
and Starlette parses the whole query on that first read: a 4 MiB query of a million
parameters cost 3.3 to 3.6 s of event-loop time per request before the endpoint could refuse
it. This middleware looks only at the raw bytes, so the refusal costs nothing.

It also refuses a query holding an encoded NUL (`%00`): no parameter of ours holds one, and
PostgreSQL's text type cannot store one, so the client lookup would fail (a 500).
"""

from collections.abc import Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from issuer.api.sign_in_pages import MAX_QUERY_BYTES, error_page
from issuer.grants.authorization_code import Untrusted


class QueryLimit:
    def __init__(
        self, app: ASGIApp, *, paths: Collection[str], limit: int = MAX_QUERY_BYTES
    ) -> None:
        self._app = app
        self._paths = frozenset(paths)
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self._paths:
            refusal = self._refusal(scope.get("query_string", b""))
            if refusal is not None:
                await error_page(refusal)(scope, receive, send)
                return
        await self._app(scope, receive, send)

    def _refusal(self, query: bytes) -> Untrusted | None:
        if len(query) > self._limit:
            return Untrusted("The request is too long.", status_code=414)
        if b"%00" in query:
            return Untrusted("The request holds a character that is not allowed.")
        return None
