"""The HTTP limits `serve` holds every connection to, the same for both services.

Settings (each service's prefix, `ISSUER_` or `RESOURCE_API_`, then the name), and what
happens to a connection past each (it is closed in every case):

- `HTTP_MAX_HEADER_BYTES` (16384): request line plus headers longer: 431.
- `HTTP_HEADER_TIMEOUT` (10 s): headers not complete this long after the connection opened
  (or after the last response on it ended): 408 if any of the request came.
- `HTTP_BODY_TIMEOUT` (10 s): body not complete this long after its headers: 408 if no
  response has started.
- `HTTP_MAX_CONNECTIONS` (1000): a request on a connection past this many open in the
  process: 503 with Retry-After.

The limits are enforced by the server (service_runtime/http_protocol.py), before any request reaches
the app; uvicorn itself bounds none of them (httptools has no header limit, and uvicorn has no
header or body timeout).
"""

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

from service_runtime.settings import parse_duration

HeaderSeconds = Annotated[float, Field(gt=0, le=300)]
BodySeconds = Annotated[float, Field(gt=0, le=3600)]


@dataclass(frozen=True)
class HttpLimits:
    """What one server process allows each connection (see the module docstring)."""

    max_header_bytes: int = 16 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    max_connections: int = 1000
    # Seconds a client refused for the connection cap is asked to wait (503 Retry-After).
    retry_after: int = 1


_DEFAULTS = HttpLimits()


class HttpLimitSettings(BaseSettings):
    """The limits as settings; each service's settings class inherits them with its prefix."""

    # The longest request line plus headers, in bytes; longer: 431.
    http_max_header_bytes: int = Field(default=_DEFAULTS.max_header_bytes, ge=1024, le=1 << 20)
    # Headers not complete this long after the connection opened (or its last response
    # ended): 408 if any of the request came, and the connection is closed.
    http_header_timeout: HeaderSeconds = _DEFAULTS.header_timeout
    # A body not complete this long after its headers: 408 if no response has started.
    http_body_timeout: BodySeconds = _DEFAULTS.body_timeout
    # Open connections per process; a request on one more: 503 with Retry-After.
    http_max_connections: int = Field(default=_DEFAULTS.max_connections, ge=1, le=100_000)

    _http_durations = field_validator("http_header_timeout", "http_body_timeout", mode="before")(
        parse_duration
    )

    def http_limits(self) -> HttpLimits:
        return HttpLimits(
            max_header_bytes=self.http_max_header_bytes,
            header_timeout=self.http_header_timeout,
            body_timeout=self.http_body_timeout,
            max_connections=self.http_max_connections,
        )
