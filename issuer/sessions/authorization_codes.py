"""Authorization codes (RFC 6749 §4.1, RFC 7636): single use, 60 seconds, bound to the client,
the redirect URI and the PKCE challenge (S256 only). Stored by the SHA-256 of their value.

A code presented a second time is refused, and what the first redemption issued is revoked
(RFC 6749 §4.1.2): its refresh token family, and its access token's jti for introspection.
Concurrent redemptions are decided by conditional updates, never by a uniqueness error: one
wins, the others are second uses, and whichever of "the winner records what it issued" and
"a second use looks for it" comes last does the revoking.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute

from issuer.errors import InvalidGrant, InvalidTarget
from issuer.sessions.refresh_tokens import RefreshTokens, token_hash
from issuer.store.db import session
from issuer.store.models import AuthorizationCodeRow, RevokedAccessTokenRow

CODE_TTL = 60.0
# In access_jti: a second use came while the first was still issuing (a jti is 32 hex digits).
REPLAYED = "replayed"


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier)))."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True, slots=True)
class Redeemed:
    code_hash: str
    user_id: str
    scopes: frozenset[str]
    # OpenID Connect: the request's nonce and the sign-in the code came from (None for a
    # code issued before 0008).
    nonce: str | None = None
    auth_time: int | None = None
    sid: str | None = None
    resource: str | None = None  # RFC 8707 §2.1: the authorization request's (0009)


class AuthorizationCodes:
    def __init__(self, engine: Engine, refresh_tokens: RefreshTokens) -> None:
        self._engine = engine
        self._refresh_tokens = refresh_tokens

    def issue(
        self,
        *,
        client_id: str,
        redirect_uri: str,
        code_challenge: str,
        user_id: str,
        scopes: frozenset[str],
        now: float,
        nonce: str | None = None,
        auth_time: int | None = None,
        sid: str | None = None,
        resource: str | None = None,
    ) -> str:
        code = secrets.token_urlsafe(32)
        row = AuthorizationCodeRow(
            code_hash=token_hash(code),
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            user_id=user_id,
            scopes=" ".join(sorted(scopes)),
            expires_at=now + CODE_TTL,
            nonce=nonce,
            auth_time=auth_time,
            sid=sid,
            resource=resource,
        )
        with session(self._engine) as db, db.begin():
            db.add(row)
        return code

    def redeem(
        self,
        code: str,
        *,
        client_id: str,
        redirect_uri: str,
        code_verifier: str,
        now: float,
        resource: str | None = None,
    ) -> Redeemed:
        """The code's grant, once; InvalidGrant for anything else (same words for each, so
        that a caller learns nothing about which check failed). `resource`, the token
        request's: none, or the code's; another is InvalidTarget and leaves the code unused
        (checked last, so that only the code's holder learns that it was the resource)."""
        code_hash = token_hash(code)
        with session(self._engine) as db:
            row = db.get(AuthorizationCodeRow, code_hash)
        if row is None or row.client_id != client_id:
            raise _refused()
        if row.used_at is not None:
            self._second_use(code_hash, now)
            raise _refused()
        if (
            now >= row.expires_at
            or row.redirect_uri != redirect_uri
            or not hmac.compare_digest(s256(code_verifier), row.code_challenge)
        ):
            raise _refused()
        if resource is not None and resource != row.resource:
            # RFC 8707 §2.2: a code's token is for the resource of its authorization request.
            raise InvalidTarget("the resource is not the one the authorization request named")
        # Conditional: of concurrent redemptions, exactly one wins; the others are second uses.
        if not self._set_if_unset(code_hash, AuthorizationCodeRow.used_at, used_at=now):
            self._second_use(code_hash, now)
            raise _refused()
        return Redeemed(
            code_hash,
            row.user_id,
            frozenset(row.scopes.split()),
            nonce=row.nonce,
            auth_time=row.auth_time,
            sid=row.sid,
            resource=row.resource,
        )

    def record_issued(
        self,
        code_hash: str,
        *,
        client_id: str,
        refresh_token: str | None,
        access_jti: str,
        access_expires_at: float,
        now: float,
    ) -> None:
        """Keeps what the redemption issued with the code; when a second use came first (it
        left REPLAYED), revokes it at once instead."""
        family = (
            None
            if refresh_token is None
            else self._refresh_tokens.family_for_client(refresh_token, client_id)
        )
        recorded = self._set_if_unset(
            code_hash,
            AuthorizationCodeRow.access_jti,
            refresh_family_id=family,
            access_jti=access_jti,
            access_expires_at=access_expires_at,
        )
        if not recorded:
            self._revoke(family, access_jti, access_expires_at, now)

    def expire_user(self, user_id: str, now: float) -> int:
        """Ends the user's codes not yet exchanged (their credentials changed): a code issued
        before the change would otherwise start a refresh family after it."""
        with session(self._engine) as db, db.begin():
            return int(
                db.execute(
                    update(AuthorizationCodeRow)
                    .where(
                        AuthorizationCodeRow.user_id == user_id,
                        AuthorizationCodeRow.used_at.is_(None),
                        AuthorizationCodeRow.expires_at > now,
                    )
                    .values(expires_at=now)
                ).rowcount  # type: ignore[attr-defined]
            )

    def prune(self, now: float) -> int:
        """Codes past their life and any token they issued (a reuse after that revokes
        nothing that still works)."""
        horizon = now - 86400
        with session(self._engine) as db, db.begin():
            return int(
                db.execute(
                    delete(AuthorizationCodeRow).where(AuthorizationCodeRow.expires_at < horizon)
                ).rowcount  # type: ignore[attr-defined]
            )

    def _second_use(self, code_hash: str, now: float) -> None:
        """Revokes what the first use issued; while the first use is still issuing (nothing
        recorded yet), leaves REPLAYED for it to find, so that it revokes its own tokens.
        Either order ends the same way, and concurrent second uses are harmless."""
        if self._set_if_unset(code_hash, AuthorizationCodeRow.access_jti, access_jti=REPLAYED):
            return
        with session(self._engine) as db:
            row = db.get(AuthorizationCodeRow, code_hash)
        if row is not None and row.access_jti != REPLAYED:
            self._revoke(row.refresh_family_id, row.access_jti, row.access_expires_at, now)

    def _set_if_unset(
        self, code_hash: str, unset: InstrumentedAttribute[Any], **values: object
    ) -> bool:
        """One conditional UPDATE: sets `values` on the code only while `unset` is NULL, so that
        of concurrent writers exactly one wins, on SQLite and PostgreSQL alike."""
        with session(self._engine) as db, db.begin():
            result = db.execute(
                update(AuthorizationCodeRow)
                .where(AuthorizationCodeRow.code_hash == code_hash, unset.is_(None))
                .values(**values)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def _revoke(
        self, family_id: str | None, access_jti: str | None, expires_at: float | None, now: float
    ) -> None:
        if family_id is not None:
            self._refresh_tokens.revoke_family(family_id, now)
        if access_jti is None or expires_at is None:
            return
        try:
            with session(self._engine) as db, db.begin():
                db.add(RevokedAccessTokenRow(jti=access_jti, expires_at=expires_at))
        except IntegrityError:
            pass  # a concurrent second use revoked it already


def _refused() -> InvalidGrant:
    return InvalidGrant("the authorization code is invalid, expired or already used")
