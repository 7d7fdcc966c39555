"""What an ID token needs of the sign-in reaches the token endpoint's grants: the live session
gives its sid and auth_time (SignInSessions.current), an authorization code keeps them with the
request's nonce (OpenID Connect Core §3.1.2.1), the code grant hands them on as
Granted.authentication, the refresh family keeps them so that a refresh does too with no nonce
(§12.2, decision 9), and the session's end can revoke its families (Back-Channel Logout 1.0
§2.7)."""

from pathlib import Path

import pytest

from issuer.clients.registry import Client
from issuer.errors import InvalidGrant
from issuer.grants import Authentication, Granted, GrantRequest
from issuer.grants.authorization_code import AuthorizationCodeGrant
from issuer.grants.refresh_token import RefreshTokenGrant
from issuer.services import IssuerServices
from issuer.sessions.authorization_codes import s256
from issuer.wiring import add_demo_users, build_services
from jwtkit.testing import FakeClock
from tests.support import issuer_settings

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

REDIRECT = "https://app.example/cb"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B


@pytest.fixture
def services(tmp_path: Path, clock: FakeClock) -> IssuerServices:
    built = build_services(issuer_settings(tmp_path / "data", demo_users=["alice:pw"]), clock)
    add_demo_users(built)
    built.clients.add(
        "web",
        public=True,
        grants=frozenset({"authorization_code", "refresh_token"}),
        scopes=frozenset({"openid", "profile", "email"}),
        audiences=(),
        auth_method="none",
        redirect_uris=(REDIRECT,),
    )
    return built


def _client(services: IssuerServices) -> Client:
    client = services.clients.get("web")
    assert client is not None
    return client


def _alice_id(services: IssuerServices) -> str:
    found = services.users.find("alice")
    assert found is not None
    return found.user.id


def _request(services: IssuerServices, form: dict[str, str]) -> GrantRequest:
    return GrantRequest(form, _client(services), "127.0.0.1", services.clock(), services)


def _code(services: IssuerServices, scopes: set[str], **oidc: object) -> str:
    return services.authorization_codes.issue(
        client_id="web",
        redirect_uri=REDIRECT,
        code_challenge=s256(VERIFIER),
        user_id=_alice_id(services),
        scopes=frozenset(scopes),
        now=services.clock(),
        **oidc,  # type: ignore[arg-type]
    )


async def _exchange(services: IssuerServices, code: str) -> Granted:
    form = {"code": code, "redirect_uri": REDIRECT, "code_verifier": VERIFIER}
    return await AuthorizationCodeGrant(_request(services, form)).validate()


def test_current_gives_the_sessions_sid_and_auth_time(
    services: IssuerServices, clock: FakeClock
) -> None:
    """current() is the cookie's live session: session_id (the sid) as `sessions list`
    shows it, started_at (the auth_time); None without a cookie, after its end, past its
    lifetime, and once the user's credentials changed."""
    user = services.users.find("alice")
    assert user is not None
    started = clock()
    cookie = services.sign_in_sessions.start(user.user, started)
    assert cookie is not None
    current = services.sign_in_sessions.current(cookie, clock())
    assert current is not None
    assert (user.user.id, started) == (current.user_id, current.started_at)
    assert [current] == services.sign_in_sessions.live(clock())
    assert services.sign_in_sessions.current(None, clock()) is None
    assert services.sign_in_sessions.current("not a cookie", clock()) is None
    expiry = started + services.sign_in_sessions.ttl
    assert services.sign_in_sessions.current(cookie, expiry) is None
    services.sign_in_sessions.end(cookie)
    assert services.sign_in_sessions.current(cookie, clock()) is None
    again = services.sign_in_sessions.start(user.user, clock())
    assert services.sign_in_sessions.current(again, clock()) is not None
    services.users.new_credential_generation(user.user.id)
    assert services.sign_in_sessions.current(again, clock()) is None


def test_redeemed_code_carries_nonce_auth_time_and_sid(services: IssuerServices) -> None:
    code = _code(services, {"openid"}, nonce="n-0S6_WzA2Mj", auth_time=1_700_000_000, sid="s-1")
    redeemed = services.authorization_codes.redeem(
        code, client_id="web", redirect_uri=REDIRECT, code_verifier=VERIFIER, now=services.clock()
    )
    assert ("n-0S6_WzA2Mj", 1_700_000_000, "s-1") == (
        redeemed.nonce,
        redeemed.auth_time,
        redeemed.sid,
    )


async def test_code_grant_gives_the_authentication_with_the_nonce_core_3_1_3_3(
    services: IssuerServices,
) -> None:
    """The code's sign-in becomes Granted.authentication (amr pwd, RFC 8176 §2), and openid
    and email are granted to a user whose own scopes are profile only (decision 7)."""
    code = _code(
        services,
        {"openid", "profile", "email"},
        nonce="n-0S6_WzA2Mj",
        auth_time=1_700_000_000,
        sid="s-1",
    )
    granted = await _exchange(services, code)
    assert Authentication(1_700_000_000, "s-1", "n-0S6_WzA2Mj", ("pwd",)) == (
        granted.authentication
    )
    assert frozenset({"openid", "profile", "email"}) == granted.scopes


async def test_code_without_a_sign_in_gives_no_authentication(services: IssuerServices) -> None:
    """A code issued before 0008 (no auth_time, no sid): no ID token can be made of it."""
    granted = await _exchange(services, _code(services, {"profile"}))
    assert granted.authentication is None


async def test_refresh_keeps_auth_time_and_sid_without_nonce_core_12_2(
    services: IssuerServices, clock: FakeClock
) -> None:
    """The family started by the code keeps its auth_time and sid through every rotation;
    the refresh grant hands them on with no nonce."""
    code = _code(services, {"openid"}, nonce="n-1", auth_time=1_700_000_000, sid="s-1")
    granted = await _exchange(services, code)
    assert granted.refresh_token is not None
    token = granted.refresh_token
    for _ in range(2):
        clock.advance(60)
        form = {"refresh_token": token}
        refreshed = await RefreshTokenGrant(_request(services, form)).validate()
        assert Authentication(1_700_000_000, "s-1") == refreshed.authentication
        assert frozenset({"openid"}) == refreshed.scopes
        assert refreshed.refresh_token is not None
        token = refreshed.refresh_token


def test_revoke_sid_ends_the_sessions_families_only_bcl_2_7(
    services: IssuerServices, clock: FakeClock
) -> None:
    """Back-Channel Logout 1.0 §2.7: the refresh tokens of the ended sign-in are revoked;
    another sign-in's family and a password-grant family (no sid) live on."""
    alice, now = _alice_id(services), clock()
    tokens = services.refresh_tokens
    ended = tokens.issue(alice, "web", frozenset({"openid"}), now, auth_time=1, sid="s-1")
    other = tokens.issue(alice, "web", frozenset({"openid"}), now, auth_time=2, sid="s-2")
    plain = tokens.issue(alice, "web", frozenset({"profile"}), now)
    assert 1 == tokens.revoke_sid("s-1", now)
    assert 2 == len(tokens.families(now, alice))
    with pytest.raises(InvalidGrant):
        tokens.rotate(ended, "web", None, now)
    rotated = tokens.rotate(other, "web", None, now)
    assert (2, "s-2") == (rotated.auth_time, rotated.sid)
    assert tokens.rotate(plain, "web", None, now).sid is None
