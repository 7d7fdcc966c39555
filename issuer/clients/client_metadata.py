"""RFC 7591 §2 client metadata, as a client that registers itself sends it (POST /register, a
client ID metadata document): what is accepted, and why the rest is refused (§3.2.2).

The rules, each for a client nobody vetted:

- `redirect_uris` is required (RFC 7591 §2: "Clients using flows with redirection MUST register
  their redirection URI values"; only the code flow is offered). Each is https, or http on a
  loopback host for a native app (RFC 8252 §7.3, §8.3), with no fragment (RFC 6749 §3.1.2),
  checked as `clients add` checks them (issuer/clients/redirect_uris.py). A bad one is
  `invalid_redirect_uri`.
- `application_type` (OpenID Connect Registration §2, which the MCP SDK sends): `web` or
  `native`. Omitted, a client with an http loopback redirect URI is native, any other web. A
  web client may not use http loopback URIs (Registration §2: "Web Clients ... MUST NOT use
  localhost as the hostname").
- `token_endpoint_auth_method`: a self-registered client is always public. Any other method
  asked for is replaced by `none`, which §3.2.1 allows ("the authorization server MAY reject
  or replace any of the client's requested metadata values"), rather than refused: the MCP
  SDK and other clients default to `client_secret_post`, and take the method the response says.
- `grant_types` within authorization_code and refresh_token, and including authorization_code;
  `response_types` only `code` (§2.1: the two must agree). Omitted: §2's defaults.
- Display metadata (`client_name`, `client_uri`, `logo_uri`, `tos_uri`, `policy_uri`,
  `contacts`, `software_id`, `software_version`) length-limited; the URIs https only, since
  the consent page links to them. An empty string is taken as absent.
- `scope`: RFC 6749 scope tokens here; whether the issuer knows them is the registration
  policy's check (issuer/clients/self_registration.py), which knows the settings.
- Every other member is dropped (§2: "The authorization server MUST ignore any client metadata
  sent by the client that it does not understand"), language-tagged names (§2.2) included,
  and so are `jwks`, `jwks_uri` (no key-based authentication for these clients).

Error descriptions are fixed sentences: request input is never echoed (issuer/errors.py).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from issuer.accounts.users import SCOPE_TOKEN
from issuer.clients.redirect_uris import RedirectUriError, check_registrable

INVALID_REDIRECT_URI = "invalid_redirect_uri"
INVALID_CLIENT_METADATA = "invalid_client_metadata"

ALLOWED_GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})
ALLOWED_RESPONSE_TYPES = frozenset({"code"})
APPLICATION_TYPES = frozenset({"web", "native"})
# Bounds: the columns' sizes (issuer/store/models.py ClientRow), and a few per list.
MAX_NAME = 200
MAX_URI = 2000
MAX_SOFTWARE = 255
MAX_CONTACT = 254
MAX_REDIRECT_URIS = 10
MAX_CONTACTS = 5
MAX_SCOPE = 1000
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class ClientMetadataError(ValueError):
    """RFC 7591 §3.2.2: `error` is invalid_redirect_uri or invalid_client_metadata."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True, slots=True)
class ClientMetadata:
    """What was accepted of a registration request, as the response echoes it (§3.2.1)."""

    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...] = ("authorization_code",)
    response_types: tuple[str, ...] = ("code",)
    application_type: str = "web"
    token_endpoint_auth_method: str = "none"  # noqa: S105 (a method name, not a secret)
    scope: tuple[str, ...] | None = None  # None: not asked for (the policy's default)
    client_name: str | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    tos_uri: str | None = None
    policy_uri: str | None = None
    contacts: tuple[str, ...] = ()
    software_id: str | None = None
    software_version: str | None = None

    @property
    def native(self) -> bool:
        return self.application_type == "native"

    def document(self) -> dict[str, Any]:
        """The metadata as RFC 7591 §3.2.1 returns it: set members only."""
        members: dict[str, Any] = {
            "redirect_uris": list(self.redirect_uris),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "grant_types": list(self.grant_types),
            "response_types": list(self.response_types),
            "application_type": self.application_type,
            "scope": None if self.scope is None else " ".join(self.scope),
            "client_name": self.client_name,
            "client_uri": self.client_uri,
            "logo_uri": self.logo_uri,
            "tos_uri": self.tos_uri,
            "policy_uri": self.policy_uri,
            "contacts": list(self.contacts) or None,
            "software_id": self.software_id,
            "software_version": self.software_version,
        }
        return {name: value for name, value in members.items() if value is not None}


