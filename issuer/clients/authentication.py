"""Client authentication at the token endpoint.

- `client_secret_basic` (RFC 6749 §2.3.1): id and secret are form-urlencoded, then joined by
  ":" and base64-encoded. Empty Basic credentials (`Basic Og==`, which Swagger UI sends by
  default) count as none.
- `client_secret_post` (§2.3.1): `client_id` and `client_secret` in the body.
- `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): a JWT signed by a key in the
  client's registered JWKS; `iss` = `sub` = client_id, `aud` the token endpoint or the issuer,
  living at most 60 minutes (`exp` - `iat`, or `exp` - now without `iat`), not before its
  `nbf`, `jti` used once across every process (a primary key). Times allow LEEWAY seconds of
  clock skew, so a jti is kept until `exp` + LEEWAY: as long as its assertion is accepted.
- `none`: public clients, `client_id` alone (or the default client when none is named).

A client uses the one method it was registered with. Two methods in one request is
invalid_request (§2.3: "MUST NOT use more than one authentication method in each request").
Every failure is the same 401 invalid_client (§5.2), with a Basic challenge when Basic was used.
"""

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import jwt
from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError

from issuer.clients.registry import SECRET_METHODS, Client, ClientStore, settings_client
from issuer.config import IssuerSettings
from issuer.errors import InvalidClient, InvalidRequest
from issuer.store.db import session
from issuer.store.models import ClientAssertionRow
from jwtkit.contract import ALGORITHMS

