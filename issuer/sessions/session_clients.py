"""The clients each sign-in session gave an `openid` code to: whom Back-Channel Logout 1.0
tells when that session ends (issuer/sessions/backchannel_outbox.py)."""

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError

from issuer.store.db import session
from issuer.store.models import SignInSessionClientRow


class SessionClients:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, sid: str, client_id: str) -> None:
        """Records that the client signed in through session `sid`; again is no change."""
        with session(self._engine) as db:
            if db.get(SignInSessionClientRow, (sid, client_id)) is not None:
                return
        try:
            with session(self._engine) as db, db.begin():
                db.add(SignInSessionClientRow(session_id=sid, client_id=client_id))
        except IntegrityError:
            pass  # added at the same moment by another request

    def of(self, sid: str) -> list[str]:
        """The session's clients, by client id."""
        query = (
            select(SignInSessionClientRow.client_id)
            .where(SignInSessionClientRow.session_id == sid)
            .order_by(SignInSessionClientRow.client_id)
        )
        with session(self._engine) as db:
            return list(db.scalars(query))

    def forget(self, sid: str) -> int:
        """The session's rows, once its end has been told to its clients."""
        with session(self._engine) as db, db.begin():
            result = db.execute(
                delete(SignInSessionClientRow).where(SignInSessionClientRow.session_id == sid)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]
