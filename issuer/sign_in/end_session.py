"""What an RP-Initiated Logout 1.0 request asks, checked: the ID token it gives as a hint, the
client, and where to send the browser afterwards.

- §2: "When an id_token_hint parameter is present, the OP MUST validate that it was the issuer
  of the ID Token": the hint must be signed by one of the keys this issuer publishes, carry
  its `iss`, and be for the client named; its expiry is not checked (the OP "SHOULD accept ID
  Tokens ... even when the exp time has passed").
- §2: "When both client_id and id_token_hint are present, the OP MUST verify that the Client
  Identifier matches the one used when issuing the ID Token." The client is the hint's `aud`
  or `client_id`; both present must name the same one.
- §3: the post_logout_redirect_uri "MUST have been previously registered with the OP": one of
  the client's registered post_logout_redirect_uris, compared byte for byte (decision 12: its
  redirect URIs do not count).
- Anything else is refused whole (the caller shows a 400 page, never a redirect).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from issuer.clients.redirect_uris import parses
from issuer.clients.registry import Client
from issuer.services import IssuerServices
from issuer.sessions.sign_in_sessions import SignIn
from issuer.tokens.id_tokens import verified_hint

# Every parameter of RP-Initiated Logout 1.0 §2. ui_locales and logout_hint are accepted and
# have no effect: the pages have one language, and the session to end is the browser's.
FIELDS = (
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
    "ui_locales",
    "logout_hint",
)
BAD_HINT = (
    "The sign-out request is not valid: its ID token is not this issuer's, or is for another "
    "client."
)
NOT_REGISTERED = "The return address given is not registered."


class EndSessionRefused(ValueError):
    """The request is refused; the message is for the user (no request input in it)."""


@dataclass(frozen=True, slots=True)
class EndSessionRequest:
    client_id: str | None
    target: str | None  # a registered post_logout_redirect_uri, or None: no redirect
    state: str | None
    hint: Mapping[str, Any] | None  # the verified claims of the id_token_hint

    def names(self, sign_in: SignIn) -> bool:
        """Whether the hint is an ID token of this sign-in session: its sid, or when it has
        none, its user."""
        if self.hint is None:
            return False
        sid = self.hint.get("sid")
        if sid is not None:
            return bool(sid == sign_in.session_id)
        return bool(self.hint.get("sub") == sign_in.user_id)


async def end_session_request(
    services: IssuerServices, fields: Mapping[str, str]
) -> EndSessionRequest:
    """The request, checked; EndSessionRefused says why not."""
    client_id = fields.get("client_id")
    hint = None
    if "id_token_hint" in fields:
        # Verified for client_id when given (so another client's hint fails), else for the
        # client its aud names, which the signature then vouches for.
        hint = await verified_hint(fields["id_token_hint"], client_id, services)
        if hint is None:
            raise EndSessionRefused(BAD_HINT)
        client_id = client_id or _audience(hint)
    target = fields.get("post_logout_redirect_uri")
    if target is not None:
        client = await anyio.to_thread.run_sync(services.clients.get, client_id or "")
        if not registered(client, target):
            raise EndSessionRefused(NOT_REGISTERED)
    return EndSessionRequest(client_id, target, fields.get("state"), hint)


def registered(client: Client | None, target: str) -> bool:
    return client is not None and parses(target) and target in client.post_logout_redirect_uris


def _audience(claims: Mapping[str, Any]) -> str:
    aud = claims["aud"]
    return str(aud[0] if isinstance(aud, list) else aud)
