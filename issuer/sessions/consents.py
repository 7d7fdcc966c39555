"""Consents (OpenID Connect Core §3.1.2.4): the scopes a user allowed a third-party client
(`clients add --consent required`), remembered per user and client until revoked (`sessions
revoke --consent`, `users remove`). A request within what was allowed asks nothing; one for
more asks again, and the answer is added to what was allowed (node-oidc-provider's
"previously not requested")."""

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError

from issuer.store.db import session
from issuer.store.models import ConsentRow


class Consents:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def given(self, user_id: str, client_id: str) -> frozenset[str]:
        """The scopes the user allowed the client; empty when never asked or revoked."""
        with session(self._engine) as db:
            scopes = db.scalar(
                select(ConsentRow.scopes).where(
                    ConsentRow.user_id == user_id, ConsentRow.client_id == client_id
                )
            )
        return frozenset(scopes.split()) if scopes else frozenset()

    def grant(self, user_id: str, client_id: str, scopes: frozenset[str], now: float) -> None:
        """Adds `scopes` to what the user allowed the client."""
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
                            )
                        )
                    else:
                        row.scopes = " ".join(sorted(frozenset(row.scopes.split()) | scopes))
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
