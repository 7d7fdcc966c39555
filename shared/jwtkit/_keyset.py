"""Reading an issuer's JWKS and discovery documents into usable verification keys."""

import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

import jwt

from jwtkit._signatures import load_key
from jwtkit.contract import key_algorithm

logger = logging.getLogger(__name__)

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)


class KeySetError(ValueError):
    """A discovery or JWKS document that cannot be used; the message says why."""


def metadata_url(issuer: str) -> str:
    """RFC 8414 §3.1: the well-known segment goes between the host and any issuer path."""
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{parts.path}"


def jwks_uri_from_metadata(body: bytes, issuer: str) -> str:
    document = _json_object(body, "discovery document")
    # RFC 8414 §3.3: the issuer in the metadata MUST be identical to the one we asked about.
    if document.get("issuer") != issuer:
        raise KeySetError("the discovery document names another issuer")
    uri = document.get("jwks_uri")
    if not isinstance(uri, str) or urlsplit(uri).scheme not in ("http", "https"):
        raise KeySetError("the discovery document has no usable jwks_uri")
    return uri


def parse_jwks(body: bytes) -> dict[str, jwt.PyJWK]:
    """The usable keys by kid: for signatures, of a supported type and curve (RSA of 2048
    bits or more for RS256 or PS256, EC P-256 for ES256, OKP Ed25519 for EdDSA), with a kid,
    each bound to its one algorithm; others are skipped (logged here, once per fetch, never
    per request). A kid that names two keys is ambiguous:
    both are dropped, and the other keys stay usable."""
    document = _json_object(body, "JWKS")
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise KeySetError("the JWKS has no keys array")
    keys: dict[str, jwt.PyJWK] = {}
    duplicated: set[str] = set()
    for entry in entries:
        key = _usable_key(entry)
        if key is None:
            continue
        kid = entry["kid"]
        if kid in keys:
            duplicated.add(kid)
        keys[kid] = key
    for kid in duplicated:
        logger.warning(
            "skipping a kid that names more than one key in the JWKS", extra={"kid": kid}
        )
        del keys[kid]
    return keys


def _usable_key(entry: Any) -> jwt.PyJWK | None:
    if not isinstance(entry, dict):
        return None
    kid = entry.get("kid")
    algorithm = key_algorithm(entry)
    if algorithm is None or entry.get("use", "sig") != "sig" or not isinstance(kid, str) or not kid:
        return None
    try:
        # The key's algorithm is fixed here, from the key: a token's header never chooses it.
        return load_key(entry, algorithm)
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as error:
        logger.warning(
            "skipping an unusable key in the JWKS", extra={"kid": kid, "error": str(error)}
        )
        return None


def max_age(cache_control: str | None) -> float | None:
    if not cache_control:
        return None
    if re.search(r"no-store|no-cache", cache_control, re.IGNORECASE):
        return 0.0
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None


def _json_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise KeySetError(f"the {what} is not JSON") from None
    if not isinstance(document, dict):
        raise KeySetError(f"the {what} is not a JSON object")
    return document
