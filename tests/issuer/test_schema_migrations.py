"""The schema is Alembic's: `db upgrade`, `db current`, adopting databases made before
migrations, auto-upgrade at start or a refusal naming the command, and one schema however many
processes start at once."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text

from issuer.cli.main import main
from issuer.sessions.refresh_tokens import token_hash
from issuer.store.models import Base
from issuer.store.schema import SchemaOutdated, current_revision, head_revision
from issuer.wiring import build_services, database_engine, open_database
from jwtkit.testing import FakeClock
from tests.support import ROOT, issuer_settings

pytestmark = pytest.mark.usefixtures("database")

RELEASE_1 = Path(__file__).parent.parent / "vectors" / "release-1-issuer.db"
RELEASE_1_KID = "8l8WIxl76EEzZ8xVMS_1m5o7da_AWUD_5H63jy-UoWM"
OPENID_CONNECT_USER_COLUMNS = (
    "name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
    "locale",
    "updated_at",
)


def test_first_release_database_is_adopted_with_users_and_keys_intact(
    tmp_path: Path, clock: FakeClock, database: str
) -> None:
    """The fixture database the first release made (tables, no version table) is stamped,
    upgraded to head, and keeps working: alice logs in with her password, and the same key
    (kid unchanged, now rewrapped under scrypt) signs her token."""
    if database != "sqlite":
        pytest.skip("the first release ran on SQLite only")
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(RELEASE_1, data / "issuer.db")
    settings = issuer_settings(data, key_passphrase="release one")
    services = build_services(settings, clock)
    assert head_revision() == current_revision(services.engine)
    user = services.users.authenticate("alice", "alice's password")
    assert user is not None and {"profile", "admin"} == user.scopes
    services.keyring.refresh()
    kid, key = services.keyring.signing_key(clock())
    assert RELEASE_1_KID == kid
    token = jwt.encode({"sub": user.id}, key, algorithm="RS256")
    assert user.id == jwt.decode(token, key.public_key(), algorithms=["RS256"])["sub"]


def test_unversioned_database_of_the_hold_up_release_is_adopted(tmp_path: Path) -> None:
    """A database whose tables were made without migrations, login_failures and
    key_encryption included, is stamped at the matching revision and opens normally."""
    settings = issuer_settings(tmp_path / "data")
    engine = database_engine(settings)
    hold_up_tables = ("users", "signing_keys", "login_failures", "key_encryption")
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[t] for t in hold_up_tables])
    with engine.begin() as connection:  # as that release made it: before signing algorithms
        connection.exec_driver_sql("ALTER TABLE signing_keys DROP COLUMN algorithm")
        # and before credential generations and spraying counters (0007)
        connection.exec_driver_sql("DROP INDEX ix_login_failures_network_at")
        connection.exec_driver_sql("DROP INDEX ix_login_failures_address_at")
        connection.exec_driver_sql("ALTER TABLE login_failures DROP COLUMN network")
        connection.exec_driver_sql("ALTER TABLE users DROP COLUMN credential_generation")
        for claim in OPENID_CONNECT_USER_COLUMNS:  # and before OpenID Connect (0008)
            connection.exec_driver_sql(f"ALTER TABLE users DROP COLUMN {claim}")
    assert current_revision(engine) is None
    open_database(settings)
    assert head_revision() == current_revision(engine)
    engine.dispose()


def test_auto_upgrade_off_refuses_an_old_schema_naming_the_command(
    tmp_path: Path, clock: FakeClock
) -> None:
    """ISSUER_DB_AUTO_UPGRADE=false on an empty (or older) database refuses to start and
    says which command to run; after `db upgrade`, it starts."""
    settings = issuer_settings(tmp_path / "data", db_auto_upgrade=False)
    with pytest.raises(SchemaOutdated, match=r"python -m issuer db upgrade"):
        build_services(settings, clock)
    open_database(issuer_settings(tmp_path / "data"))  # what `db upgrade` does
    build_services(settings, clock)


def test_db_current_and_upgrade_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`db current` prints none on an empty database, `db upgrade` brings it to head, and
    `db current` then says head."""
    monkeypatch.setenv("ISSUER_DATA_DIR", str(tmp_path / "data"))
    with database_engine(issuer_settings(tmp_path / "data")).connect():
        pass  # an empty database, as `createdb` or a first SQLite connection makes one
    assert 0 == main(["db", "current"])
    assert capsys.readouterr().out.startswith("none (head is ")
    assert 0 == main(["db", "upgrade"])
    assert f"database at revision {head_revision()} (head)\n" == capsys.readouterr().out
    assert 0 == main(["db", "current"])
    assert f"{head_revision()} (head)\n" == capsys.readouterr().out


@pytest.mark.slow
def test_concurrent_starts_make_one_schema(tmp_path: Path) -> None:
    """Four `python -m issuer db upgrade` processes started at once on one empty database all
    succeed, and the database ends at head with each table once."""
    env = {**os.environ, "ISSUER_DATA_DIR": str(tmp_path / "data")}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "issuer", "db", "upgrade"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    assert [0] * 4 == [process.returncode for process in processes], results
    engine = database_engine(issuer_settings(tmp_path / "data"))
    assert head_revision() == current_revision(engine)
    tables = inspect(engine).get_table_names()
    assert sorted(set(tables)) == sorted(tables)
    assert {"users", "signing_keys", "login_failures", "key_encryption"} <= set(tables)
    engine.dispose()


