"""Reading an RFC 6749 token request body: form-encoded, bounded, each parameter at most once."""

from urllib.parse import parse_qsl

from fastapi import Request
from starlette.requests import ClientDisconnect

from issuer.errors import InvalidRequest

MAX_BODY_BYTES = 4096
MAX_FIELDS = 16
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


async def read_form(
    request: Request, *, max_bytes: int = MAX_BODY_BYTES, max_fields: int = MAX_FIELDS
) -> dict[str, str]:
    """The form's parameters, each at most once; blank values count as omitted (RFC 6749 §3.1).
    The sign-in's forms carry an authorization request, and take larger bounds."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise InvalidRequest(f"the request body must be {FORM_CONTENT_TYPE}")
    body = b""
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise InvalidRequest("the request body is too large")
    except ClientDisconnect:
        # The client left, or the server ended it (ISSUER_HTTP_BODY_TIMEOUT): a request that
        # never arrived, not a server error; the answer goes nowhere.
        raise InvalidRequest("the request body did not arrive") from None
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=max_fields, errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the request body is not a valid form") from None
    # No identifier, secret or name of ours holds a NUL, and PostgreSQL's text type cannot store
    # one: refused here rather than failing a lookup (which would answer 503).
    if any("\0" in name or "\0" in value for name, value in pairs):
        raise InvalidRequest("the request body holds a NUL character")
    form: dict[str, str] = {}
    for name, value in pairs:
        # RFC 6749 §3.2: parameters MUST NOT be included more than once. The name is not
        # echoed: it is request input.
        if name in form:
            raise InvalidRequest("a parameter is repeated")
        form[name] = value
    return {name: value for name, value in form.items() if value}
