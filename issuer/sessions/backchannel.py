"""OpenID Connect Back-Channel Logout 1.0: when a sign-in session ends, every client that got
an `openid` code from it and registered a `backchannel_logout_uri` is sent a logout token, so
that the app's own session for the user ends too.

Ending (`BackchannelLogout`): /logout, `sessions revoke --sign-in/--user`, `users passwd` and
`users remove` call it as they end a session. It writes one outbox row per such client
(issuer/sessions/backchannel_outbox.py) before the session's row goes, so that a failure in
between can only tell an app of an ending that did not happen yet (and will be retried), never
end a session silently; and it revokes the refresh tokens that session's `openid` sign-ins
started (§2.7).

Sending (`BackchannelDelivery.tick`, a background job of issuer/app.py): each claimed row's
logout token (§2.4) is POSTed form-encoded as `logout_token` (§2.5) to the URI registered now,
and only there. SSRF care: no redirect is followed, no proxy from the environment is used,
every phase of the request has a 5 s timeout and the response body is never read. 200 or 204
is delivered (§2.8: "If the logout succeeded, the RP MUST respond with HTTP 200 OK"; node's
provider takes 204 too); anything else is tried again with exponential backoff, at most
MAX_ATTEMPTS times, then dropped with one log line.
"""

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine, select

from issuer.clients.registry import ClientStore
from issuer.keys.keyring import KeyRing, NoSigningKey, Signer
from issuer.services import IssuerServices
from issuer.sessions.backchannel_outbox import MAX_ATTEMPTS, BackchannelOutbox, Delivery
from issuer.sessions.refresh_tokens import RefreshTokens
from issuer.sessions.session_clients import SessionClients
from issuer.store.db import session
from issuer.store.models import RefreshTokenRow, SignInSessionRow
from issuer.tokens.jws import sign_jwt
from jwtkit import Clock
from jwtkit.contract import LOGOUT_TOKEN_TYPE

logger = logging.getLogger("issuer.backchannel")

# §2.4: "events ... MUST contain the member name http://schemas.openid.net/event/
# backchannel-logout"; its value is an empty JSON object.
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TTL = 120  # §2.4 asks for a short lifetime; node's provider uses 120 s
SEND_TIMEOUT = 5.0
FIRST_RETRY = 30.0  # then 60, 120, 240 s: five attempts over about 7.5 minutes
BATCH = 10  # claimed per tick: 10 sends of at most 5 s each fit in the outbox's lease
DELIVERY_INTERVAL = 5.0


def logout_token_claims(
    *, issuer: str, client_id: str, sub: str, sid: str | None, now: float
) -> dict[str, Any]:
    """§2.4: iss, aud, iat, exp, jti, events, and sub and sid (a session always has a sid
    here, so backchannel_logout_session_required is always met). Never a nonce."""
    issued_at = int(now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": client_id,
        "iat": issued_at,
        "exp": issued_at + LOGOUT_TOKEN_TTL,
        "jti": uuid.uuid4().hex,
        "events": {LOGOUT_EVENT: {}},
        "sub": sub,
    }
    if sid is not None:
        claims["sid"] = sid
    return claims


