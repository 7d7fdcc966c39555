"""Clients: registered service and app identities (RFC 6749 §2), and the public clients named
in settings (ISSUER_DEFAULT_CLIENT_ID, ISSUER_CLIENT_IDS), which stay as they were: public,
the password and refresh_token grants only, any issuer scope.

Client secrets are generated (256 bits, URL-safe), shown once, and stored as HMAC-SHA-256 under
a per-client salt: a construction fit for high-entropy secrets, fast enough for service logins
(argon2 would cap them at a dozen per second), compared in constant time.
"""

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from issuer.clients.client_metadata import ClientMetadata
from issuer.clients.registration import CONFIDENTIAL_METHODS as CONFIDENTIAL_METHODS
from issuer.clients.registration import INTROSPECTION as INTROSPECTION
from issuer.clients.registration import SECRET_METHODS as SECRET_METHODS
from issuer.clients.registration import ClientError as ClientError
from issuer.clients.registration import (
    check_client,
    checked_redirect_uris,
    checked_sign_in_metadata,
)
from issuer.clients.registration import registrable_grants as registrable_grants
from issuer.store.db import session
from issuer.store.models import ClientRow
from jwtkit import Clock


@dataclass(frozen=True, slots=True)
class Client:
    client_id: str
    public: bool
    auth_method: str  # none | client_secret_basic | client_secret_post | private_key_jwt
    grants: frozenset[str]
    scopes: frozenset[str] | None  # None: any scope the issuer knows (settings' clients)
    audiences: tuple[str, ...]
    jwks: dict[str, Any] | None
    redirect_uris: tuple[str, ...] = ()
    # RFC 8252 native app: a loopback IP redirect URI may vary in its port (redirect_uris.py).
    native: bool = False
    # Third-party: the user is asked before the client gets its scopes (OpenID Connect Core
    # §3.1.2.4); first-party (the default) skips it, the registration being the consent.
    consent_required: bool = False
    # RP-Initiated Logout 1.0 §3: where /logout may send the browser, matched exactly.
    post_logout_redirect_uris: tuple[str, ...] = ()
    # Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed, and whether they must
    # carry the sid.
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    # How it came to be: 'cli' (`clients add`), 'dynamic' (RFC 7591 POST /register) or
    # 'metadata_document' (a client ID metadata document). Self-registered clients are public,
    # for the code flow, and always see the consent page.
    registration: str = "cli"
    # RFC 7591 §2 metadata the client gave about itself, unverified: shown on the consent page
    # as the client's own claims.
    client_name: str | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    tos_uri: str | None = None
    policy_uri: str | None = None
    contacts: tuple[str, ...] = ()
    software_id: str | None = None
    software_version: str | None = None
    created_at: float | None = None

    @property
    def self_registered(self) -> bool:
        """Registered by the client itself, not by the operator: nobody vouches for it."""
        return self.registration in SELF_REGISTRATIONS

    @property
    def default_audience(self) -> str | None:
        return self.audiences[0] if self.audiences else None

    def describe(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "type": "public" if self.public else "confidential",
            "auth_method": self.auth_method,
            "grants": sorted(self.grants),
            "scopes": sorted(self.scopes or ()),
            "audiences": list(self.audiences),
            "redirect_uris": list(self.redirect_uris),
            "native": self.native,
            "consent": "required" if self.consent_required else "skip",
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "backchannel_logout_uri": self.backchannel_logout_uri,
            "backchannel_logout_session_required": self.backchannel_logout_session_required,
            "registration": self.registration,
            "client_name": self.client_name,
            "client_uri": self.client_uri,
            "logo_uri": self.logo_uri,
            "tos_uri": self.tos_uri,
            "policy_uri": self.policy_uri,
        }


CLI, DYNAMIC, METADATA_DOCUMENT = "cli", "dynamic", "metadata_document"
SELF_REGISTRATIONS = frozenset({DYNAMIC, METADATA_DOCUMENT})
SELF_REGISTERED_GRANTS = frozenset({"authorization_code", "refresh_token"})


