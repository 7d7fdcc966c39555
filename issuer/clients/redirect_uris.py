"""Redirect URIs: what a client may register, and whether a request's URI is one of them.

RFC 6749 §3.1.2.3 and RFC 9700 §4.1.3: "the authorization server MUST ensure that the two
URIs are equal" - exact string matching, byte for byte: no wildcards, no normalisation (a
parser that drops a tab or decodes %6F would make two different strings equal), no fragment.

RFC 8252 §7.3: "The authorization server MUST allow any port to be specified at the time of
the request for loopback IP redirect URIs, to accommodate clients that obtain an available
ephemeral port from the operating system." Only for clients registered as native apps
(`clients add --native`), and only the port of http://127.0.0.1 or http://[::1] (RFC 8252
§8.3: the IP literal, not `localhost`); everything else still matches byte for byte. RFC 9700
§4.1.3 allows no port variation for any other client: a web client's port is part of where it
listens, and another listener on the same host must not receive its codes.

https is required at registration except for loopback hosts (localhost included, for local
development).
"""

import re
from urllib.parse import urlsplit

_LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
# A native app's loopback redirect URI: the IP literal, an optional decimal port, the rest.
# Nothing before the host (no userinfo); ASCII digits only (int() would take full-width ones).
_NATIVE_LOOPBACK = re.compile(r"http://(127\.0\.0\.1|\[::1\])(?::([0-9]{1,5}))?([/?].*)?", re.S)


class RedirectUriError(ValueError):
    pass


def parses(uri: str) -> bool:
    """Whether Python's URL parser takes `uri` at all (urlsplit and .port raise ValueError on
    `http://[evil]/`, a full-width number sign U+FF03 in the host, or port 99999): such a
    URI is refused with an error page before anything else looks at it."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 (a malformed port raises here)
    except ValueError:
        return False
    return True


def check_registrable(uri: str) -> str:
    """The URI, if a client may register it; RedirectUriError says why not."""
    if not parses(uri):
        raise RedirectUriError(f"{uri!r}: not a URI that parses")
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc or parts.fragment or "#" in uri:
        raise RedirectUriError(f"{uri!r}: an absolute URI without a fragment (RFC 6749 §3.1.2)")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise RedirectUriError(f"{uri!r}: https, except on a loopback host (RFC 9700 §4.1.3)")
    if parts.scheme not in ("http", "https") or any(c in uri for c in " \t\r\n"):
        raise RedirectUriError(f"{uri!r}: an http(s) URI")
    return uri


def matches(requested: str, registered: tuple[str, ...], *, native: bool) -> bool:
    """Exact match; for a native client also a loopback IP redirect URI that differs from a
    registered one in its port only (RFC 8252 §7.3)."""
    if requested in registered:
        return True
    if not native:
        return False
    asked = _loopback(requested)
    return asked is not None and any(asked == _loopback(uri) for uri in registered)


def _loopback(uri: str) -> tuple[str, str] | None:
    """A loopback IP redirect URI without its port: (host, everything after the authority)."""
    found = _NATIVE_LOOPBACK.fullmatch(uri)
    if found is None or "#" in uri:
        return None
    host, port, rest = found.groups()
    if port is not None and not 0 < int(port) < 65536:
        return None
    return host, rest or ""
