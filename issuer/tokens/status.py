"""Whether a token is still good: revocation (RFC 7009) and introspection (RFC 7662).

Access tokens are JWTs this issuer signed, verified by jwtkit as a resource server verifies
them (typ, the algorithm its key is for, its own `iss`, the required claims, exp on the
injected clock) over the JWKS it publishes, held in memory, except that aud may name any
audience: introspection answers for every audience the issuer issued for. Then the
revoked-`jti` list. Refresh tokens are looked up by hash. Anything else, expired, revoked, or
whose user no longer exists, is inactive.
"""

from typing import Any

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError

from issuer.accounts.users import UserStore
from issuer.keys.keyring import KeyRing
from issuer.sessions.refresh_tokens import RefreshTokens, token_hash
from issuer.store.db import session
from issuer.store.models import RefreshTokenRow, RevokedAccessTokenRow
from jwtkit import ANY_AUDIENCE, AccessTokenVerifier, InMemoryJwks, VerifierError
from jwtkit.contract import ALGORITHMS

INACTIVE: dict[str, Any] = {"active": False}


class TokenStatus:
    def __init__(
        self,
        engine: Engine,
        keyring: KeyRing,
        refresh_tokens: RefreshTokens,
        users: UserStore,
        issuer: str,
    ) -> None:
        self._engine = engine
        self._keyring = keyring
        self._refresh_tokens = refresh_tokens
        self._users = users
        self._issuer = issuer
        # The JWKS this process publishes, parsed again only when a key refresh changes it.
        self._verifier = AccessTokenVerifier(
            InMemoryJwks(issuer, lambda: keyring.jwks.body),
            audience=ANY_AUDIENCE,
            algorithms=ALGORITHMS,  # each key is for one; the token's alg must be its key's
        )

    def revoke(self, token: str, client_id: str, now: float) -> None:
        """RFC 7009 §2.1: a refresh token ends its family; an access token's jti is remembered
        until its exp. Unknown tokens, and tokens of another client, change nothing."""
        family = self._refresh_tokens.family_for_client(token, client_id)
        if family is not None:
            self._refresh_tokens.revoke_family(family, now)
            return
        claims = self._access_token_claims(token, now)
        if claims is None or claims.get("client_id") != client_id:
            return
        try:
            with session(self._engine) as db, db.begin():
                db.add(RevokedAccessTokenRow(jti=claims["jti"], expires_at=float(claims["exp"])))
        except IntegrityError:
            pass  # already revoked

    def introspect(self, token: str, now: float) -> dict[str, Any]:
        claims = self._access_token_claims(token, now)
        if claims is not None:
            active = self._still_active(claims, now)
            return INACTIVE if active is None else self._access_token_status(active)
        with session(self._engine) as db:
            row = db.get(RefreshTokenRow, token_hash(token))
        if row is None or row.revoked_at is not None or row.used_at is not None:
            return INACTIVE
        if now >= row.expires_at or now >= row.family_expires_at:
            return INACTIVE
        user = self._users.get(row.user_id)
        if user is None:
            return INACTIVE
        return {
            "active": True,
            "token_type": "refresh_token",
            "scope": row.scopes,
            "client_id": row.client_id,
            "username": user.username,
            "sub": user.id,
            "iat": int(row.issued_at),
            "exp": int(min(row.expires_at, row.family_expires_at)),
            "iss": self._issuer,
        }

    def prune(self, now: float) -> None:
        with session(self._engine) as db, db.begin():
            db.execute(delete(RevokedAccessTokenRow).where(RevokedAccessTokenRow.expires_at < now))

    def active_access_claims(self, token: str, now: float) -> dict[str, Any] | None:
        """The claims of an access token this issuer signed, for any audience, while it is
        active at `now`: unexpired (exp held to `now` exactly), not revoked, and its user, if
        it has one, not removed. None for anything else: a refresh token, an ID token (its
        `typ` is not at+jwt), a token of another issuer. The rules introspection and the
        UserInfo endpoint share."""
        claims = self._access_token_claims(token, now)
        return None if claims is None else self._still_active(claims, now)

    def _still_active(self, claims: dict[str, Any], now: float) -> dict[str, Any] | None:
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= now:
            return None
        with session(self._engine) as db:
            if db.get(RevokedAccessTokenRow, str(claims.get("jti"))) is not None:
                return None
        if "preferred_username" in claims and self._users.get(str(claims.get("sub"))) is None:
            return None  # the user was removed
        return claims

    def _access_token_status(self, claims: dict[str, Any]) -> dict[str, Any]:
        username = claims.get("preferred_username")
        answer: dict[str, Any] = {"active": True, "token_type": "Bearer"}
        for name in ("scope", "client_id", "exp", "iat", "sub", "aud", "iss", "jti"):
            if name in claims:
                answer[name] = claims[name]
        if username is not None:
            answer["username"] = username
        return answer

    def _access_token_claims(self, token: str, now: float) -> dict[str, Any] | None:
        """The claims of a token this issuer signed with a key it still publishes, valid at
        `now` (with the verifier's leeway; callers hold exp to `now` exactly), or None."""
        try:
            principal = self._verifier.verify_at(token, now)
        except VerifierError:
            return None
        return dict(principal.claims)
