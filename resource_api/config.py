"""The resource API's settings: environment variables prefixed `RESOURCE_API_`."""

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from jwtkit import JwksPolicy
from jwtkit.contract import DEFAULT_ALGORITHM, Algorithm
from service_runtime.http_limits import HttpLimitSettings
from service_runtime.settings import parse_duration, parse_list
from service_runtime.settings_loading import EnvFileSettings

Seconds = Annotated[float, Field(gt=0)]


def _issuer_identifier(value: str) -> str:
    # The iss claim is compared as an exact string; ours is written without the slash.
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an absolute http(s) URL")
    return value.rstrip("/")


class TrustedIssuerSettings(BaseModel):
    """One entry of RESOURCE_API_ISSUERS."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The issuer's identifier: tokens' `iss` must be exactly this (without a trailing slash).
    issuer: str
    # The `aud` (or one of the names) that this issuer's tokens must carry.
    audience: str | list[str]
    # Where its keys are; unset: read from the issuer's discovery document (RFC 8414).
    jwks_url: str | None = None
    algorithms: list[Algorithm] | None = None  # default: RESOURCE_API_ALGORITHMS

    _issuer = field_validator("issuer")(_issuer_identifier)

    @field_validator("audience")
    @classmethod
    def _some_audience(cls, value: str | list[str]) -> str | list[str]:
        names = [value] if isinstance(value, str) else value
        if not names or not all(names):
            raise ValueError("name at least one audience, none empty")
        return value


# BaseSettings named too: it tells linters that the class attributes are pydantic fields.
class ResourceApiSettings(HttpLimitSettings, EnvFileSettings, BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RESOURCE_API_", extra="ignore")

    # The one trusted issuer: tokens' `iss` must be exactly this (without a trailing slash).
    issuer_url: str = "http://localhost:8000"
    # Where its keys are; unset: read from the issuer's discovery document (RFC 8414).
    jwks_url: str | None = None
    # For the /docs login; defaults to the issuer's /token.
    token_url: str | None = None
    # For the /docs sign-in with the code flow; defaults to the issuer's /authorize.
    authorization_url: str | None = None
    # The public client, registered at the issuer, that /docs signs in as.
    docs_client_id: str = "resource-api-docs"
    # The `aud` tokens must carry.
    audience: str = Field(default="resource-api", min_length=1)
    # Several trusted issuers, as JSON: replaces RESOURCE_API_ISSUER_URL, RESOURCE_API_JWKS_URL
    # and RESOURCE_API_AUDIENCE (set one or the other).
    issuers: list[TrustedIssuerSettings] | None = None
    # The signing algorithms accepted (a key's own algorithm must be one of them).
    algorithms: Annotated[list[Algorithm], NoDecode] = Field(
        default=[DEFAULT_ALGORITHM], min_length=1
    )
    leeway: float = Field(default=30, ge=0, le=60)
    """Seconds past `exp` (and before `nbf`, `iat`) that a token is still accepted."""
    # The realm of the WWW-Authenticate challenge (RFC 6750 §3).
    realm: str = Field(default="resource-api", pattern=r'^[^"\\]+$')

    # The shortest a key set is cached, whatever its Cache-Control max-age says.
    jwks_min_ttl: Seconds = 60
    # The longest a key set is cached, whatever its max-age says.
    jwks_max_ttl: Seconds = 86400
    # The least time between two fetches of a key set: an unknown kid fetches at most this often.
    jwks_refetch_cooldown: Seconds = 30
    # How long after it was fetched a key set is still used while its issuer cannot be reached.
    jwks_max_stale: Seconds = 86400
    # The longest a key set fetch may take.
    jwks_fetch_timeout: Seconds = 5
    # The largest key set accepted, in bytes.
    jwks_max_bytes: int = Field(default=256 * 1024, ge=1024)
    # Verified tokens remembered (each until its `exp`, while its kid is published), so that a
    # repeated token is not verified again; 0: none.
    token_cache_size: int = Field(default=10_000, ge=0)

    # The lowest level of log lines written (JSON on stderr).
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # GET /metrics (Prometheus); keep it off the public listener (the compose proxy does).
    metrics: bool = True

    _durations = field_validator(
        "jwks_min_ttl",
        "jwks_max_ttl",
        "jwks_refetch_cooldown",
        "jwks_max_stale",
        "jwks_fetch_timeout",
        mode="before",
    )(parse_duration)

    _issuer_url = field_validator("issuer_url")(_issuer_identifier)
    _algorithms = field_validator("algorithms", mode="before")(parse_list)

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.jwks_min_ttl > self.jwks_max_ttl:
            raise ValueError("RESOURCE_API_JWKS_MIN_TTL must not exceed RESOURCE_API_JWKS_MAX_TTL")
        return self

    @model_validator(mode="after")
    def _one_way_to_name_issuers(self) -> Self:
        if self.issuers is None:
            return self
        single = {"issuer_url", "jwks_url", "audience"} & self.model_fields_set
        if single:
            names = ", ".join(f"RESOURCE_API_{name.upper()}" for name in sorted(single))
            raise ValueError(f"RESOURCE_API_ISSUERS replaces {names}: set one or the other")
        if not self.issuers:
            raise ValueError("RESOURCE_API_ISSUERS must name at least one issuer")
        if len({entry.issuer for entry in self.issuers}) != len(self.issuers):
            raise ValueError("RESOURCE_API_ISSUERS names an issuer twice")
        return self

    @property
    def trusted_issuers(self) -> list[TrustedIssuerSettings]:
        """RESOURCE_API_ISSUERS, or the one issuer the single-issuer settings name."""
        if self.issuers is not None:
            return self.issuers
        return [
            TrustedIssuerSettings(
                issuer=self.issuer_url,
                audience=self.audience,
                jwks_url=self.jwks_url,
                algorithms=self.algorithms,
            )
        ]

    @property
    def jwks_policy(self) -> JwksPolicy:
        return JwksPolicy(
            min_ttl=self.jwks_min_ttl,
            max_ttl=self.jwks_max_ttl,
            refetch_cooldown=self.jwks_refetch_cooldown,
            max_stale=self.jwks_max_stale,
            fetch_timeout=self.jwks_fetch_timeout,
            max_bytes=self.jwks_max_bytes,
        )