def settings_client(client_id: str) -> Client:
    grants = frozenset({"password", "refresh_token"})
    return Client(client_id, True, "none", grants, None, (), None)


def _hash(salt: bytes, secret: str) -> bytes:
    return hmac.new(salt, secret.encode("utf-8"), hashlib.sha256).digest()


def _client(row: ClientRow) -> Client:
    return Client(
        client_id=row.client_id,
        public=row.public,
        auth_method=row.auth_method,
        grants=frozenset(row.grants.split()),
        scopes=frozenset(row.scopes.split()),
        audiences=tuple(row.audiences.split()),
        jwks=json.loads(row.jwks) if row.jwks else None,
        redirect_uris=tuple(row.redirect_uris.split()),
        native=row.native,
        consent_required=row.consent_required,
        post_logout_redirect_uris=tuple(row.post_logout_redirect_uris.split()),
        backchannel_logout_uri=row.backchannel_logout_uri,
        backchannel_logout_session_required=row.backchannel_logout_session_required,
        registration=row.registration,
        client_name=row.client_name,
        client_uri=row.client_uri,
        logo_uri=row.logo_uri,
        tos_uri=row.tos_uri,
        policy_uri=row.policy_uri,
        contacts=tuple((row.contacts or "").split()),
        software_id=row.software_id,
        software_version=row.software_version,
        created_at=row.created_at,
    )


@dataclass(frozen=True, slots=True)
class _Record:
    """What authentication needs of a client: a snapshot of its row."""

    client: Client
    secret_salt: bytes | None
    secret_hash: bytes | None
    old_secret_salt: bytes | None
    old_secret_hash: bytes | None
    old_secret_expires_at: float | None


def _record(row: ClientRow) -> _Record:
    return _Record(
        _client(row),
        row.secret_salt,
        row.secret_hash,
        row.old_secret_salt,
        row.old_secret_hash,
        row.old_secret_expires_at,
    )


