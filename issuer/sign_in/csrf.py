"""CSRF tokens of the sign-in's forms (the login form, the consent form, the logout
confirmation), bound to the visit: the CSRF cookie holds a random visit id, and the form's
hidden field is HMAC-SHA-256(issuer secret, purpose, visit id).

A double-submit check (cookie == field) trusts any pair, and an origin that can set a cookie
on the issuer's host (a sibling subdomain, plain http on the same name) can plant one. Here a
pair counts only when this issuer's secret made it; and on https the cookie's `__Host-` name
keeps other origins from setting it at all. The purpose is in the message, so that a login
form's token does not confirm a logout, nor allow a client.
"""

import base64
import hashlib
import hmac
import secrets
from typing import Literal

Purpose = Literal["login", "consent", "logout"]


def new_visit() -> str:
    """A visit id for the CSRF cookie: 256 random bits."""
    return secrets.token_urlsafe(32)


def form_token(key: bytes, visit: str, purpose: Purpose) -> str:
    message = f"{purpose}\x00{visit}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def form_token_valid(key: bytes, visit: str | None, purpose: Purpose, token: str | None) -> bool:
    """Whether `token` is this issuer's token for `visit` and `purpose` (constant time)."""
    if not visit or not token:
        return False
    expected = form_token(key, visit, purpose).encode()
    return hmac.compare_digest(expected, token.encode("utf-8", "surrogateescape"))
