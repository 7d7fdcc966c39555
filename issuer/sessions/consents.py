"""Consents (OpenID Connect Core §3.1.2.4): the scopes a user allowed a third-party client
(`clients add --consent required`), remembered per user and client until revoked (`sessions
revoke --consent`, `users remove`). A request within what was allowed asks nothing; one for
more asks again, and the answer is added to what was allowed (node-oidc-provider's
"previously not requested").

A request naming a resource (RFC 8707) is within what was allowed only when that resource was
allowed too: a self-registered client may ask for any registered resource, and the scopes a
user allowed it for one API are not thereby allowed at another. Scopes and resources are
remembered side by side, not as pairs: allowed `profile` for A and `admin` for B, the client
asks nothing for `admin` at A (both were shown to the user, for this client)."""

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError

from issuer.store.db import session
from issuer.store.models import ConsentRow


class Consents:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def given(self, user_id: str, client_id: str, resource: str | None = None) -> frozenset[str]:
        """The scopes the user allowed the client (for `resource`, when one is named); empty
        when never asked, revoked, or the resource was never allowed."""
        with session(self._engine) as db:
            row = db.get(ConsentRow, (user_id, client_id))
            if row is None or (resource is not None and resource not in row.resources.split()):
                return frozenset()
            return frozenset(row.scopes.split())

    def grant(
        self,
        user_id: str,
        client_id: str,
        scopes: frozenset[str],
        now: float,
        resource: str | None = None,
    ) -> None:
        """Adds `scopes` (and `resource`) to what the user allowed the client."""
        resources = frozenset() if resource is None else frozenset({resource})
        for _ in range(2):
            try:
                with session(self._engine) as db, db.begin():
                    row = db.get(ConsentRow, (user_id, client_id), with_for_update=True)
                    if row is None:
                        db.add(
                            ConsentRow(
                                user_id=user_id,
                                client_id=client_id,
                                scopes=" ".join(sorted(scopes)),
                                granted_at=now,
                                resources=" ".join(sorted(resources)),
                            )
                        )
                    else:
                        row.scopes = " ".join(sorted(frozenset(row.scopes.split()) | scopes))
                        allowed = frozenset(row.resources.split()) | resources
                        row.resources = " ".join(sorted(allowed))
                        row.granted_at = now
                return
            except IntegrityError:
                continue  # a concurrent first grant made the row: add to it
        raise RuntimeError("the consent could not be recorded")

    def revoke(self, user_id: str, client_id: str | None = None) -> int:
        """Forgets what the user allowed one client, or every client; how many were."""
        condition = ConsentRow.user_id == user_id
        if client_id is not None:
            condition = condition & (ConsentRow.client_id == client_id)
        with session(self._engine) as db, db.begin():
            result = db.execute(delete(ConsentRow).where(condition))
            return int(result.rowcount)  # type: ignore[attr-defined]
