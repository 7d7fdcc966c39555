"""Users' OpenID Connect claims (Core §5.1): set with `users add` and `users update`, checked,
shown by `users list`, and released by scope as §5.4 says (issuer/accounts/claims.py)."""

import io
import json
from pathlib import Path

import pytest

from issuer.accounts.claims import CLAIMS_SUPPORTED, SCOPE_CLAIMS, released
from issuer.accounts.users import User, UserClaims, UserError
from issuer.cli.main import main
from issuer.config import IssuerSettings
from issuer.wiring import build_services, open_database
from jwtkit.testing import FakeClock

pytestmark = pytest.mark.usefixtures("database")

PASSWORD = "correct horse battery"
ANN = UserClaims(
    name="Ann Example",
    given_name="Ann",
    family_name="Example",
    email="ann@example.com",
    email_verified=True,
    locale="en-GB",
)


def test_claims_are_stored_with_the_user_and_updated_at_is_the_clock(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    """add keeps the claims and sets updated_at; update changes only the claims named (and
    a new address's email_verified), clears one given as "", and moves updated_at to the
    injected clock's time (Core §5.1)."""
    users = build_services(settings, clock).users
    added = users.add("ann", PASSWORD, frozenset({"profile"}), ANN)
    assert ("Ann Example", "ann@example.com", True, "en-GB") == (
        added.name,
        added.email,
        added.email_verified,
        added.locale,
    )
    assert int(clock()) == added.updated_at
    clock.advance(100)
    updated = users.update("ann", UserClaims(email="ann@corp.example", locale=""))
    assert updated is not None
    assert ("Ann Example", "ann@corp.example", False, None) == (
        updated.name,
        updated.email,
        updated.email_verified,
        updated.locale,
    )
    assert int(clock()) == updated.updated_at
    assert [updated] == users.list()
    assert users.update("nobody", ANN) is None


def test_a_new_email_address_is_unverified_unless_told(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    """Changing the address drops email_verified (the old address's check says nothing of
    the new one); the same address, another claim, or --email-verified with it keeps it."""
    users = build_services(settings, clock).users
    users.add("ann", PASSWORD, frozenset({"profile"}), ANN)
    kept = users.update("ann", UserClaims(email="ann@example.com", name="Ann"))
    assert kept is not None and kept.email_verified
    moved = users.update("ann", UserClaims(email="ann@corp.example"))
    assert moved is not None and not moved.email_verified
    told = users.update("ann", UserClaims(email="ann@new.example", email_verified=True))
    assert told is not None and told.email_verified


def test_a_user_without_claims_has_none_and_an_unverified_email(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    user = build_services(settings, clock).users.add("bob", PASSWORD, frozenset({"profile"}))
    assert (None, None, None, None, None, False) == (
        user.name,
        user.given_name,
        user.family_name,
        user.email,
        user.locale,
        user.email_verified,
    )


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        (UserClaims(email="no-at-sign"), "one @"),
        (UserClaims(email="two@@example.com"), "one @"),
        (UserClaims(email="@example.com"), "one @"),
        (UserClaims(email="a b@example.com"), "no spaces"),
        (UserClaims(email=f"{'a' * 243}@example.com"), "at most 254"),
        (UserClaims(name="x" * 256), "at most 255"),
        (UserClaims(given_name="line\nbreak"), "control characters"),
        (UserClaims(family_name="x" * 256), "family name"),
        (UserClaims(locale="en-"), "BCP 47"),
        (UserClaims(locale="12"), "BCP 47"),
        (UserClaims(locale="en_GB"), "BCP 47"),
        (UserClaims(locale="e"), "BCP 47"),
    ],
)
def test_bad_claims_are_a_user_error_with_one_line(
    settings: IssuerSettings, clock: FakeClock, claims: UserClaims, message: str
) -> None:
    """Nothing is written for a refused claim, on add and on update."""
    users = build_services(settings, clock).users
    with pytest.raises(UserError, match=message) as refused:
        users.add("ann", PASSWORD, frozenset({"profile"}), claims)
    assert "\n" not in str(refused.value)
    assert [] == users.list()
    users.add("ann", PASSWORD, frozenset({"profile"}))
    with pytest.raises(UserError, match=message):
        users.update("ann", claims)


@pytest.mark.parametrize("locale", ["en", "en-GB", "zh-Hant-TW", "de-CH-1996", "es-419"])
def test_bcp47_locales_are_taken(settings: IssuerSettings, clock: FakeClock, locale: str) -> None:
    users = build_services(settings, clock).users
    added = users.add("ann", PASSWORD, frozenset({"profile"}), UserClaims(locale=locale))
    assert locale == added.locale


def test_released_follows_the_scope_table_of_core_5_4() -> None:
    """profile releases the names, preferred_username (the username), locale and updated_at
    (a number); email releases email and email_verified (a boolean); sub always; nothing
    for openid alone or an unknown scope."""
    user = User(
        id="sub-1",
        username="ann",
        scopes=frozenset(),
        name="Ann Example",
        given_name="Ann",
        family_name="Example",
        email="ann@example.com",
        email_verified=False,
        locale="en-GB",
        updated_at=1700000000,
    )
    assert {"sub": "sub-1"} == released(user, ["openid", "admin"])
    assert {
        "sub": "sub-1",
        "name": "Ann Example",
        "given_name": "Ann",
        "family_name": "Example",
        "preferred_username": "ann",
        "locale": "en-GB",
        "updated_at": 1700000000,
    } == released(user, ["openid", "profile"])
    assert {"sub": "sub-1", "email": "ann@example.com", "email_verified": False} == released(
        user, {"email"}
    )
    assert False is released(user, {"email"})["email_verified"]


def test_absent_claims_are_omitted_core_5_3_2() -> None:
    """§5.3.2: a claim not returned is omitted, never null or "": a user with no claims gives
    sub and preferred_username only, and no email_verified without an email."""
    user = User(id="sub-1", username="bob", scopes=frozenset())
    assert {"sub": "sub-1", "preferred_username": "bob"} == released(user, ["profile", "email"])


def test_claims_supported_lists_every_releasable_claim() -> None:
    """Discovery §3 claims_supported covers the scope table and the ID token's claims."""
    for claims in SCOPE_CLAIMS.values():
        assert set(claims) <= set(CLAIMS_SUPPORTED)
    for claim in ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid"):
        assert claim in CLAIMS_SUPPORTED
    assert len(CLAIMS_SUPPORTED) == len(set(CLAIMS_SUPPORTED))


def _cli(monkeypatch: pytest.MonkeyPatch, data: Path, args: list[str], stdin: str = "") -> int:
    monkeypatch.setenv("ISSUER_DATA_DIR", str(data))
    for name, value in {"ARGON2_MEMORY_KIB": "19456", "ARGON2_TIME_COST": "2"}.items():
        monkeypatch.setenv(f"ISSUER_{name}", value)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    open_database(IssuerSettings())  # the database the server made (the CLI makes none)
    return main(args)


def test_users_cli_sets_shows_and_updates_claims(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """users add with every claim option, users list (piped rows and --json), users update
    with some options and --no-email-verified; usernames starting with "-" work too."""
    data = tmp_path / "data"
    add = ["users", "add", "-ann", "--password-stdin", "--email", "ann@example.com"]
    add += ["--email-verified", "--name", "Ann Example", "--given-name", "Ann"]
    add += ["--family-name", "Example", "--locale", "en-GB", "--json"]
    assert 0 == _cli(monkeypatch, data, add, f"{PASSWORD}\n")
    shown = json.loads(capsys.readouterr().out)
    assert {
        "username": "-ann",
        "scopes": ["profile"],
        "name": "Ann Example",
        "given_name": "Ann",
        "family_name": "Example",
        "email": "ann@example.com",
        "email_verified": True,
        "locale": "en-GB",
    } == {key: value for key, value in shown.items() if key not in ("sub", "updated_at")}
    assert isinstance(shown["updated_at"], int)
    assert 0 == _cli(monkeypatch, data, ["users", "list"])
    row = f"-ann\t{shown['sub']}\tprofile\tann@example.com\tverified\tAnn Example\n"
    assert row == capsys.readouterr().out
    assert 0 == _cli(monkeypatch, data, ["users", "list", "--json"])
    assert [shown] == json.loads(capsys.readouterr().out)

    update = ["users", "update", "-ann", "--email", "ann@corp.example", "--no-email-verified"]
    assert 0 == _cli(monkeypatch, data, [*update, "--name", ""])
    assert "updated -ann (email, email_verified, name)\n" == capsys.readouterr().out
    assert 0 == _cli(monkeypatch, data, ["users", "list"])
    row = f"-ann\t{shown['sub']}\tprofile\tann@corp.example\t-\t-\n"
    assert row == capsys.readouterr().out


def test_users_cli_refuses_bad_claims_and_empty_updates_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad email is refused before the password is read (exit 1, one line, no user); an
    update naming no claim, or no such user, is refused the same way."""
    data = tmp_path / "data"
    bad = ["users", "add", "ann", "--password-stdin", "--email", "not-an-address"]
    assert 1 == _cli(monkeypatch, data, bad, f"{PASSWORD}\n")
    err = capsys.readouterr().err
    assert err.startswith("error: an email address") and 1 == err.count("\n")
    assert 0 == _cli(monkeypatch, data, ["users", "list", "--json"])
    assert [] == json.loads(capsys.readouterr().out)
    assert 1 == _cli(monkeypatch, data, ["users", "update", "ann", "--locale", "en"])
    assert "error: no user named 'ann'\n" == capsys.readouterr().err
    assert 0 == _cli(monkeypatch, data, ["users", "add", "ann", "--password-stdin"], PASSWORD)
    capsys.readouterr()
    assert 1 == _cli(monkeypatch, data, ["users", "update", "ann"])
    assert capsys.readouterr().err.startswith("error: nothing to update: name a claim")
    assert 1 == _cli(monkeypatch, data, ["users", "update", "ann", "--locale", "en_GB"])
    assert "error: a locale is a BCP 47 language tag, such as en or en-GB\n" == (
        capsys.readouterr().err
    )
