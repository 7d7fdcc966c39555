"""The issuer's settings: environment variables prefixed `ISSUER_`, validated at start."""

import os
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from issuer.sign_in.client_address import IPNetwork, parse_networks
from issuer.store.database_url import check_database_url
from jwtkit.contract import DEFAULT_ALGORITHM, Algorithm
from service_runtime.http_limits import HttpLimitSettings
from service_runtime.settings import parse_duration, parse_list
from service_runtime.settings_loading import EnvFileSettings

# OWASP Password Storage Cheat Sheet: equivalent argon2id minimums (memory KiB, iterations).
OWASP_ARGON2ID_MINIMUMS = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))

# OpenID Connect's scopes (Core §3.1.2.1, §5.4), always among ISSUER_SCOPES: Discovery 1.0 §3
# "The server MUST support the openid scope value".
IDENTITY_SCOPES = ("openid", "profile", "email")
# Granted to every user who signs in (they release only the user's own claims, to a client the
# user signs in to); `profile` keeps its per-user rule, being the resource API's scope too.
EVERY_USER_SCOPES = frozenset({"openid", "email"})

Seconds = Annotated[float, Field(gt=0)]
ListFromEnv = Annotated[list[str], NoDecode]


# BaseSettings named too: it tells linters that the class attributes are pydantic fields.
class IssuerSettings(HttpLimitSettings, EnvFileSettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ISSUER_", extra="ignore")

    # The issuer identifier (RFC 8414 §2): the `iss` of every token and the base of every
    # URL the issuer publishes; http(s), no query or fragment.
    url: str = "http://localhost:8000"
    # Where the embedded SQLite database (issuer.db) lives; created, private, at start.
    data_dir: Path = Path("data")
    # A SQLAlchemy URL: postgresql+psycopg://USER:PASSWORD@HOST:5432/DATABASE for PostgreSQL
    # (several issuer processes); unset: SQLite in ISSUER_DATA_DIR.
    database_url: str | None = None
    # Apply pending migrations at start; false: refuse to start on an old schema.
    db_auto_upgrade: bool = True
    # Connections each process keeps to PostgreSQL.
    db_pool_size: int = Field(default=5, ge=1, le=100)
    # The longest a request waits for a pooled connection before it is answered with 503.
    db_pool_timeout: Seconds = 5
    # Seconds to wait for PostgreSQL to accept a connection.
    db_connect_timeout: int = Field(default=5, ge=1, le=60)
    # Seconds an access token is valid (its `exp`).
    access_token_ttl: int = Field(default=900, ge=60, le=86400)
    # How long an ID token is valid (its `exp`, OpenID Connect Core §2).
    id_token_ttl: Seconds = 3600
    # A refresh token's idle lifetime: unused this long, it expires.
    refresh_token_ttl: Seconds = 14 * 86400
    # A refresh-token family's absolute lifetime, from the login, however often it is used.
    refresh_token_max_age: Seconds = 90 * 86400
    # How long a browser stays signed in at the login page (/authorize), across apps.
    session_ttl: Seconds = 8 * 3600
    # The `aud` of tokens whose client names no audience of its own.
    audience: str = Field(default="resource-api", min_length=1)
    # Encrypts the private signing keys in the database; unset: stored unencrypted (a warning).
    key_passphrase: SecretStr | None = None
    # A file holding ISSUER_KEY_PASSPHRASE (a compose or Kubernetes secret); not both.
    key_passphrase_file: Path | None = None
    # `keys rewrap` only: the passphrase the keys are encrypted with now.
    key_passphrase_old: SecretStr | None = None
    # `keys rewrap` only: a file holding ISSUER_KEY_PASSPHRASE_OLD.
    key_passphrase_old_file: Path | None = None
    # DEMO ONLY: NAME:PASSWORD users created at start, with ISSUER_DEFAULT_SCOPES.
    demo_users: ListFromEnv = []
    # Browser origins allowed to call /token (CORS), such as a resource API's /docs.
    cors_origins: ListFromEnv = []
    # Every scope a client or user may be given; a scope outside this list is refused. openid,
    # profile and email (OpenID Connect) are always added.
    scopes: ListFromEnv = ["profile"]
    # The scopes of a new user when none are named, and of ISSUER_DEMO_USERS.
    default_scopes: ListFromEnv = ["profile"]
    # The client that may use the password grant without being registered.
    default_client_id: str = Field(default="default", min_length=1)
    # More such unregistered password-grant clients.
    client_ids: ListFromEnv = []
    # The resource owner password credentials grant, off by default: RFC 9700 §2.4 says it MUST
    # NOT be used (users sign in at /authorize). On for the demo's curl (make run, compose).
    password_grant: bool = False

    # The Cache-Control max-age of /.well-known/jwks.json, in seconds.
    jwks_max_age: int = Field(default=300, ge=0)
    # How often a new signing key takes over.
    key_rotation_interval: Seconds = 30 * 86400
    # How long a new key is published before it signs, so that verifiers know it first.
    key_publish_ahead: Seconds = 3600
    key_size: Literal[2048, 3072, 4096] = 2048  # bits of new RSA keys (RS256, PS256)
    # What new keys sign with; a change takes effect through the normal rotation.
    signing_alg: Algorithm = DEFAULT_ALGORITHM
    key_check_interval: Seconds = 5
    """How often each process reads the keys from the database (new, activated, revoked)."""
    # A process whose last successful key refresh is older than this stops signing.
    key_stale_after: Seconds = 60
    # How long past `exp` a verifier may still accept a token (the largest leeway we allow
    # verifiers); a retired key stays published for the token TTL plus this.
    verifier_leeway: int = Field(default=60, ge=0, le=300)

    # argon2id iterations per password hash (RFC 9106); with ISSUER_ARGON2_MEMORY_KIB, at
    # least one of OWASP's minimum configurations.
    argon2_time_cost: int = Field(default=3, ge=1)
    # argon2id memory per hash, in KiB.
    argon2_memory_kib: int = Field(default=65536, ge=7168)
    # argon2id lanes per hash.
    argon2_parallelism: int = Field(default=4, ge=1)
    # Password checks at once (default: the CPUs this process may use).
    hash_concurrency: int | None = Field(default=None, ge=1, le=256)
    # The longest a password check may wait for its turn before the request is refused (503).
    hash_queue_timeout: Seconds = 2
    # Proxies (addresses or networks) whose X-Forwarded-For names the client's address.
    trusted_proxies: ListFromEnv = []
    # Failed password checks allowed per sliding window (issuer/sign_in/throttle.py), past
    # which a login is answered 429 with Retry-After, without hashing: per account from one
    # address.
    throttle_account_address_limit: int = Field(default=10, ge=1)
    # The window of ISSUER_THROTTLE_ACCOUNT_ADDRESS_LIMIT.
    throttle_account_address_window: Seconds = 15 * 60
    # Failed checks per account from all addresses.
    throttle_account_limit: int = Field(default=100, ge=1)
    # The window of ISSUER_THROTTLE_ACCOUNT_LIMIT.
    throttle_account_window: Seconds = 60 * 60
    # Failed checks per address across accounts (spraying).
    throttle_address_limit: int = Field(default=30, ge=1)
    # The window of ISSUER_THROTTLE_ADDRESS_LIMIT.
    throttle_address_window: Seconds = 15 * 60
    # Failed checks per /24 (IPv4) or /64 (IPv6) network across accounts.
    throttle_network_limit: int = Field(default=100, ge=1)
    # The window of ISSUER_THROTTLE_NETWORK_LIMIT.
    throttle_network_window: Seconds = 15 * 60

    # RFC 7591 dynamic client registration. Only off for now: POST /register is not served
    # yet, and a setting that cannot be honoured is refused at start rather than ignored.
    # token (an initial access token) and open (anyone) come with the endpoint.
    registration: Literal["off"] = "off"
    # Not used until POST /register is served: a dynamic registration that has not got a
    # token this long after registering is to be deleted.
    registration_unused_ttl: Seconds = 86400
    # Not used until POST /register is served: registrations to be allowed per client address
    # in ISSUER_REGISTRATION_RATE_WINDOW (issuer/clients/registration_throttle.py).
    registration_rate_limit: int = Field(default=10, ge=1)
    # Not used until POST /register is served: the window of ISSUER_REGISTRATION_RATE_LIMIT.
    registration_rate_window: Seconds = 3600

    # The lowest level of log lines written (JSON on stderr).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # GET /metrics (Prometheus); keep it off the public listener (the compose proxy does).
    metrics: bool = True

    _split_lists = field_validator(
        "demo_users",
        "cors_origins",
        "scopes",
        "default_scopes",
        "client_ids",
        "trusted_proxies",
        mode="before",
    )(parse_list)
    _durations = field_validator(
        "key_rotation_interval",
        "key_publish_ahead",
        "key_check_interval",
        "key_stale_after",
        "hash_queue_timeout",
        "throttle_account_address_window",
        "throttle_account_window",
        "throttle_address_window",
        "throttle_network_window",
        "db_pool_timeout",
        "refresh_token_ttl",
        "refresh_token_max_age",
        "session_ttl",
        "id_token_ttl",
        "registration_unused_ttl",
        "registration_rate_window",
        mode="before",
    )(parse_duration)

    @field_validator("scopes")
    @classmethod
    def _identity_scopes(cls, value: list[str]) -> list[str]:
        return [*value, *(scope for scope in IDENTITY_SCOPES if scope not in value)]

    @field_validator("url")
    @classmethod
    def _issuer_url(cls, value: str) -> str:
        # RFC 8414 §2: the issuer is an https (here also http, for local use) URL
        # with no query or fragment components.
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL")
        if parts.query or parts.fragment:
            raise ValueError("must have no query or fragment")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        return None if value is None else check_database_url(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: list[str]) -> list[str]:
        parse_networks(value)
        return value

    @field_validator("demo_users")
    @classmethod
    def _demo_users(cls, value: list[str]) -> list[str]:
        for entry in value:
            name, sep, password = entry.partition(":")
            if not (sep and name and password):
                raise ValueError("each entry must be NAME:PASSWORD")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not any(
            self.argon2_memory_kib >= memory and self.argon2_time_cost >= iterations
            for memory, iterations in OWASP_ARGON2ID_MINIMUMS
        ):
            raise ValueError(
                "ISSUER_ARGON2_MEMORY_KIB and ISSUER_ARGON2_TIME_COST are below OWASP's "
                "argon2id minimums (for example 19456 KiB with 2 iterations)"
            )
        # Verifiers must see a new key before it signs: a cached JWKS is at most max-age old.
        if self.jwks_max_age > self.key_publish_ahead / 2:
            raise ValueError(
                "ISSUER_JWKS_MAX_AGE must be at most half of ISSUER_KEY_PUBLISH_AHEAD, so that "
                "verifiers holding a cached JWKS see a new key before it signs"
            )
        if self.key_publish_ahead >= self.key_rotation_interval:
            raise ValueError(
                "ISSUER_KEY_PUBLISH_AHEAD must be shorter than ISSUER_KEY_ROTATION_INTERVAL"
            )
        if not set(self.default_scopes) <= set(self.scopes):
            raise ValueError("ISSUER_DEFAULT_SCOPES must be among ISSUER_SCOPES")
        if self.key_passphrase is not None and self.key_passphrase_file is not None:
            raise ValueError("set ISSUER_KEY_PASSPHRASE or ISSUER_KEY_PASSPHRASE_FILE, not both")
        if self.key_passphrase_old is not None and self.key_passphrase_old_file is not None:
            raise ValueError(
                "set ISSUER_KEY_PASSPHRASE_OLD or ISSUER_KEY_PASSPHRASE_OLD_FILE, not both"
            )
        if self.key_stale_after <= self.key_check_interval:
            raise ValueError(
                "ISSUER_KEY_STALE_AFTER must be longer than ISSUER_KEY_CHECK_INTERVAL, or every "
                "process would stop signing between two refreshes"
            )
        return self

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'issuer.db'}"

    @property
    def allowed_client_ids(self) -> frozenset[str]:
        return frozenset([self.default_client_id, *self.client_ids])

    def passphrase(self) -> bytes | None:
        """The key passphrase from the variable or the file (a compose or Kubernetes secret)."""
        return _secret(self.key_passphrase, self.key_passphrase_file)

    def old_passphrase(self) -> bytes | None:
        """For `keys rewrap`: ISSUER_KEY_PASSPHRASE_OLD or _OLD_FILE; None when keys are plain."""
        return _secret(self.key_passphrase_old, self.key_passphrase_old_file)

    @property
    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.trusted_proxies)

    def password_check_concurrency(self) -> int:
        return self.hash_concurrency or len(os.sched_getaffinity(0))

    def demo_credentials(self) -> list[tuple[str, str]]:
        return [tuple(entry.split(":", 1)) for entry in self.demo_users]  # type: ignore[misc]

    # Last, apart from the other fields: `users add` and `users passwd` refuse shorter ones.
    min_password_length: int = Field(
        default=12,
        ge=1,
        le=1024,
        description="The fewest characters `users add` and `users passwd` accept in a "
        "password (the demo users of ISSUER_DEMO_USERS excepted).",
    )


def _secret(value: SecretStr | None, file: Path | None) -> bytes | None:
    if file is not None:
        secret = file.read_text(encoding="utf-8").strip()
    elif value is not None:
        secret = value.get_secret_value()
    else:
        return None
    if not secret:
        raise ValueError("the key passphrase is empty")
    return secret.encode("utf-8")
