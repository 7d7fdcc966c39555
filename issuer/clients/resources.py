"""Resource indicators (RFC 8707): `resource=<absolute URI>` names the API a token is for.

A registered resource maps its URI to the audience its tokens carry and, optionally, the scopes
it accepts. A client registered by the operator (`clients add`) may ask for a resource whose
audience is one of its registered audiences. A self-registered client (RFC 7591, or a client ID
metadata document) has no audiences of its own: it may ask for any resource the operator
registered (`resources add`), since a user consents to it by name on the consent page and the
audience is always one the operator made. Without `resource`, the client's default audience
is used, then ISSUER_AUDIENCE. One token carries one audience.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError

from issuer.clients.registry import Client
from issuer.errors import InvalidScope, InvalidTarget
from issuer.store.db import session
from issuer.store.models import ResourceRow


class ResourceError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Resource:
    uri: str
    audience: str
    scopes: frozenset[str]


def _resource(row: ResourceRow) -> Resource:
    return Resource(row.uri, row.audience, frozenset(row.scopes.split()))


def _absolute_uri(uri: str) -> bool:
    # RFC 8707 §2: an absolute URI, with no fragment.
    parts = urlsplit(uri)
    return bool(parts.scheme and parts.netloc) and not parts.fragment


class ResourceStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, uri: str, audience: str | None, scopes: frozenset[str]) -> Resource:
        if not _absolute_uri(uri):
            raise ResourceError("a resource is an absolute URI with no fragment (RFC 8707 §2)")
        row = ResourceRow(uri=uri, audience=audience or uri, scopes=" ".join(sorted(scopes)))
        try:
            with session(self._engine) as db, db.begin():
                db.add(row)
        except IntegrityError:
            raise ResourceError(f"resource {uri} already exists") from None
        return _resource(row)

    def get(self, uri: str) -> Resource | None:
        with session(self._engine) as db:
            row = db.get(ResourceRow, uri)
            return None if row is None else _resource(row)

    def list(self) -> list[Resource]:
        with session(self._engine) as db:
            return [_resource(row) for row in db.scalars(select(ResourceRow).order_by("uri"))]

    def remove(self, uri: str) -> bool:
        with session(self._engine) as db, db.begin():
            result = db.execute(delete(ResourceRow).where(ResourceRow.uri == uri))
            return bool(result.rowcount)  # type: ignore[attr-defined]


def target(resource: Resource | None, requested: str | None, client: Client, default: str) -> str:
    """The token's audience. `resource` is the registered one for `requested`, if any."""
    if requested is None:
        return client.default_audience or default
    if resource is None or not _may_ask(client, resource):
        # The same answer for unknown and forbidden: which resources exist is not disclosed.
        raise InvalidTarget("the requested resource is unknown or not allowed for this client")
    return resource.audience


def _may_ask(client: Client, resource: Resource) -> bool:
    # A self-registered client gets tokens only through the code flow, after the user's
    # consent to the resource (issuer/sessions/consents.py), and only for registered ones.
    return client.self_registered or resource.audience in client.audiences


def scopes_for(resource: Resource | None, scopes: frozenset[str]) -> frozenset[str]:
    """Scopes the resource accepts (all, when it names none)."""
    if resource is None or not resource.scopes or scopes <= resource.scopes:
        return scopes
    narrowed = scopes & resource.scopes
    if not narrowed:
        raise InvalidScope("the resource accepts none of the granted scopes")
    return narrowed