def next_attempt_at(attempt: int, now: float) -> float | None:
    """After failed attempt number `attempt` (from 1): when to try again; None: give up."""
    if attempt >= MAX_ATTEMPTS:
        return None
    return now + FIRST_RETRY * 2.0 ** (attempt - 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class BackchannelLogout:
    """Whom to tell when sign-in sessions end, and the refresh tokens that end with them."""

    engine: Engine
    clients: ClientStore
    session_clients: SessionClients
    refresh_tokens: RefreshTokens
    outbox: BackchannelOutbox

    def session_ending(self, sid: str, sub: str, now: float) -> int:
        """Queues a logout token for each of the session's clients with a back-channel URI
        and revokes the session's refresh tokens; how many tokens were queued."""
        queued = 0
        for client_id in self.session_clients.of(sid):
            client = self.clients.get(client_id)
            if client is not None and client.backchannel_logout_uri:
                self.outbox.enqueue(client_id, sub, sid, now)
                queued += 1
        self._revoke_openid_families(sid, now)
        self.session_clients.forget(sid)
        return queued

    def _revoke_openid_families(self, sid: str, now: float) -> None:
        """§2.7: "Refresh tokens issued without the offline_access property to a session being
        logged out SHOULD be revoked" (offline_access is never granted here, decision 6). Only
        the families granted `openid`: a plain OAuth app's refresh family is its own session,
        which outlives the browser's sign-in as it did before OpenID Connect."""
        query = select(RefreshTokenRow.family_id, RefreshTokenRow.scopes).where(
            RefreshTokenRow.sid == sid, RefreshTokenRow.revoked_at.is_(None)
        )
        with session(self.engine) as db:
            rows = list(db.execute(query))
        for family_id in {family for family, scopes in rows if "openid" in scopes.split()}:
            self.refresh_tokens.revoke_family(family_id, now)

    def sign_in_ending(self, session_id: str, now: float) -> int:
        """`sessions revoke --sign-in ID`, before the row goes."""
        return self._ending(SignInSessionRow.session_id == session_id, now)

    def user_signing_out(self, user_id: str, now: float) -> int:
        """Every unexpired session of the user, whatever its credential generation: the
        generation has already moved on when `users passwd/remove` and `sessions revoke
        --user` get here, and the rows are still there until they are deleted next."""
        return self._ending(SignInSessionRow.user_id == user_id, now)

    def _ending(self, condition: Any, now: float) -> int:
        query = select(SignInSessionRow.session_id, SignInSessionRow.user_id).where(
            condition, SignInSessionRow.expires_at > now
        )
        with session(self.engine) as db:
            ending = list(db.execute(query))
        return sum(self.session_ending(sid, sub, now) for sid, sub in ending)


class BackchannelDelivery:
    """The job that sends the outbox's logout tokens; `tick()` is one round, driven by
    issuer/app.py's job loop or directly by a test."""

    def __init__(
        self,
        *,
        outbox: BackchannelOutbox,
        clients: ClientStore,
        keyring: KeyRing,
        issuer: str,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._outbox = outbox
        self._clients = clients
        self._keyring = keyring
        self._issuer = issuer
        self._clock = clock
        self._transport = transport

    def tick(self) -> int:
        """Claims the due rows and sends each once; how many were attempted."""
        now = self._clock()
        self._outbox.prune(now)
        try:
            signer = self._keyring.signer(now)
        except NoSigningKey:
            return 0  # nothing can be signed yet: the rows wait, no attempt is spent
        claimed = self._outbox.claim(now, BATCH)
        if claimed:
            with self._http() as http:
                for delivery in claimed:
                    self._deliver(delivery, signer, http.post_form)
        return len(claimed)

    def _http(self) -> "_Sender":
        return _Sender(
            httpx.Client(
                transport=self._transport,
                timeout=SEND_TIMEOUT,
                follow_redirects=False,
                trust_env=False,
            )
        )

    def _deliver(
        self, delivery: Delivery, signer: Signer, post: Callable[[str, str], str | None]
    ) -> None:
        client = self._clients.get(delivery.client_id)
        uri = client.backchannel_logout_uri if client is not None else None
        if not uri:
            self._give_up(delivery, "the client no longer has a backchannel_logout_uri")
            return
        claims = logout_token_claims(
            issuer=self._issuer,
            client_id=delivery.client_id,
            sub=delivery.sub,
            sid=delivery.sid,
            now=self._clock(),
        )
        error = post(uri, sign_jwt(claims, signer, LOGOUT_TOKEN_TYPE))
        if error is None:
            self._outbox.delivered(delivery.id)
            return
        retry = next_attempt_at(delivery.attempt, self._clock())
        if retry is None:
            self._give_up(delivery, error)
        else:
            self._outbox.failed(delivery.id, error, retry)

    def _give_up(self, delivery: Delivery, error: str) -> None:
        self._outbox.failed(delivery.id, error, None)
        logger.warning(
            "back-channel logout dropped",
            extra={
                "client_id": delivery.client_id,
                "sid": delivery.sid,
                "attempts": delivery.attempt,
                "error": error,
            },
        )


@dataclass(frozen=True, slots=True)
class _Sender:
    client: httpx.Client

    def __enter__(self) -> "_Sender":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.client.close()

    def post_form(self, uri: str, logout_token: str) -> str | None:
        """None when the RP answered 200 or 204; else what went wrong. The body is not read."""
        try:
            with self.client.stream("POST", uri, data={"logout_token": logout_token}) as answer:
                status = answer.status_code
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        return None if status in (200, 204) else f"HTTP {status}"


def backchannel_logout_for(engine: Engine, refresh_tokens: RefreshTokens) -> BackchannelLogout:
    """For the CLI's commands that end sessions (issuer/wiring.py::user_sessions)."""
    return BackchannelLogout(
        engine=engine,
        clients=ClientStore(engine, time.time),
        session_clients=SessionClients(engine),
        refresh_tokens=refresh_tokens,
        outbox=BackchannelOutbox(engine),
    )


def backchannel_logout(services: IssuerServices) -> BackchannelLogout:
    return BackchannelLogout(
        engine=services.engine,
        clients=services.clients,
        session_clients=services.session_clients,
        refresh_tokens=services.refresh_tokens,
        outbox=BackchannelOutbox(services.engine),
    )


def backchannel_delivery(services: IssuerServices) -> BackchannelDelivery:
    """The job issuer/app.py runs every DELIVERY_INTERVAL seconds."""
    return BackchannelDelivery(
        outbox=BackchannelOutbox(services.engine),
        clients=services.clients,
        keyring=services.keyring,
        issuer=services.settings.url,
        clock=services.clock,
    )
