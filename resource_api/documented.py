"""What the resource API answers, for the OpenAPI document: the user it describes, and the
RFC 6750 errors every protected endpoint may give."""

from typing import Any

from pydantic import BaseModel, Field


class UserInfo(BaseModel):
    username: str | None = Field(examples=["test"])
    sub: str
    scopes: list[str] = Field(examples=[["profile"]])
    client_id: str | None = Field(examples=["default"])
    expires_at: float


class Caller(BaseModel):
    kind: str = Field(examples=["user", "service"])
    sub: str
    username: str | None
    client_id: str | None
    scopes: list[str]


class BearerErrorBody(BaseModel):
    """RFC 6750 §3 (the challenge itself is in WWW-Authenticate)."""

    error: str | None = Field(default=None, examples=["invalid_token"])
    error_description: str = Field(examples=["the token has expired"])


BEARER_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": BearerErrorBody, "description": "A malformed Authorization header"},
    401: {"model": BearerErrorBody, "description": "No token, or a token refused"},
    403: {"model": BearerErrorBody, "description": "A valid token without the scope needed"},
    503: {"model": BearerErrorBody, "description": "The issuer's keys are unavailable"},
}
