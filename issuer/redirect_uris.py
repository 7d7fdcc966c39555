"""Redirect URIs: what a client may register, and whether a request's URI is one of them.

RFC 6749 §3.1.2 and RFC 9700 §4.1.3: exact string matching, no wildcards, no fragment.
RFC 8252 §7.3: for a native app's loopback redirect (127.0.0.1 or [::1] over http), the port
may vary, since the app listens on whatever port the system gives it.
https is required except for loopback hosts (localhost included, for local development).
"""

from urllib.parse import urlsplit

_LOOPBACK_IPS = ("127.0.0.1", "::1")
_LOOPBACK_HOSTS = (*_LOOPBACK_IPS, "localhost")


class RedirectUriError(ValueError):
    pass


def check_registrable(uri: str) -> str:
    """The URI, if a client may register it; RedirectUriError says why not."""
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc or parts.fragment or "#" in uri:
        raise RedirectUriError(f"{uri!r}: an absolute URI without a fragment (RFC 6749 §3.1.2)")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise RedirectUriError(f"{uri!r}: https, except on a loopback host (RFC 9700 §4.1.3)")
    if parts.scheme not in ("http", "https") or " " in uri:
        raise RedirectUriError(f"{uri!r}: an http(s) URI")
    return uri


def matches(requested: str, registered: tuple[str, ...]) -> bool:
    """Exact match, or a loopback IP redirect that differs only in its port (RFC 8252 §7.3)."""
    if requested in registered:
        return True
    asked = urlsplit(requested)
    if asked.scheme != "http" or asked.hostname not in _LOOPBACK_IPS:
        return False
    try:
        asked.port  # noqa: B018 (a malformed port raises here)
    except ValueError:
        return False
    for uri in registered:
        known = urlsplit(uri)
        if (
            known.scheme == "http"
            and known.hostname == asked.hostname
            and (known.path, known.query) == (asked.path, asked.query)
            and not asked.fragment
        ):
            return True
    return False