AUTH_METHODS = frozenset({"none", "client_secret_basic", "client_secret_post", "private_key_jwt"})
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ALGORITHMS
# The most an assertion may live: Okta's rule (exp at most an hour ahead), the 60 minutes of
# FAPI 2.0, and what Authlib's PrivateKeyJWT signs by default (3,600 s).
MAX_ASSERTION_LIFETIME = 3600
LEEWAY = 30  # clock skew allowed on exp, nbf and iat
_BASIC = re.compile(r"^Basic[ ]+([A-Za-z0-9+/=]*)[ ]*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Presented:
    """What the request offers as client credentials."""

    method: str
    client_id: str | None
    secret: str | None = None
    assertion: str | None = None

    @property
    def via_basic(self) -> bool:
        return self.method == "client_secret_basic"


def _failed(via_basic: bool) -> InvalidClient:
    return InvalidClient("client authentication failed", basic_challenge=via_basic)


def _basic(authorization: str | None) -> Presented | None:
    if authorization is None or not authorization.lower().startswith("basic"):
        return None
    match = _BASIC.match(authorization)
    if match is None:
        raise _failed(True)
    try:
        decoded = base64.b64decode(match.group(1), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _failed(True) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise _failed(True)
    if not client_id and not secret:
        return None  # `Basic Og==`: no credentials at all
    return Presented("client_secret_basic", unquote_plus(client_id), unquote_plus(secret))


def presented_credentials(authorization: str | None, form: dict[str, str]) -> Presented:
    offered: list[Presented] = []
    basic = _basic(authorization)
    if basic is not None:
        if "client_id" in form and form["client_id"] != basic.client_id:
            raise _failed(True)
        offered.append(basic)
    if "client_secret" in form:
        offered.append(
            Presented("client_secret_post", form.get("client_id"), form["client_secret"])
        )
    if "client_assertion" in form or "client_assertion_type" in form:
        if form.get("client_assertion_type") != ASSERTION_TYPE or "client_assertion" not in form:
            raise InvalidRequest("client_assertion_type must be " + ASSERTION_TYPE)
        offered.append(
            Presented("private_key_jwt", form.get("client_id"), assertion=form["client_assertion"])
        )
    if len(offered) > 1:
        raise InvalidRequest("a request uses one client authentication method")
    return offered[0] if offered else Presented("none", form.get("client_id"))


class ClientAuthenticator:
    def __init__(self, store: ClientStore, engine: Engine, settings: IssuerSettings) -> None:
        self._store = store
        self._engine = engine
        self._settings = settings
        self._audiences = {settings.url, f"{settings.url}/token"}

    def in_memory(self, presented: Presented) -> bool:
        """Whether `authenticate` can answer without the database (so without a thread):
        a secret or no authentication, for a client whose record is cached."""
        client_id = presented.client_id
        if presented.method == "none" and client_id is None:
            client_id = self._settings.default_client_id
        if presented.method == "private_key_jwt" or client_id is None:
            return False  # the jti is recorded in the database
        return self._store.cached(client_id)

    def find(self, client_id: str) -> Client | None:
        """A registered client, or one of the public clients named in settings."""
        client = self._store.get(client_id)
        if client is None and client_id in self._settings.allowed_client_ids:
            return settings_client(client_id)
        return client

    def authenticate(self, presented: Presented, now: float) -> Client:
        """The client, or InvalidClient. Blocking (database reads): run it in a thread."""
        client_id = presented.client_id
        if client_id is None and presented.method == "private_key_jwt":
            client_id = _unverified_issuer(presented.assertion)
        if client_id is None and presented.method == "none":
            client_id = self._settings.default_client_id
        client = self.find(client_id) if client_id else None
        if client is None or client.auth_method != presented.method:
            if presented.secret is not None:
                _hash_anyway(presented.secret)  # unknown ids cost what known ones do
            raise _failed(presented.via_basic)
        if presented.method in SECRET_METHODS:
            assert presented.secret is not None
            if not self._store.secret_matches(client.client_id, presented.secret):
                raise _failed(presented.via_basic)
        elif presented.method == "private_key_jwt":
            assert presented.assertion is not None
            self._verify_assertion(client, presented.assertion, now)
        return client

    def prune(self, now: float) -> None:
        """Forgets assertion ids whose assertions are no longer accepted, leeway included (they
        can no longer replay)."""
        with session(self._engine) as db, db.begin():
            db.execute(delete(ClientAssertionRow).where(ClientAssertionRow.expires_at < now))

    def _verify_assertion(self, client: Client, assertion: str, now: float) -> None:
        claims = _verified_claims(client, assertion, self._audiences)
        accepted_until = _accepted_until(claims, now)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= 255:
            raise _failed(False)
        try:
            with session(self._engine) as db, db.begin():
                db.add(
                    ClientAssertionRow(
                        client_id=client.client_id, jti=jti, expires_at=accepted_until
                    )
                )
        except IntegrityError:
            raise _failed(False) from None  # a replay: this jti was used already


def _accepted_until(claims: dict[str, Any], now: float) -> float:
    """The last moment this assertion is accepted (exp plus the leeway), or InvalidClient when
    its times are not acceptable now."""
    exp, iat, nbf = _time(claims, "exp"), _time(claims, "iat"), _time(claims, "nbf")
    if exp is None:
        raise _failed(False)  # RFC 7523 §3 item 4: the JWT MUST contain an "exp" claim
    if exp <= now - LEEWAY:
        raise _failed(False)  # expired
    # RFC 7523 §3 item 5: "the token MUST NOT be accepted for processing" before its nbf.
    if nbf is not None and nbf > now + LEEWAY:
        raise _failed(False)
    if iat is not None and iat > now + LEEWAY:
        raise _failed(False)  # issued in the future
    lifetime = exp - iat if iat is not None else exp - now - LEEWAY
    if lifetime > MAX_ASSERTION_LIFETIME:
        raise _failed(False)
    return exp + LEEWAY


def _time(claims: dict[str, Any], name: str) -> float | None:
    """A NumericDate claim (RFC 7519 §2), None when absent; anything else is InvalidClient."""
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise _failed(False)  # JSON as Python reads it also has NaN and Infinity
    return float(value)


def _unverified_issuer(assertion: str | None) -> str | None:
    try:
        issuer = jwt.decode(assertion or "", options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
    return issuer if isinstance(issuer, str) else None


def _verified_claims(client: Client, assertion: str, audiences: set[str]) -> dict[str, Any]:
    """Signature by a key in the client's JWKS, iss = sub = client_id, aud ours (RFC 7523 §3);
    times are checked by the caller against the injected clock."""
    try:
        header = jwt.get_unverified_header(assertion)
        keys = jwt.PyJWKSet.from_dict(client.jwks or {"keys": []}).keys
        candidates = [key for key in keys if header.get("kid") in (None, key.key_id)]
        algorithm = header.get("alg")
        if algorithm not in ASSERTION_ALGORITHMS or len(candidates) != 1:
            raise _failed(False)
        claims: dict[str, Any] = jwt.decode(
            assertion,
            candidates[0].key,
            algorithms=[algorithm],
            audience=sorted(audiences),
            issuer=client.client_id,
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except (jwt.PyJWTError, ValueError, TypeError, json.JSONDecodeError):
        raise _failed(False) from None
    if claims.get("sub") != client.client_id:
        raise _failed(False)
    return claims


def _hash_anyway(secret: str) -> None:
    hmac.new(b"\0" * 16, secret.encode("utf-8"), hashlib.sha256).digest()
