"""The issuer's tables, as SQLAlchemy models. The schema itself is Alembic's
(issuer/migrations): a change here goes with a new migration."""

from sqlalchemy import Index, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the tokens' stable `sub`
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text)  # space-separated, as in RFC 6749 §3.3
    created_at: Mapped[float]
    # Bumped when the password changes or the user's sessions are revoked: sign-in sessions
    # started under another generation no longer sign in (issuer/sessions/sign_in_sessions.py).
    credential_generation: Mapped[int] = mapped_column(server_default="0")
    # OpenID Connect Core §5.1 standard claims (issuer/accounts/claims.py), unset by default.
    name: Mapped[str | None] = mapped_column(String(255))
    given_name: Mapped[str | None] = mapped_column(String(255))
    family_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    email_verified: Mapped[bool] = mapped_column(server_default="0")
    locale: Mapped[str | None] = mapped_column(String(35))  # a BCP 47 tag
    updated_at: Mapped[float | None]  # the claims' last change (Core §5.1 `updated_at`)


class SigningKeyRow(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    # One key per rotation, even with several issuer processes racing to create it:
    # the loser's INSERT fails on this constraint.
    generation: Mapped[int] = mapped_column(unique=True)
    # The JWS alg it signs with (ISSUER_SIGNING_ALG when it was made).
    algorithm: Mapped[str] = mapped_column(String(16), server_default="RS256")
    public_jwk: Mapped[str] = mapped_column(Text)
    private_pem: Mapped[bytes | None] = mapped_column(LargeBinary)
    encrypted: Mapped[bool]
    created_at: Mapped[float]
    activates_at: Mapped[float]
    revoked_at: Mapped[float | None]
    destroyed_at: Mapped[float | None]


class KeyEncryptionRow(Base):
    """The passphrase's KDF salt and parameters, with a check value (issuer/keys/wrapping.py).
    At most one row: absent while keys are stored unencrypted."""

    __tablename__ = "key_encryption"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    n: Mapped[int]
    r: Mapped[int]
    p: Mapped[int]
    check_value: Mapped[bytes] = mapped_column(LargeBinary)


class LoginFailureRow(Base):
    """One failed password check (or one under way), for brute-force throttling."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_account_at", "account", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
        Index("ix_login_failures_network_at", "network", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(150))  # as submitted: unknown names count too
    address: Mapped[str] = mapped_column(String(64))
    # The address's /24 (IPv4) or /64 (IPv6): spraying from neighbouring addresses counts once.
    network: Mapped[str] = mapped_column(String(64), server_default="")
    at: Mapped[float]


class ClientRow(Base):
    """A registered client (issuer/clients/registry.py); lists space-separated (RFC 6749 §3.3)."""

    __tablename__ = "clients"
    __table_args__ = (Index("ix_clients_registration_created_at", "registration", "created_at"),)

    client_id: Mapped[str] = mapped_column(String(150), primary_key=True)
    public: Mapped[bool]
    auth_method: Mapped[str] = mapped_column(String(32))
    grants: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text)
    audiences: Mapped[str] = mapped_column(Text)  # the first is the default audience
    jwks: Mapped[str | None] = mapped_column(Text)  # private_key_jwt: the client's public keys
    # Space-separated, matched exactly (RFC 6749 §3.1.2.3; loopback ports vary, RFC 8252).
    redirect_uris: Mapped[str] = mapped_column(Text, server_default="")
    # RFC 8252 native app: only the port of a loopback IP literal redirect URI may vary.
    native: Mapped[bool] = mapped_column(server_default="0")
    # Third-party: the user is asked before the client gets its scopes (issuer/sessions/
    # consents.py); false (first-party): the registration is the administrator's consent.
    consent_required: Mapped[bool] = mapped_column(server_default="0")
    # RP-Initiated Logout 1.0 §3: space-separated, matched exactly.
    post_logout_redirect_uris: Mapped[str] = mapped_column(Text, server_default="")
    # Back-Channel Logout 1.0 §2.2: where the logout token is POSTed.
    backchannel_logout_uri: Mapped[str | None] = mapped_column(Text)
    backchannel_logout_session_required: Mapped[bool] = mapped_column(server_default="0")
    secret_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    old_secret_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    old_secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    old_secret_expires_at: Mapped[float | None]
    created_at: Mapped[float]
    # How the client came to be (0009): 'cli' (`clients add`), 'dynamic' (RFC 7591 POST
    # /register) or 'metadata_document' (a client ID metadata document).
    registration: Mapped[str] = mapped_column(String(24), server_default="cli")
    # RFC 7591 §2 human-readable metadata, shown on the consent page; contacts space-separated.
    client_name: Mapped[str | None] = mapped_column(String(200))
    client_uri: Mapped[str | None] = mapped_column(String(2000))
    logo_uri: Mapped[str | None] = mapped_column(String(2000))
    tos_uri: Mapped[str | None] = mapped_column(String(2000))
    policy_uri: Mapped[str | None] = mapped_column(String(2000))
    contacts: Mapped[str | None] = mapped_column(Text)
    software_id: Mapped[str | None] = mapped_column(String(255))
    software_version: Mapped[str | None] = mapped_column(String(255))
    # RFC 7592 §3 registration access token, hashed as secrets are (dynamic clients only).
    registration_token_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    registration_token_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The client address that registered it (dynamic clients).
    registered_address: Mapped[str | None] = mapped_column(String(64))
    # Its first token: registrations never used expire (ISSUER_REGISTRATION_UNUSED_TTL).
    first_used_at: Mapped[float | None]
    # A metadata-document client: when its cached document must be fetched again.
    metadata_expires_at: Mapped[float | None]


class ClientAssertionRow(Base):
    """A private_key_jwt assertion's jti, kept while the assertion is accepted (expires_at is
    its exp plus the leeway): a second use is refused in every process, as the primary key
    decides."""

    __tablename__ = "client_assertions"

    client_id: Mapped[str] = mapped_column(String(150), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[float]


class ResourceRow(Base):
    """An API tokens can be asked for by URI (RFC 8707), and the audience they then carry."""

    __tablename__ = "resources"

    uri: Mapped[str] = mapped_column(String(2000), primary_key=True)
    audience: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[str] = mapped_column(Text)  # empty: any scope


class RefreshTokenRow(Base):
    """A refresh token, by the SHA-256 of its value (the value itself is never stored)."""

    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(36), index=True)  # one login's tokens
    client_id: Mapped[str] = mapped_column(String(150))
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    scopes: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[float]
    expires_at: Mapped[float]  # idle lifetime: ISSUER_REFRESH_TOKEN_TTL after issue
    family_expires_at: Mapped[float]  # absolute: ISSUER_REFRESH_TOKEN_MAX_AGE after the login
    used_at: Mapped[float | None]  # rotated: presenting it again is reuse
    revoked_at: Mapped[float | None]
    # The sign-in the family started from (OpenID Connect): a refreshed ID token keeps its
    # auth_time (Core §12.2), and the end of that sign-in revokes the family (Back-Channel
    # Logout 1.0 §2.7). NULL for families from before 0008 and for the password grant.
    auth_time: Mapped[int | None]
    sid: Mapped[str | None] = mapped_column(String(36), index=True)
    # RFC 8707: the resource the family's authorization request named (0009); NULL: none.
    resource: Mapped[str | None] = mapped_column(Text)


class RevokedAccessTokenRow(Base):
    """An access token revoked (RFC 7009) before its exp, kept until then for introspection."""

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[float]


class AuthorizationCodeRow(Base):
    """An authorization code (RFC 6749 §4.1.2), by the SHA-256 of its value: single use, bound
    to its client, redirect URI and PKCE challenge (RFC 7636). Once redeemed it remembers what
    it issued, so that a second use can revoke it (§4.1.2)."""

    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(150))
    redirect_uri: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(36))
    scopes: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[float]
    used_at: Mapped[float | None]
    refresh_family_id: Mapped[str | None] = mapped_column(String(36))
    access_jti: Mapped[str | None] = mapped_column(String(64))
    access_expires_at: Mapped[float | None]
    # OpenID Connect: the request's nonce (Core §3.1.2.1), and the sign-in session the code
    # came from (its session_id is the ID token's sid, its created_at the auth_time).
    nonce: Mapped[str | None] = mapped_column(Text)
    auth_time: Mapped[int | None]
    sid: Mapped[str | None] = mapped_column(String(36))
    # RFC 8707 §2.1: the resource the authorization request named (0009), bound to the code.
    resource: Mapped[str | None] = mapped_column(Text)


class SignInSessionRow(Base):
    """A browser's sign-in at the issuer's login page (its cookie's SHA-256), so that a second
    app signs in without the password being typed again."""

    __tablename__ = "sign_in_sessions"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    # Shown by `sessions list` and taken by `sessions revoke --sign-in` (never the cookie's hash).
    session_id: Mapped[str] = mapped_column(String(36), unique=True)
    # The user's credential_generation at sign-in: a password change ends the session.
    credential_generation: Mapped[int] = mapped_column(server_default="0")
    created_at: Mapped[float]
    expires_at: Mapped[float]


class ConsentRow(Base):
    """What a user allowed a third-party client (OpenID Connect Core §3.1.2.4), remembered
    until revoked (`sessions revoke --consent`)."""

    __tablename__ = "consents"

    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(150), primary_key=True)
    scopes: Mapped[str] = mapped_column(Text)  # space-separated, as in RFC 6749 §3.3
    granted_at: Mapped[float]
    # The RFC 8707 resources (space-separated URIs) allowed with them (0009); '' for none.
    resources: Mapped[str] = mapped_column(Text, server_default="")


class SignInSessionClientRow(Base):
    """A client that got an `openid` code from a sign-in session: whom Back-Channel Logout
    1.0 tells when that session ends."""

    __tablename__ = "sign_in_session_clients"

    session_id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the sid
    client_id: Mapped[str] = mapped_column(String(150), primary_key=True)


class BackchannelLogoutRow(Base):
    """A logout token to POST to a client (Back-Channel Logout 1.0 §2.5), written when a
    sign-in ends and sent with bounded retries (issuer/sessions/backchannel_outbox.py)."""

    __tablename__ = "backchannel_logouts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(150))
    sub: Mapped[str] = mapped_column(String(36))
    sid: Mapped[str | None] = mapped_column(String(36))
    attempts: Mapped[int] = mapped_column(server_default="0")
    next_attempt_at: Mapped[float | None] = mapped_column(index=True)  # None: no more attempts
    delivered_at: Mapped[float | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class IssuerSecretRow(Base):
    """A secret every issuer process shares, made once by whichever process needs it first
    (the primary key settles the race): the HMAC key of the login form's CSRF tokens."""

    __tablename__ = "issuer_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float]


class RegistrationTokenRow(Base):
    """An RFC 7591 §3 initial access token (`clients registration-token create`), by the
    SHA-256 of its value: POST /register takes it as a bearer token when ISSUER_REGISTRATION
    is `token`."""

    __tablename__ = "registration_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str | None] = mapped_column(String(200))  # the operator's note
    created_at: Mapped[float]
    expires_at: Mapped[float]
    uses_left: Mapped[int | None]  # None: any number of registrations until it expires


class RegistrationAttemptRow(Base):
    """One registration at POST /register, counted per client address in a sliding window
    (issuer/clients/registration_throttle.py) by every replica."""

    __tablename__ = "registration_attempts"
    __table_args__ = (Index("ix_registration_attempts_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[float]
