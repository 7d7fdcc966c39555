"""The resource API's settings: environment variables prefixed `RESOURCE_API_`."""

from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import parse_duration
from shared.verifier import JwksPolicy

Seconds = Annotated[float, Field(gt=0)]


class ResourceApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RESOURCE_API_", extra="ignore")

    issuer_url: str = "http://localhost:8000"
    jwks_url: str | None = None
    token_url: str | None = None  # for the /docs login; defaults to the issuer's /token
    audience: str = Field(default="resource-api", min_length=1)
    leeway: float = Field(default=30, ge=0, le=60)
    realm: str = Field(default="resource-api", pattern=r'^[^"\\]+$')

    jwks_min_ttl: Seconds = 60
    jwks_max_ttl: Seconds = 86400
    jwks_refetch_cooldown: Seconds = 30
    jwks_max_stale: Seconds = 86400
    jwks_fetch_timeout: Seconds = 5
    jwks_max_bytes: int = Field(default=256 * 1024, ge=1024)
    token_cache_size: int = Field(default=10_000, ge=0)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    _durations = field_validator(
        "jwks_min_ttl",
        "jwks_max_ttl",
        "jwks_refetch_cooldown",
        "jwks_max_stale",
        "jwks_fetch_timeout",
        mode="before",
    )(parse_duration)

    @field_validator("issuer_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        # The iss claim is compared as an exact string; ours is written without the slash.
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.jwks_min_ttl > self.jwks_max_ttl:
            raise ValueError("RESOURCE_API_JWKS_MIN_TTL must not exceed RESOURCE_API_JWKS_MAX_TTL")
        return self

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