def _migrate(engine: Engine, command_name: str, revision: str) -> None:
    """`alembic upgrade/downgrade REVISION` on the issuer's migrations, as db upgrade runs them."""
    with engine.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(ROOT / "issuer" / "migrations"))
        config.attributes["connection"] = connection
        getattr(command, command_name)(config, revision)


def test_0008_openid_connect_up_and_down_keeps_users_clients_and_families(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A database at 0007 with a user, a code-flow client and a refresh family upgrades to
    0008: the user has no claims and an unverified email, the client is first-party with no
    logout URIs, the family has no sign-in (so no ID token on refresh, decision 9); the new
    tables exist. Down to 0007 and up again, the rows are still there."""
    settings = issuer_settings(tmp_path / "data")
    engine = database_engine(settings)
    _migrate(engine, "upgrade", "0007")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, username, password_hash, scopes, created_at) "
                "VALUES ('u-1', 'alice', 'hash', 'profile', 1.0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO clients (client_id, public, auth_method, grants, scopes, audiences,"
                " redirect_uris, created_at) VALUES ('web', :yes, 'none', 'authorization_code "
                "refresh_token', 'profile', '', 'https://app.example/cb', 1.0)"
            ),
            {"yes": True},
        )
        connection.execute(
            text(
                "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scopes,"
                " issued_at, expires_at, family_expires_at) VALUES (:hash, 'f-1', 'web', 'u-1',"
                " 'profile', 1.0, 1e12, 1e12)"
            ),
            {"hash": token_hash("old refresh token")},
        )
    _migrate(engine, "upgrade", "0008")
    assert "0008" == current_revision(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"consents", "sign_in_session_clients", "backchannel_logouts"} <= tables
    services = build_services(settings, clock)
    user = services.users.get("u-1")
    assert user is not None
    assert (None, None, False, None, None) == (
        user.name,
        user.email,
        user.email_verified,
        user.locale,
        user.updated_at,
    )
    client = services.clients.get("web")
    assert client is not None
    assert (False, (), None, False) == (
        client.consent_required,
        client.post_logout_redirect_uris,
        client.backchannel_logout_uri,
        client.backchannel_logout_session_required,
    )
    refreshed = services.refresh_tokens.rotate("old refresh token", "web", None, clock())
    assert (None, None) == (refreshed.auth_time, refreshed.sid)
    services.engine.dispose()

    _migrate(engine, "downgrade", "0007")
    assert "0007" == current_revision(engine)
    assert not {"consents", "sign_in_session_clients", "backchannel_logouts"} & set(
        inspect(engine).get_table_names()
    )
    assert "email" not in {column["name"] for column in inspect(engine).get_columns("users")}
    with engine.connect() as connection:
        assert [("alice",)] == connection.execute(text("SELECT username FROM users")).all()
        assert [("web",)] == connection.execute(text("SELECT client_id FROM clients")).all()
        assert 2 == connection.execute(text("SELECT count(*) FROM refresh_tokens")).scalar()
    _migrate(engine, "upgrade", "head")
    assert head_revision() == current_revision(engine)
    engine.dispose()


def test_0009_registration_upgrades_a_database_at_0008_with_a_client(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A database at 0008 with a code-flow client upgrades to 0009: the client is the CLI's
    ('cli', not self-registered, no display metadata, never marked used) and still looked up;
    the initial access token and registration-count tables exist. Down to 0008 and up again,
    the client is still there."""
    settings = issuer_settings(tmp_path / "data")
    engine = database_engine(settings)
    _migrate(engine, "upgrade", "0008")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO clients (client_id, public, auth_method, grants, scopes, audiences,"
                " redirect_uris, created_at) VALUES ('web', :yes, 'none', 'authorization_code "
                "refresh_token', 'profile', '', 'https://app.example/cb', 1.0)"
            ),
            {"yes": True},
        )
    _migrate(engine, "upgrade", "0009")
    assert "0009" == current_revision(engine)
    assert {"registration_tokens", "registration_attempts"} <= set(
        inspect(engine).get_table_names()
    )
    services = build_services(settings, clock)
    client = services.clients.get("web")
    assert client is not None
    assert ("cli", False, None, None) == (
        client.registration,
        client.self_registered,
        client.client_name,
        client.client_uri,
    )
    assert ("https://app.example/cb",) == client.redirect_uris
    assert not services.clients.registration_token_matches("web", "anything")
    assert 0 == services.clients.remove_unused(registered_before=clock() + 1e9)
    services.engine.dispose()

    _migrate(engine, "downgrade", "0008")
    assert "0008" == current_revision(engine)
    assert "registration" not in {c["name"] for c in inspect(engine).get_columns("clients")}
    with engine.connect() as connection:
        assert [("web",)] == connection.execute(text("SELECT client_id FROM clients")).all()
    _migrate(engine, "upgrade", "head")
    assert head_revision() == current_revision(engine)
    engine.dispose()
