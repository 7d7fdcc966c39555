"""Whether an authorization request needs a page before its code (OpenID Connect Core
§3.1.2.3, §3.1.2.4): a sign-in, a consent, or nothing. Pure: the endpoint reads the sign-in
session, the remembered consent and the verified id_token_hint, and applies the answer
(issuer/api/authorize.py).

A sign-in is needed when there is no live sign-in session, and also with one when
- `prompt=login` (or select_account) asks for it, or `max_age=0`, which means the same;
- the session started more than `max_age` seconds ago (Core §3.1.2.1: "the OP MUST attempt to
  actively re-authenticate the End-User");
- an `id_token_hint` names another user than the session's (node-oidc-provider's login prompt:
  "id_token_hint and authenticated subject do not match").

A consent is needed only for a client registered with consent required (a first-party client's
registration is the "previous administrative consent" of Core §3.1.2.4), when `prompt=consent`
asks for it or the code's scopes are not all among those the user consented to before.

Right after the login form, the sign-in the request asked for has just happened: only the
consent is left to decide.

Under `prompt=none` no page is shown: the client gets the matching error (Core §3.1.2.6),
login_required or consent_required. interaction_required, for "interaction of some form", has
no case here: every page this issuer shows is one of those two.
"""

from typing import Literal, Protocol

from issuer.grants.authorization_code import AuthorizationRequest, Refused

Step = Literal["login", "consent"]
# Core §3.1.2.6: the errors for a page that prompt=none does not allow.
_WITHOUT_PAGE: dict[Step, tuple[str, str]] = {
    "login": ("login_required", "the user must sign in, and prompt=none allows no page"),
    "consent": ("consent_required", "the user must consent, and prompt=none allows no page"),
}


class LiveSignIn(Protocol):
    """What the decision reads of a sign-in session (SignInSessions.current gives one)."""

    @property
    def user_id(self) -> str: ...

    @property
    def started_at(self) -> float: ...  # the auth_time


def sign_in_again(
    request: AuthorizationRequest,
    signed_in: LiveSignIn,
    now: float,
    hint_subject: str | None = None,
) -> bool:
    """Whether the live session does not do for this request: the user must sign in again."""
    max_age = request.openid.max_age
    if "login" in request.openid.prompts or max_age == 0:
        return True
    if max_age is not None and now - signed_in.started_at > max_age:
        return True
    return hint_subject is not None and hint_subject != signed_in.user_id


def consent_needed(
    request: AuthorizationRequest, asked: frozenset[str], consented: frozenset[str]
) -> bool:
    """Whether the user must be asked to consent to `asked` (the code's scopes), having
    consented to `consented` before for this client."""
    if not request.client.consent_required:
        return False
    return "consent" in request.openid.prompts or not asked <= consented


def interaction(
    request: AuthorizationRequest,
    signed_in: LiveSignIn | None,
    now: float,
    *,
    hint_subject: str | None = None,
    asked: frozenset[str] = frozenset(),
    consented: frozenset[str] = frozenset(),
    just_signed_in: bool = False,
) -> Step | None:
    """The page this request needs first, or None: the code can be issued. `asked` and
    `consented` matter only with a session that does."""
    if signed_in is None:
        return "login"
    if not just_signed_in and sign_in_again(request, signed_in, now, hint_subject):
        return "login"
    if consent_needed(request, asked, consented):
        return "consent"
    return None


def without_page(request: AuthorizationRequest, step: Step | None) -> Refused | None:
    """Under prompt=none, the refusal for the client instead of the page; None otherwise."""
    if step is None or not request.openid.prompt_none:
        return None
    error, description = _WITHOUT_PAGE[step]
    return Refused(request.redirect_uri, request.state, error, description)
