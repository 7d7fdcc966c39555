"""A bad setting is one line naming the variable, the value, what was wrong and what would be
right; env files are read like the environment, which wins; an unknown variable is a warning
with the closest known name; a bad argument is one argparse line."""

import argparse
import json
import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from issuer.config import IssuerSettings
from resource_api.config import ResourceApiSettings
from service_runtime.arguments import (
    OneLineParser,
    duration,
    jwk_set_file,
    port_number,
    positive_integer,
)
from service_runtime.settings import InvalidSettings, describe_settings_error
from service_runtime.settings_loading import (
    load_settings,
    unknown_variables,
    warn_unknown_variables,
)


def _lines(settings: type[IssuerSettings | ResourceApiSettings], **values: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        settings(**values)  # type: ignore[arg-type]
    return describe_settings_error(caught.value, settings).splitlines()


def test_a_bad_integer_names_the_variable_the_value_and_the_range() -> None:
    """The accepted range comes from the field's constraints."""
    expected = [
        "ISSUER_ACCESS_TOKEN_TTL=-5: input should be greater than or equal to 60 "
        "(expected an integer from 60 to 86400)"
    ]
    assert expected == _lines(IssuerSettings, access_token_ttl="-5")


def test_one_line_per_bad_setting() -> None:
    """Two bad values: two lines, each naming its own variable."""
    lines = _lines(IssuerSettings, access_token_ttl="soon", key_size="1024")
    assert 2 == len(lines)
    assert lines[0].startswith("ISSUER_ACCESS_TOKEN_TTL=soon: ")
    assert "ISSUER_KEY_SIZE=1024: input should be 2048, 3072 or 4096" == lines[1]


def test_a_bad_duration_says_which_units_it_takes() -> None:
    """Durations take seconds or 30s / 15m / 1h / 7d."""
    (line,) = _lines(IssuerSettings, session_ttl="a while")
    assert line.startswith("ISSUER_SESSION_TTL='a while': ")
    assert line.endswith(
        "(expected a duration above 0 (seconds, or with a unit: 30s, 15m, 1h, 7d))"
    )


def test_postgres_scheme_suggests_postgresql_psycopg_and_masks_the_password() -> None:
    """`postgres://` (Heroku's, libpq's) is not a SQLAlchemy dialect; the password stays hidden."""
    (line,) = _lines(IssuerSettings, database_url="postgres://app:hunter2@db:5432/issuer")
    assert line == (
        "ISSUER_DATABASE_URL='postgres://app:***@db:5432/issuer': SQLAlchemy has no driver for "
        "postgres:// here; write postgresql+psycopg://app:***@db:5432/issuer (psycopg 3)"
    )
    assert "hunter2" not in line


def test_a_database_url_that_is_not_a_url_shows_what_one_looks_like() -> None:
    (line,) = _lines(IssuerSettings, database_url="not a url")
    assert line.startswith("ISSUER_DATABASE_URL='not a url': not a database URL; expected ")
    assert "postgresql+psycopg://" in line


def test_a_secret_value_is_never_shown() -> None:
    """Passphrases are named, their values not."""
    (line,) = _lines(IssuerSettings, key_passphrase="s3cret", key_passphrase_file="/run/p")
    assert "s3cret" not in line
    assert "ISSUER_KEY_PASSPHRASE or ISSUER_KEY_PASSPHRASE_FILE" in line


def test_an_issuers_entry_names_its_index_and_key() -> None:
    """RESOURCE_API_ISSUERS: a missing key and an unknown one, each with the keys it takes."""
    lines = _lines(ResourceApiSettings, issuers=[{"issuer": "http://a", "audiance": "x"}])
    keys = "issuer, audience, jwks_url (optional), algorithms (optional)"
    assert [
        f"RESOURCE_API_ISSUERS[0]: the key 'audience' is required (the keys are {keys})",
        f"RESOURCE_API_ISSUERS[0]: unknown key 'audiance' (the keys are {keys})",
    ] == lines


def test_issuers_that_are_not_json_say_what_they_take(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESOURCE_API_ISSUERS", "http://a")
    with pytest.raises(InvalidSettings) as caught:
        load_settings(ResourceApiSettings)
    (line,) = caught.value.lines
    assert line.startswith("RESOURCE_API_ISSUERS=http://a: ")
    assert "(expected a JSON list of objects with the keys issuer, audience" in line


def test_an_env_file_is_read_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Values from --env-file; the same variable in the environment takes precedence."""
    env_file = tmp_path / "issuer.env"
    env_file.write_text('ISSUER_SCOPES="profile admin"\nISSUER_AUDIENCE=from-file\n')
    monkeypatch.setenv("ISSUER_AUDIENCE", "from-environment")
    settings = load_settings(IssuerSettings, env_file)
    # OpenID Connect's identity scopes are always known (issue 22), after the configured ones.
    assert (["profile", "admin", "openid", "email"], "from-environment") == (
        settings.scopes,
        settings.audience,
    )


def test_prefix_env_file_is_read_by_the_class_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ISSUER_ENV_FILE / RESOURCE_API_ENV_FILE: read wherever the settings are built, as in
    serve's workers (the app factory builds them with no arguments)."""
    (tmp_path / "api.env").write_text("RESOURCE_API_AUDIENCE=billing\n")
    monkeypatch.setenv("RESOURCE_API_ENV_FILE", str(tmp_path / "api.env"))
    assert "billing" == ResourceApiSettings().audience


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_an_env_file_that_cannot_be_read_is_one_line(tmp_path: Path, kind: str) -> None:
    """A missing file is not skipped in silence (pydantic-settings would)."""
    path = tmp_path / "issuer.env"
    if kind == "directory":
        path.mkdir()
    with pytest.raises(InvalidSettings) as caught:
        load_settings(IssuerSettings, path)
    (line,) = caught.value.lines
    assert line.startswith(f"--env-file={path}: ")
    assert line.endswith("expected a readable file of NAME=VALUE lines")


def test_an_env_file_variable_naming_no_file_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISSUER_ENV_FILE", "/nonexistent/issuer.env")
    with pytest.raises(InvalidSettings) as caught:
        load_settings(IssuerSettings)
    assert caught.value.lines[0].startswith("ISSUER_ENV_FILE=/nonexistent/issuer.env: no such file")


def test_an_unknown_variable_is_named_with_the_closest_setting() -> None:
    """A misspelt variable would be ignored in silence; compose's own variables are not
    settings and are left alone."""
    environ = ["ISSUER_ACCES_TOKEN_TTL", "ISSUER_SCOPES", "ISSUER_PORT", "PATH", "ISSUER_ENV_FILE"]
    assert [
        "ISSUER_ACCES_TOKEN_TTL (in the environment) is not a setting and is ignored; "
        "did you mean ISSUER_ACCESS_TOKEN_TTL?"
    ] == unknown_variables(IssuerSettings, environ)
    assert [
        "RESOURCE_API_AUDIENCES (in api.env) is not a setting and is ignored; "
        "did you mean RESOURCE_API_AUDIENCE?"
    ] == unknown_variables(ResourceApiSettings, [], ["RESOURCE_API_AUDIENCES"], "api.env")


def test_unknown_variables_are_logged_as_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """One warning per variable, from the environment and from the env file."""
    (tmp_path / "issuer.env").write_text("ISSUER_SCOPE=profile\n")
    monkeypatch.setenv("ISSUER_DEMO_USER", "a:b")
    with caplog.at_level(logging.WARNING):
        warn_unknown_variables(IssuerSettings, tmp_path / "issuer.env")
    messages = [record.getMessage() for record in caplog.records]
    assert 2 == len(messages)
    assert messages[0].endswith("did you mean ISSUER_DEMO_USERS?")
    assert messages[1].endswith("did you mean ISSUER_SCOPES?")


@pytest.mark.parametrize("text", ["0", "65536", "99999", "http", "-1"])
def test_a_port_outside_1_to_65535_is_refused(text: str) -> None:
    """uvicorn would take 99999 and listen on a port of its own choosing."""
    with pytest.raises(argparse.ArgumentTypeError, match="expected 1 to 65535"):
        port_number(text)


def test_ports_and_workers_in_range_are_taken() -> None:
    assert (1, 65535, 4) == (port_number("1"), port_number("65535"), positive_integer("4"))
    with pytest.raises(argparse.ArgumentTypeError):
        positive_integer("0")


def test_a_duration_argument_takes_units_and_refuses_others() -> None:
    """`--keep-old-for 1x` said `could not convert string to float`."""
    assert 3600 == duration("1h")
    with pytest.raises(argparse.ArgumentTypeError, match="'1x' is not a duration"):
        duration("1x")


def test_a_jwk_set_file_names_the_file_and_what_is_wrong(tmp_path: Path) -> None:
    """Missing, not JSON, or JSON but not a JWK Set: each names the file."""
    missing, broken, other = (tmp_path / name for name in ("a.json", "b.json", "c.json"))
    broken.write_text('{"keys": [')
    other.write_text("[]")
    with pytest.raises(argparse.ArgumentTypeError, match=f"{missing}: no such file"):
        jwk_set_file(str(missing))
    with pytest.raises(argparse.ArgumentTypeError, match=f"{broken}: not JSON"):
        jwk_set_file(str(broken))
    with pytest.raises(argparse.ArgumentTypeError, match=f"{other}: not a JWK Set"):
        jwk_set_file(str(other))
    other.write_text(json.dumps({"keys": []}))
    assert {"keys": []} == jwk_set_file(str(other))


def test_an_argument_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """argparse's usage block is left to --help: the error is one line, exit status 2."""
    parser = OneLineParser(prog="prog")
    parser.add_argument("--port", type=port_number)
    with pytest.raises(SystemExit) as caught:
        parser.parse_args(["--port", "99999"])
    assert 2 == caught.value.code
    expected = "prog: error: argument --port: '99999' is not a port: expected 1 to 65535"
    assert f"{expected} (see prog --help)\n" == capsys.readouterr().err
