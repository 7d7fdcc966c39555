"""Users: argon2id hashes, scopes, and the `users` CLI."""

import io
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from issuer.accounts.users import UserError
from issuer.cli.main import main
from issuer.config import IssuerSettings
from issuer.store.db import session
from issuer.store.models import UserRow
from issuer.wiring import build_services, open_database
from jwtkit.testing import FakeClock
from tests.support import issuer_settings

pytestmark = pytest.mark.usefixtures("database")


def test_password_hash_is_argon2id_and_verifies(settings: IssuerSettings, clock: FakeClock) -> None:
    """The stored hash is argon2id with the configured parameters; the right password passes."""
    users = build_services(settings, clock).users
    users.add("alice", "pw-alice-1", frozenset({"profile"}))
    with session(build_services(settings, clock).engine) as db:
        stored = db.scalar(select(UserRow.password_hash))
    assert stored is not None and stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert users.authenticate("alice", "pw-alice-1") is not None
    assert users.authenticate("alice", "pw-alice-2") is None
    assert users.authenticate("nobody", "pw-alice-1") is None


def test_rehash_on_login_when_parameters_change(tmp_path: Path, clock: FakeClock) -> None:
    """A login under stronger parameters upgrades the stored hash."""
    data = tmp_path / "data"
    build_services(issuer_settings(data), clock).users.add("alice", "pw", frozenset({"profile"}))
    stronger = issuer_settings(data, argon2_memory_kib=24576)
    services = build_services(stronger, clock)
    assert services.users.authenticate("alice", "pw") is not None
    with session(services.engine) as db:
        stored = db.scalar(select(UserRow.password_hash))
    assert stored is not None and "m=24576" in stored
    assert PasswordHasher().verify(stored, "pw")


def test_adding_an_existing_user_is_a_clear_error(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    """The second add fails with a message, and the first user is untouched."""
    users = build_services(settings, clock).users
    first = users.add("alice", "one", frozenset({"profile"}))
    with pytest.raises(UserError, match="already exists"):
        users.add("alice", "two", frozenset({"admin"}))
    assert [first] == users.list()
    assert users.authenticate("alice", "one") == first


@pytest.mark.parametrize("name", ["", "a b", "x" * 151, "name:colon"])
def test_bad_usernames_are_refused(settings: IssuerSettings, clock: FakeClock, name: str) -> None:
    """Nothing is written for a refused user."""
    users = build_services(settings, clock).users
    with pytest.raises(UserError):
        users.add(name, "pw", frozenset({"profile"}))
    assert [] == users.list()


def _cli(monkeypatch: pytest.MonkeyPatch, data: Path, args: list[str], stdin: str = "") -> int:
    monkeypatch.setenv("ISSUER_DATA_DIR", str(data))
    monkeypatch.setenv("ISSUER_SCOPES", "profile,admin")
    for name, value in {"ARGON2_MEMORY_KIB": "19456", "ARGON2_TIME_COST": "2"}.items():
        monkeypatch.setenv(f"ISSUER_{name}", value)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    open_database(IssuerSettings())  # the database the server made (the CLI makes none)
    return main(args)


def test_users_cli_add_list_remove(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """users add --password-stdin --scope, users list, users remove."""
    data = tmp_path / "data"
    assert 0 == _cli(
        monkeypatch,
        data,
        ["users", "add", "ann", "--password-stdin", "--scope", "profile", "--scope", "admin"],
        "s3cret-passphrase\n",
    )
    assert 1 == _cli(monkeypatch, data, ["users", "add", "ann", "--password-stdin"], "other\n")
    assert "already exists" in capsys.readouterr().err
    assert 0 == _cli(monkeypatch, data, ["users", "list"])
    listing = capsys.readouterr().out
    assert "ann" in listing and "admin profile" in listing
    assert 0 == _cli(monkeypatch, data, ["users", "remove", "ann"])
    assert 1 == _cli(monkeypatch, data, ["users", "remove", "ann"])


def test_users_cli_without_terminal_needs_password_stdin(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No terminal and no --password-stdin: a clear error, no user."""
    assert 1 == _cli(monkeypatch, tmp_path / "data", ["users", "add", "ann"])
    assert "--password-stdin" in capsys.readouterr().err


def test_users_cli_refuses_unknown_scope(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scope outside ISSUER_SCOPES is refused before anything is written."""
    assert 1 == _cli(
        monkeypatch,
        tmp_path / "data",
        ["users", "add", "ann", "--password-stdin", "--scope", "root"],
        "pw\n",
    )
    assert "ISSUER_SCOPES" in capsys.readouterr().err