class ClientStore:
    """Clients in the database. Reads for authentication go through a small in-process cache:
    a service asks for tokens many times a second, and each read would cost a thread hop and a
    query. A change made elsewhere (another process, the CLI: remove, rotate-secret) reaches
    this process within CACHE_SECONDS; a change made through this store, at once."""

    CACHE_SECONDS = 5.0
    CACHE_ENTRIES = 10_000

    def __init__(self, engine: Engine, clock: Clock, monotonic: Clock = time.monotonic) -> None:
        self._engine = engine
        self._clock = clock
        self._monotonic = monotonic
        self._cache: OrderedDict[str, tuple[float, _Record | None]] = OrderedDict()
        self._cache_lock = threading.Lock()  # misses fill it from worker threads

    def cached(self, client_id: str) -> bool:
        """Whether `client_id` can be looked up without the database right now."""
        entry = self._cache.get(client_id)
        return entry is not None and entry[0] > self._monotonic()

    def _lookup(self, client_id: str) -> _Record | None:
        entry = self._cache.get(client_id)
        now = self._monotonic()
        if entry is not None and entry[0] > now:
            return entry[1]
        with session(self._engine) as db:
            row = db.get(ClientRow, client_id)
            record = None if row is None else _record(row)
        with self._cache_lock:
            self._cache[client_id] = (now + self.CACHE_SECONDS, record)
            self._cache.move_to_end(client_id)
            while len(self._cache) > self.CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return record

    def _forget(self, client_id: str) -> None:
        with self._cache_lock:
            self._cache.pop(client_id, None)

    def add(
        self,
        client_id: str,
        *,
        public: bool,
        grants: frozenset[str],
        scopes: frozenset[str],
        audiences: tuple[str, ...],
        auth_method: str,
        jwks: dict[str, Any] | None = None,
        redirect_uris: tuple[str, ...] = (),
        native: bool = False,
        consent_required: bool = False,
        post_logout_redirect_uris: tuple[str, ...] = (),
        backchannel_logout_uri: str | None = None,
        backchannel_logout_session_required: bool = False,
    ) -> tuple[Client, str | None]:
        """The client and its secret (None unless it authenticates with one)."""
        check_client(client_id, public, grants, scopes, auth_method, jwks)
        redirect_uris = checked_redirect_uris(grants, redirect_uris, native)
        post_logout_redirect_uris, backchannel_logout_uri = checked_sign_in_metadata(
            grants,
            consent_required,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            backchannel_logout_session_required,
        )
        secret = secrets.token_urlsafe(32) if auth_method in SECRET_METHODS else None
        salt = secrets.token_bytes(16) if secret else None
        row = ClientRow(
            client_id=client_id,
            public=public,
            auth_method=auth_method,
            grants=" ".join(sorted(grants)),
            scopes=" ".join(sorted(scopes)),
            audiences=" ".join(audiences),
            jwks=json.dumps(jwks) if jwks else None,
            redirect_uris=" ".join(redirect_uris),
            native=native,
            consent_required=consent_required,
            post_logout_redirect_uris=" ".join(post_logout_redirect_uris),
            backchannel_logout_uri=backchannel_logout_uri,
            backchannel_logout_session_required=backchannel_logout_session_required,
            secret_salt=salt,
            secret_hash=_hash(salt, secret) if salt and secret else None,
            created_at=self._clock(),
            registration=CLI,
        )
        try:
            with session(self._engine) as db, db.begin():
                db.add(row)
        except IntegrityError:
            raise ClientError(f"client {client_id!r} already exists") from None
        self._forget(client_id)
        return _client(row), secret

    def get(self, client_id: str) -> Client | None:
        record = self._lookup(client_id)
        return None if record is None else record.client

    def list(self) -> list[Client]:
        with session(self._engine) as db:
            return [_client(row) for row in db.scalars(select(ClientRow).order_by("client_id"))]

    def remove(self, client_id: str) -> bool:
        with session(self._engine) as db, db.begin():
            result = db.execute(delete(ClientRow).where(ClientRow.client_id == client_id))
        self._forget(client_id)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def rotate_secret(self, client_id: str, keep_old_for: float) -> str:
        """A new secret; the old one keeps working for `keep_old_for` seconds (0: at once)."""
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        with session(self._engine) as db, db.begin():
            row = db.get(ClientRow, client_id)
            if row is None or row.secret_hash is None:
                raise ClientError(f"no client {client_id!r} with a secret")
            if keep_old_for > 0:
                row.old_secret_salt, row.old_secret_hash = row.secret_salt, row.secret_hash
                row.old_secret_expires_at = self._clock() + keep_old_for
            else:
                row.old_secret_salt = row.old_secret_hash = row.old_secret_expires_at = None
            row.secret_salt, row.secret_hash = salt, _hash(salt, secret)
        self._forget(client_id)
        return secret

    def secret_matches(self, client_id: str, secret: str) -> bool:
        """In constant time for a given client; the old secret counts until it expires."""
        row = self._lookup(client_id)
        if row is None or row.secret_salt is None or row.secret_hash is None:
            return False
        current = hmac.compare_digest(_hash(row.secret_salt, secret), row.secret_hash)
        old = (
            row.old_secret_salt is not None
            and row.old_secret_hash is not None
            and row.old_secret_expires_at is not None
            and self._clock() < row.old_secret_expires_at
            and hmac.compare_digest(_hash(row.old_secret_salt, secret), row.old_secret_hash)
        )
        return current or old

    # Clients that register themselves (RFC 7591, RFC 7592, client ID metadata documents).

    def register(
        self,
        metadata: ClientMetadata,
        *,
        kind: str,
        scopes: frozenset[str],
        now: float,
        address: str | None = None,
        client_id: str | None = None,
    ) -> tuple[Client, str]:
        """A public code-flow client made from accepted metadata (issuer/clients/
        client_metadata.py), and its RFC 7592 registration access token (shown once, stored
        hashed). `kind`: DYNAMIC or METADATA_DOCUMENT; `client_id` None: a new random one
        (RFC 7591 §3.2.1), else the metadata document's URL. Always consent_required."""
        if kind not in SELF_REGISTRATIONS:
            raise ClientError(f"not a self-registration: {kind!r}")
        client_id = client_id or secrets.token_urlsafe(18)
        token = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        row = ClientRow(
            client_id=client_id,
            public=True,
            auth_method="none",
            scopes=" ".join(sorted(scopes)),
            audiences="",
            consent_required=True,
            post_logout_redirect_uris="",
            backchannel_logout_session_required=False,
            registration=kind,
            registration_token_salt=salt,
            registration_token_hash=_hash(salt, token),
            registered_address=address,
            created_at=now,
        )
        _set_metadata(row, metadata)
        try:
            with session(self._engine) as db, db.begin():
                db.add(row)
        except IntegrityError:
            raise ClientError(f"client {client_id!r} already exists") from None
        self._forget(client_id)
        return _client(row), token

    def registration_token_matches(self, client_id: str, token: str) -> bool:
        """RFC 7592 §3: the registration access token of a self-registered client, compared in
        constant time; False for clients without one (made by the CLI)."""
        with session(self._engine) as db:
            row = db.get(ClientRow, client_id)
            if row is None or row.registration_token_salt is None:
                return False
            expected = row.registration_token_hash or b""
            return hmac.compare_digest(_hash(row.registration_token_salt, token), expected)

    def update_registration(
        self, client_id: str, metadata: ClientMetadata, *, scopes: frozenset[str]
    ) -> Client:
        """RFC 7592 §2.2: the client's metadata replaced by `metadata` (a full document,
        validated by parse_client_metadata); its id, token and registration kept."""
        with session(self._engine) as db, db.begin():
            row = db.get(ClientRow, client_id)
            if row is None or row.registration not in SELF_REGISTRATIONS:
                raise ClientError(f"no self-registered client {client_id!r}")
            _set_metadata(row, metadata)
            row.scopes = " ".join(sorted(scopes))
        self._forget(client_id)
        return _client(row)

    def mark_used(self, client_id: str, now: float) -> None:
        """The client got its first token: it no longer expires unused. One conditional
        UPDATE, a no-op once set (cheap enough to call on every issue)."""
        with session(self._engine) as db, db.begin():
            db.execute(
                update(ClientRow)
                .where(ClientRow.client_id == client_id, ClientRow.first_used_at.is_(None))
                .values(first_used_at=now)
            )

    def remove_unused(self, registered_before: float) -> int:
        """Deletes dynamic registrations made before `registered_before` that never got a
        token (ISSUER_REGISTRATION_UNUSED_TTL); returns how many."""
        with session(self._engine) as db, db.begin():
            result = db.execute(
                delete(ClientRow).where(
                    ClientRow.registration == DYNAMIC,
                    ClientRow.first_used_at.is_(None),
                    ClientRow.created_at < registered_before,
                )
            )
        with self._cache_lock:
            self._cache.clear()
        return int(result.rowcount)  # type: ignore[attr-defined]


def _set_metadata(row: ClientRow, metadata: ClientMetadata) -> None:
    row.grants = " ".join(sorted(metadata.grant_types))
    row.redirect_uris = " ".join(metadata.redirect_uris)
    row.native = metadata.native
    row.client_name = metadata.client_name
    row.client_uri = metadata.client_uri
    row.logo_uri = metadata.logo_uri
    row.tos_uri = metadata.tos_uri
    row.policy_uri = metadata.policy_uri
    row.contacts = " ".join(metadata.contacts) or None
    row.software_id = metadata.software_id
    row.software_version = metadata.software_version
