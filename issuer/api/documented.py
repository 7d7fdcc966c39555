"""What each endpoint answers, for the OpenAPI document: the RFC 6749 error body, the token
response, and the HTML pages of the browser sign-in. Documentation only: the endpoints build
their responses themselves (issuer/api/errors.py, issuer/api/authorize.py)."""

from typing import Any

from pydantic import BaseModel, Field


class OAuthErrorBody(BaseModel):
    """RFC 6749 §5.2."""

    error: str = Field(examples=["invalid_grant"])
    error_description: str | None = Field(default=None, examples=["invalid username or password"])


class TokenResponse(BaseModel):
    """RFC 6749 §5.1, and OpenID Connect Core §3.1.3.3's id_token."""

    access_token: str
    token_type: str = Field(examples=["Bearer"])
    expires_in: int = Field(examples=[900])
    scope: str = Field(examples=["profile"])
    refresh_token: str | None = None
    id_token: str | None = Field(
        default=None,
        description="An OpenID Connect ID token (typ JWT), when the scope granted includes "
        "openid and a user signed in: the authorization code grant and its refreshes",
    )


def oauth_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "The request is malformed, or the grant or scope is refused (RFC 6749 §5.2)",
        401: "Client authentication failed (with a Basic challenge when Basic was used)",
        403: "The client may not use this endpoint",
        429: "Too many failed logins: throttled, see Retry-After",
        503: "Temporarily unavailable (password checks busy, database or keys): see Retry-After",
    }
    return {
        status: {"model": OAuthErrorBody, "description": descriptions[status]}
        for status in statuses
    }


def html_pages(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """HTML answers (and a 303 to the client's redirect URI)."""
    answers: dict[int | str, dict[str, Any]] = {}
    for status, description in descriptions.items():
        if status == 303:
            answers[status] = {"description": description}
        else:
            answers[status] = {
                "description": description,
                "content": {"text/html": {"schema": {"type": "string"}}},
            }
    return answers
