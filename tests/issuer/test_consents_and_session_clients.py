"""Consents (OpenID Connect Core §3.1.2.4) remembered per user and client until revoked
(`sessions revoke --consent`, `users remove`), and the clients of each sign-in session, whom
Back-Channel Logout 1.0 tells when it ends."""

import io
from pathlib import Path

import pytest

from issuer.cli.main import main
from issuer.config import IssuerSettings
from issuer.wiring import build_services, consents, open_database
from jwtkit.testing import FakeClock

pytestmark = pytest.mark.usefixtures("database")

PASSWORD = "correct horse battery"


def test_consent_is_remembered_per_user_and_client_and_grows(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    """given() is empty until granted; a grant adds its scopes to what was allowed (a wider
    request asks again for the union); each (user, client) pair has its own."""
    store = build_services(settings, clock).consents
    assert frozenset() == store.given("u-1", "app")
    store.grant("u-1", "app", frozenset({"openid", "profile"}), clock())
    store.grant("u-1", "app", frozenset({"openid", "email"}), clock())
    assert frozenset({"openid", "profile", "email"}) == store.given("u-1", "app")
    assert frozenset() == store.given("u-1", "other")
    assert frozenset() == store.given("u-2", "app")


def test_revoke_forgets_one_client_or_all(settings: IssuerSettings, clock: FakeClock) -> None:
    store = build_services(settings, clock).consents
    for client in ("app", "crm", "wiki"):
        store.grant("u-1", client, frozenset({"openid"}), clock())
    store.grant("u-2", "app", frozenset({"openid"}), clock())
    assert 1 == store.revoke("u-1", "crm")
    assert 0 == store.revoke("u-1", "crm")
    assert frozenset() == store.given("u-1", "crm")
    assert 2 == store.revoke("u-1")
    assert frozenset({"openid"}) == store.given("u-2", "app")


def test_session_clients_are_recorded_once_each(settings: IssuerSettings, clock: FakeClock) -> None:
    """add() again is no change (a second code from the same sign-in); of() lists one
    session's clients; forget() drops them."""
    store = build_services(settings, clock).session_clients
    store.add("s-1", "wiki")
    store.add("s-1", "app")
    store.add("s-1", "app")
    store.add("s-2", "crm")
    assert ["app", "wiki"] == store.of("s-1")
    assert [] == store.of("s-unknown")
    assert 2 == store.forget("s-1")
    assert ([], ["crm"]) == (store.of("s-1"), store.of("s-2"))


def _cli(monkeypatch: pytest.MonkeyPatch, data: Path, args: list[str], stdin: str = "") -> int:
    monkeypatch.setenv("ISSUER_DATA_DIR", str(data))
    for name, value in {"ARGON2_MEMORY_KIB": "19456", "ARGON2_TIME_COST": "2"}.items():
        monkeypatch.setenv(f"ISSUER_{name}", value)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    open_database(IssuerSettings())
    return main(args)


def test_sessions_revoke_consent_and_users_remove_forget_consents(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sessions revoke --consent --user NAME --client ID` forgets one client's, without
    --client every client's; `users remove` forgets the rest; --consent needs --user and
    --client needs --consent (one line, exit 1)."""
    data = tmp_path / "data"
    for name in ("ann", "bob"):
        assert 0 == _cli(monkeypatch, data, ["users", "add", name, "--password-stdin"], PASSWORD)
    settings = IssuerSettings()
    engine = open_database(settings)
    services = build_services(settings, FakeClock())
    ann = services.users.find("ann")
    bob = services.users.find("bob")
    assert ann is not None and bob is not None
    store = consents(engine)
    for client in ("app", "crm", "wiki"):
        store.grant(ann.user.id, client, frozenset({"openid"}), 0)
    store.grant(bob.user.id, "app", frozenset({"openid"}), 0)
    capsys.readouterr()

    revoke = ["sessions", "revoke", "--consent", "--user", "ann"]
    assert 0 == _cli(monkeypatch, data, [*revoke, "--client", "crm"])
    assert "1 consent revoked\n" == capsys.readouterr().out
    assert frozenset() == store.given(ann.user.id, "crm")
    assert 0 == _cli(monkeypatch, data, ["users", "remove", "bob"])
    assert frozenset() == store.given(bob.user.id, "app")
    capsys.readouterr()
    assert 0 == _cli(monkeypatch, data, revoke)
    assert "2 consents revoked\n" == capsys.readouterr().out
    assert frozenset() == store.given(ann.user.id, "app")

    assert 1 == _cli(monkeypatch, data, ["sessions", "revoke", "--consent", "--family", "f"])
    assert "error: --consent goes with --user NAME\n" == capsys.readouterr().err
    assert 1 == _cli(monkeypatch, data, ["sessions", "revoke", "--user", "ann", "--client", "x"])
    assert "error: --client goes with --consent\n" == capsys.readouterr().err
    assert 1 == _cli(monkeypatch, data, [*revoke[:3], "--user", "nobody"])
    assert "error: no user named 'nobody'\n" == capsys.readouterr().err
