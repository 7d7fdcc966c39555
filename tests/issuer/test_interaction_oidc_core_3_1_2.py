"""The decision whether an authorization request needs a page first (Core §3.1.2.1,
§3.1.2.4, §3.1.2.6), without HTTP: issuer/grants/interaction.py, on requests parsed as the
endpoint parses them."""

from dataclasses import dataclass

import pytest

from issuer.clients.registry import Client
from issuer.grants.authorization_code import AuthorizationRequest
from issuer.grants.interaction import interaction, without_page
from issuer.grants.openid_parameters import OpenIdParameters, openid_parameters

NOW = 1_000_000.0
REDIRECT = "https://app.example/cb"


@dataclass(frozen=True)
class SignedIn:
    user_id: str = "alice-id"
    started_at: float = NOW - 600  # signed in ten minutes ago


def request(*, consent_required: bool = False, **sent: str) -> AuthorizationRequest:
    client = Client(
        client_id="app",
        public=True,
        auth_method="none",
        grants=frozenset({"authorization_code"}),
        scopes=frozenset({"openid", "profile"}),
        audiences=(),
        jwks=None,
        redirect_uris=(REDIRECT,),
        consent_required=consent_required,
    )
    parameters = openid_parameters(sent, set(sent))
    return AuthorizationRequest(
        client, REDIRECT, "st", frozenset({"openid"}), "c" * 43, tuple(sent.items()), parameters
    )


OPENID = frozenset({"openid"})


def test_no_sign_in_session_asks_to_sign_in() -> None:
    assert "login" == interaction(request(), None, NOW)


def test_a_live_session_needs_no_page() -> None:
    assert interaction(request(), SignedIn(), NOW) is None


@pytest.mark.parametrize("prompt", ["login", "select_account", "consent login"])
def test_prompt_login_asks_to_sign_in_even_when_signed_in(prompt: str) -> None:
    """§3.1.2.1 login: "The Authorization Server SHOULD prompt the End-User for
    reauthentication"; select_account is read as login (one account per browser)."""
    assert "login" == interaction(request(prompt=prompt), SignedIn(), NOW)


def test_max_age_exceeded_asks_to_sign_in_again() -> None:
    """§3.1.2.1 max_age: older than max_age seconds, "the OP MUST attempt to actively
    re-authenticate"; exactly max_age old still does."""
    assert interaction(request(max_age="600"), SignedIn(), NOW) is None
    assert "login" == interaction(request(max_age="599"), SignedIn(), NOW)


def test_max_age_zero_is_prompt_login() -> None:
    assert "login" == interaction(request(max_age="0"), SignedIn(started_at=NOW), NOW)


def test_id_token_hint_for_another_user_asks_to_sign_in() -> None:
    assert interaction(request(), SignedIn(), NOW, hint_subject="alice-id") is None
    assert "login" == interaction(request(), SignedIn(), NOW, hint_subject="bob-id")


def test_first_party_client_never_asks_consent() -> None:
    """The registration is the previous administrative consent (§3.1.2.4)."""
    decided = interaction(request(prompt="consent"), SignedIn(), NOW, asked=OPENID)
    assert decided is None


def test_third_party_client_asks_consent_until_given() -> None:
    third_party = request(consent_required=True)
    assert "consent" == interaction(third_party, SignedIn(), NOW, asked=OPENID)
    assert interaction(third_party, SignedIn(), NOW, asked=OPENID, consented=OPENID) is None


def test_a_scope_not_yet_consented_asks_again() -> None:
    more = frozenset({"openid", "profile"})
    third_party = request(consent_required=True)
    assert "consent" == interaction(third_party, SignedIn(), NOW, asked=more, consented=OPENID)


def test_prompt_consent_asks_again() -> None:
    asking = request(consent_required=True, prompt="consent")
    assert "consent" == interaction(asking, SignedIn(), NOW, asked=OPENID, consented=OPENID)


def test_sign_in_comes_before_consent() -> None:
    third_party = request(consent_required=True, prompt="login")
    assert "login" == interaction(third_party, SignedIn(), NOW, asked=OPENID)


@pytest.mark.parametrize(
    ("signed_in", "sent", "error"),
    [
        (None, {}, "login_required"),
        (SignedIn(), {"max_age": "60"}, "login_required"),
        (SignedIn(), {"consent": "yes"}, "consent_required"),
    ],
)
def test_prompt_none_refuses_instead_of_a_page_core_3_1_2_6(
    signed_in: SignedIn | None, sent: dict[str, str], error: str
) -> None:
    """§3.1.2.6: under prompt=none the client gets the error; its redirect URI and state."""
    consent_required = sent.pop("consent", None) is not None
    asked = request(consent_required=consent_required, prompt="none", **sent)
    step = interaction(asked, signed_in, NOW, asked=OPENID)
    refused = without_page(asked, step)
    assert refused is not None
    assert (REDIRECT, "st", error) == (refused.redirect_uri, refused.state, refused.error)


def test_prompt_none_with_nothing_to_ask_is_not_refused() -> None:
    asked = request(prompt="none")
    assert without_page(asked, interaction(asked, SignedIn(), NOW)) is None
    assert without_page(request(), "login") is None  # without prompt=none: the page


def test_parameters_default_to_none_asked() -> None:
    assert OpenIdParameters() == openid_parameters({"prompt": "", "max_age": ""}, set())


def test_right_after_the_login_form_only_consent_is_left() -> None:
    """The sign-in prompt=login, max_age or the hint asked for has just happened."""
    fresh = SignedIn(started_at=NOW)
    again = request(prompt="login", max_age="0")
    assert interaction(again, fresh, NOW, hint_subject="bob-id", just_signed_in=True) is None
    third_party = request(consent_required=True, prompt="login")
    decided = interaction(third_party, fresh, NOW, asked=OPENID, just_signed_in=True)
    assert "consent" == decided
