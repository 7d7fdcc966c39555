"""Every command refuses a setting it cannot use with one line naming it and exit status 2,
never a traceback (issue 21: each case there has a test here); --env-file gives every command
the server's settings."""

import os
from pathlib import Path

import pytest

from issuer.cli.argv import identifiers_as_values
from issuer.cli.main import main
from issuer.wiring import build_services
from jwtkit.testing import FakeClock
from tests.support import CHEAP_ARGON2, free_port, issuer_settings


@pytest.fixture(autouse=True)
def _issuer_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ISSUER_DATA_DIR", str(tmp_path / "data"))
    for name, value in CHEAP_ARGON2.items():
        monkeypatch.setenv(f"ISSUER_{name.upper()}", str(value))


def _refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one line on stderr of a command that exits 2."""
    assert 2 == main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = err.splitlines()
    return line


def _argument_refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as caught:
        main(list(argv))
    assert 2 == caught.value.code
    (line,) = capsys.readouterr().err.splitlines()
    return line


def test_a_data_dir_that_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was NotADirectoryError from deep in the engine's set-up."""
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("ISSUER_DATA_DIR", str(tmp_path / "file"))
    line = _refused(capsys, "users", "list")
    assert f"error: ISSUER_DATA_DIR={tmp_path / 'file'}: is a file; " in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_data_dir_that_is_not_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was PermissionError."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setenv("ISSUER_DATA_DIR", str(locked / "data"))
    line = _refused(capsys, "users", "list")
    assert line.startswith(f"error: ISSUER_DATA_DIR={locked / 'data'}: {locked} is not writable")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "error: ISSUER_DATABASE_URL='not a url': not a database URL; expected "),
        ("postgres://app@db/issuer", "write postgresql+psycopg://app@db/issuer (psycopg 3)"),
        ("mysql://app@db/issuer", "the issuer runs on PostgreSQL or SQLite"),
    ],
)
def test_a_database_url_it_cannot_open(
    url: str, expected: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was 61 lines ending ArgumentError, or `Can't load plugin: sqlalchemy.dialects:…`."""
    monkeypatch.setenv("ISSUER_DATABASE_URL", url)
    assert expected in _refused(capsys, "users", "list")


def test_an_unreachable_database_names_the_host_and_the_timeout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was 163 lines. Nothing listens on the port: refused at once."""
    port = free_port()
    monkeypatch.setenv("ISSUER_DATABASE_URL", f"postgresql+psycopg://app:pw@127.0.0.1:{port}/x")
    monkeypatch.setenv("ISSUER_DB_CONNECT_TIMEOUT", "2")
    line = _refused(capsys, "users", "list")
    assert line.startswith(
        f"error: ISSUER_DATABASE_URL=postgresql+psycopg://app:***@127.0.0.1:{port}"
    )
    assert f"cannot connect to 127.0.0.1:{port} within ISSUER_DB_CONNECT_TIMEOUT=2 s" in line
    assert "pw@" not in line


@pytest.mark.parametrize("content", [None, "", "  \n"])
def test_a_passphrase_file_it_cannot_use(
    content: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ISSUER_KEY_PASSPHRASE_FILE=/nonexistent was a traceback; an empty one exit 1."""
    path = tmp_path / "passphrase"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("ISSUER_KEY_PASSPHRASE_FILE", str(path))
    line = _refused(capsys, "keys", "list")
    problem = "no such file" if content is None else "the file is empty"
    assert line.startswith(f"error: ISSUER_KEY_PASSPHRASE_FILE={path}: {problem}")


def test_a_bad_value_names_the_variable_and_the_range(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ISSUER_ACCESS_TOKEN_TTL", "5")
    line = _refused(capsys, "keys", "list")
    assert line.endswith("(expected an integer from 60 to 86400)")


@pytest.mark.parametrize("content", [None, '{"keys": [', '{"kty": "RSA"}'])
def test_a_jwks_file_it_cannot_use(
    content: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`clients add --jwks-file`: missing was a raw traceback, malformed a JSON error that did
    not name the file."""
    path = tmp_path / "jwks.json"
    if content is not None:
        path.write_text(content)
    line = _argument_refused(
        capsys,
        "clients",
        "add",
        "svc",
        "--auth-method",
        "private_key_jwt",
        "--jwks-file",
        str(path),
    )
    assert line.startswith(f"python -m issuer clients add: error: argument --jwks-file: {path}: ")


def test_keep_old_for_that_is_not_a_duration(capsys: pytest.CaptureFixture[str]) -> None:
    """It said `could not convert string to float`."""
    line = _argument_refused(capsys, "clients", "rotate-secret", "svc", "--keep-old-for", "1x")
    assert "argument --keep-old-for: '1x' is not a duration" in line


@pytest.mark.parametrize("port", ["99999", "0"])
def test_serve_refuses_a_port_outside_1_to_65535(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`serve --port 99999` said it ran on 99999 and listened on another port."""
    line = _argument_refused(capsys, "serve", "--port", port)
    assert f"argument --port: '{port}' is not a port: expected 1 to 65535" in line


def test_a_misspelt_variable_is_a_warning_with_the_closest_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ISSUER_ACCES_TOKEN_TTL was ignored in silence; now it is named, and the command runs."""
    assert 0 == main(["db", "upgrade"])  # the CLI works on an existing database only
    monkeypatch.setenv("ISSUER_ACCES_TOKEN_TTL", "60")
    assert 0 == main(["users", "list"])
    err = capsys.readouterr().err
    assert "ISSUER_ACCES_TOKEN_TTL (in the environment) is not a setting" in err
    assert "did you mean ISSUER_ACCESS_TOKEN_TTL?" in err


def test_env_file_settings_reach_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scope only the file names is known to `users add`; the environment wins for a
    variable both set (here the data directory: the user lands in the environment's)."""
    monkeypatch.delenv("ISSUER_DATA_DIR")
    env_file = tmp_path / "issuer.env"
    env_file.write_text(
        f"ISSUER_SCOPES=profile,billing\nISSUER_DATA_DIR={tmp_path / 'file-data'}\n"
    )
    monkeypatch.setenv("ISSUER_DATA_DIR", str(tmp_path / "env-data"))
    monkeypatch.setenv("ISSUER_DEFAULT_SCOPES", "profile")
    add = ["--env-file", str(env_file), "users", "add", "ann", "--password-stdin"]
    monkeypatch.setattr("sys.stdin", _Lines("correct horse battery\n"))
    assert 0 == main(["--env-file", str(env_file), "db", "upgrade"])
    assert 0 == main([*add, "--scope", "billing"])
    assert "added ann" in capsys.readouterr().out
    assert (tmp_path / "env-data" / "issuer.db").exists()
    assert not (tmp_path / "file-data").exists()
    assert 0 == main(["--env-file", str(env_file), "users", "list"])
    assert "billing" in capsys.readouterr().out


def test_a_missing_env_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _refused(capsys, "--env-file", str(tmp_path / "nope.env"), "users", "list")
    assert line.startswith(f"error: --env-file={tmp_path / 'nope.env'}: no such file")


def test_top_level_options_come_before_the_identifier_handling() -> None:
    """`--env-file F users remove -bob`: the name starting with `-` still goes behind `--`."""
    assert ["--env-file", "f", "users", "remove", "--", "-bob"] == identifiers_as_values(
        ["--env-file", "f", "users", "remove", "-bob"]
    )


class _Lines:
    """A stdin that is not a terminal, holding `text`."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines(keepends=True)

    def readline(self) -> str:
        return self._lines.pop(0) if self._lines else ""

    def isatty(self) -> bool:
        return False


def test_a_wrong_key_passphrase_is_one_line_and_exit_2_from_serve_and_the_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A passphrase that cannot read the stored keys was a traceback in serve's log (and exit
    1 from the commands); it is a bad setting like any other, found before a worker starts."""
    data = tmp_path / "data"
    made = build_services(issuer_settings(data, key_passphrase="the right one"), FakeClock())
    made.keyring.refresh()
    made.engine.dispose()
    monkeypatch.setenv("ISSUER_DATA_DIR", str(data))
    monkeypatch.setenv("ISSUER_KEY_PASSPHRASE", "a wrong one")
    assert 2 == main(["keys", "list"])
    assert 2 == main(["serve", "--port", str(free_port())])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    refused = [line for line in err.splitlines() if line.startswith("error: ")]
    assert 2 == len(refused)
    assert all("ISSUER_KEY_PASSPHRASE" in line for line in refused)


def test_auto_upgrade_off_on_an_old_schema_is_one_line_and_exit_2_from_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ISSUER_DB_AUTO_UPGRADE=false on a database without the schema: one line that names the
    command to run, before any worker starts."""
    monkeypatch.setenv("ISSUER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ISSUER_DB_AUTO_UPGRADE", "false")
    assert 2 == main(["serve", "--port", str(free_port())])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    refused = [line for line in err.splitlines() if line.startswith("error: ")]
    assert 1 == len(refused)
    assert "python -m issuer db upgrade" in refused[0]