def parse_client_metadata(document: Mapping[str, Any]) -> ClientMetadata:
    """The accepted metadata of `document` (a JSON object already decoded); raises
    ClientMetadataError naming the RFC 7591 §3.2.2 error."""
    grant_types = _grant_types(document)
    response_types = _response_types(document)
    redirect_uris = _redirect_uris(document)
    return ClientMetadata(
        redirect_uris=redirect_uris,
        grant_types=grant_types,
        response_types=response_types,
        application_type=_application_type(document, redirect_uris),
        scope=_scope(document),
        client_name=_text(document, "client_name", MAX_NAME),
        client_uri=_https_uri(document, "client_uri"),
        logo_uri=_https_uri(document, "logo_uri"),
        tos_uri=_https_uri(document, "tos_uri"),
        policy_uri=_https_uri(document, "policy_uri"),
        contacts=_contacts(document),
        software_id=_text(document, "software_id", MAX_SOFTWARE),
        software_version=_text(document, "software_version", MAX_SOFTWARE),
    )


def _invalid(description: str) -> ClientMetadataError:
    return ClientMetadataError(INVALID_CLIENT_METADATA, description)


def _string_list(document: Mapping[str, Any], name: str, error: str) -> list[str] | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ClientMetadataError(error, f"{name} must be an array of strings")
    return list(dict.fromkeys(value))  # repeated values count once


def _grant_types(document: Mapping[str, Any]) -> tuple[str, ...]:
    grants = _string_list(document, "grant_types", INVALID_CLIENT_METADATA)
    if grants is None:
        return ("authorization_code",)  # §2: the default
    if not set(grants) <= ALLOWED_GRANT_TYPES:
        raise _invalid("grant_types may be authorization_code and refresh_token only")
    if "authorization_code" not in grants:
        raise _invalid("grant_types must include authorization_code")
    return tuple(grants)


def _response_types(document: Mapping[str, Any]) -> tuple[str, ...]:
    types = _string_list(document, "response_types", INVALID_CLIENT_METADATA)
    if types is None:
        return ("code",)
    if set(types) != ALLOWED_RESPONSE_TYPES:
        raise _invalid("response_types may be code only")
    return tuple(types)


def _redirect_uris(document: Mapping[str, Any]) -> tuple[str, ...]:
    uris = _string_list(document, "redirect_uris", INVALID_REDIRECT_URI)
    if not uris:
        raise ClientMetadataError(INVALID_REDIRECT_URI, "redirect_uris is required")
    if len(uris) > MAX_REDIRECT_URIS:
        raise ClientMetadataError(INVALID_REDIRECT_URI, "at most 10 redirect_uris")
    for uri in uris:
        if len(uri) > MAX_URI:
            raise ClientMetadataError(INVALID_REDIRECT_URI, "a redirect URI is too long")
        try:
            check_registrable(uri)
        except RedirectUriError:
            raise ClientMetadataError(
                INVALID_REDIRECT_URI,
                "each redirect URI must be https, or http on a loopback host, without a fragment",
            ) from None
    return tuple(uris)


def _loopback_http(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS


def _application_type(document: Mapping[str, Any], redirect_uris: tuple[str, ...]) -> str:
    asked = document.get("application_type")
    loopback = any(_loopback_http(uri) for uri in redirect_uris)
    if asked is None or asked == "":
        return "native" if loopback else "web"
    if asked not in APPLICATION_TYPES:
        raise _invalid("application_type must be web or native")
    if asked == "web" and loopback:
        raise ClientMetadataError(
            INVALID_REDIRECT_URI, "a web client's redirect URIs must be https (native: loopback)"
        )
    return str(asked)


def _scope(document: Mapping[str, Any]) -> tuple[str, ...] | None:
    value = document.get("scope")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_SCOPE:
        raise _invalid("scope must be a string of scope tokens")
    tokens = [token for token in value.split(" ") if token]
    if not tokens or not all(SCOPE_TOKEN.match(token) for token in tokens):
        raise _invalid("scope must be a string of scope tokens")
    return tuple(dict.fromkeys(tokens))


def _text(document: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = document.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a string")
    if len(value) > limit or not value.isprintable():
        raise _invalid(f"{name} is too long or has control characters")
    return value


def _https_uri(document: Mapping[str, Any], name: str) -> str | None:
    value = _text(document, name, MAX_URI)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (a malformed port raises here)
    except ValueError:
        raise _invalid(f"{name} must be an https URL") from None
    if parts.scheme != "https" or not parts.hostname or " " in value or parts.username:
        raise _invalid(f"{name} must be an https URL")
    return value


def _contacts(document: Mapping[str, Any]) -> tuple[str, ...]:
    contacts = _string_list(document, "contacts", INVALID_CLIENT_METADATA) or []
    if len(contacts) > MAX_CONTACTS or any(
        not 0 < len(contact) <= MAX_CONTACT or not contact.isprintable() or " " in contact
        for contact in contacts
    ):
        raise _invalid("contacts must be at most 5 e-mail addresses")
    return tuple(contacts)
