"""The CLI says what it takes: `--help` gives the defaults and the valid values (from the code's
own lists), `--version` the installed versions, every list has `--json` and its piped rows
are unchanged, and a short password is refused with one line and exit 2."""

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import jwtkit
from issuer.cli.main import main
from issuer.clients.registry import CONFIDENTIAL_METHODS, registrable_grants
from issuer.config import IssuerSettings
from issuer.wiring import add_demo_users, build_services, open_database
from jwtkit.__main__ import main as jwtkit_main
from jwtkit.testing import FakeClock
from tests.support import CHEAP_ARGON2, ROOT, issuer_settings

LONG_ENOUGH = "correct horse battery"


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert 0 == exited.value.code
    # argparse wraps lines to the terminal's width: read the help as one line.
    return " ".join(capsys.readouterr().out.split())


def test_serve_help_gives_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    """`serve --help` shows where it listens unless told, and how many workers."""
    shown = _help(capsys, "serve")
    assert "--host HOST the address to listen on (default: 127.0.0.1)" in shown
    assert "--port PORT the TCP port, 1 to 65535 (default: 8000)" in shown
    assert "--workers WORKERS worker processes, at least 1 (default: 1)" in shown


def test_clients_add_help_lists_the_registry_values(capsys: pytest.CaptureFixture[str]) -> None:
    """Every grant and client authentication method the registry accepts is listed, with the
    defaults; a value outside them is refused by argparse (exit 2) naming the option."""
    shown = _help(capsys, "clients", "add")
    grants = ", ".join(sorted(registrable_grants()))
    assert f"--grant G one of {grants}; repeatable (default: client_credentials" in shown
    methods = ", ".join(["none", *sorted(CONFIDENTIAL_METHODS)])
    assert f"--auth-method METHOD one of {methods} (default: client_secret_basic" in shown
    with pytest.raises(SystemExit) as exited:
        main(["clients", "add", "svc", "--grant", "implicit"])
    assert 2 == exited.value.code
    assert "argument --grant: invalid choice: 'implicit'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["users", "add"],
        ["users", "passwd"],
        ["users", "update"],
        ["clients", "add"],
        ["clients", "rotate-secret"],
        ["resources", "add"],
        ["sessions", "list"],
        ["sessions", "revoke"],
        ["keys", "rotate"],
        ["keys", "revoke"],
    ],
)
def test_every_option_says_what_it_does(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """No option or argument goes without a line of help, and options with a value to take
    by default say it (flags and options defaulting to nothing aside)."""
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    lines = capsys.readouterr().out.splitlines()
    for index, line in enumerate(lines):
        alone = re.fullmatch(r"  (-\S+|[a-z_]+)( [A-Z_]+)?", line)
        if alone and not (index + 1 < len(lines) and lines[index + 1].startswith(" " * 10)):
            pytest.fail(f"no help for {line.strip()!r} in {argv}")


def test_log_format_help_lists_its_values(capsys: pytest.CaptureFixture[str]) -> None:
    shown = _help(capsys)
    assert "one of auto, text, json" in shown and "(default: auto)" in shown


def test_versions(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m issuer --version` names the installed distribution and its jwtkit;
    `python -m jwtkit --version` the library's own."""
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert 0 == exited.value.code
    installed = metadata.version("jwt-issuer-kit")
    expected = f"jwt-issuer-kit {installed} (jwtkit {jwtkit.__version__})\n"
    assert expected == capsys.readouterr().out
    with pytest.raises(SystemExit):
        jwtkit_main(["--version"])
    assert f"jwtkit {jwtkit.__version__}\n" == capsys.readouterr().out


@pytest.mark.slow
def test_versions_as_commands() -> None:
    """The same through `python -m`, as a person types them."""
    for module, expected in (("issuer", "jwt-issuer-kit "), ("jwtkit", "jwtkit ")):
        done = subprocess.run(
            [sys.executable, "-m", module, "--version"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert done.stdout.startswith(expected), done


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> IssuerSettings:
    """The CLI's environment on a database the server made."""
    data = tmp_path / "data"
    monkeypatch.setenv("ISSUER_DATA_DIR", str(data))
    monkeypatch.setenv("ISSUER_SCOPES", "profile admin")
    for name, value in CHEAP_ARGON2.items():
        monkeypatch.setenv(f"ISSUER_{name.upper()}", str(value))
    settings = issuer_settings(data)
    open_database(settings)
    return settings


def _with_stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_piped_lists_are_the_rows_alone(
    cli_env: IssuerSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not at a terminal, the lists print what they always printed, byte for byte (new fields
    only after the old ones): one tab-separated line per row, no header; `--json` prints the
    same rows as JSON."""
    _with_stdin(monkeypatch, f"{LONG_ENOUGH}\n")
    assert 0 == main(["users", "add", "ann", "--password-stdin", "--scope", "admin", "--json"])
    ann = json.loads(capsys.readouterr().out)
    assert {"username": "ann", "scopes": ["admin"]} == {k: ann[k] for k in ("username", "scopes")}
    assert 0 == main(["users", "list"])
    # The user's claims (issue 22) come after the fields scripts already read.
    assert f"ann\t{ann['sub']}\tadmin\t-\t-\t-\n" == capsys.readouterr().out
    assert 0 == main(["users", "list", "--json"])
    assert [ann] == json.loads(capsys.readouterr().out)

    assert 0 == main(["resources", "add", "https://billing.internal/", "--json"])
    billing = {"uri": "https://billing.internal/", "audience": "https://billing.internal/"}
    assert {**billing, "scopes": []} == json.loads(capsys.readouterr().out)
    assert 0 == main(["resources", "list"])
    assert "https://billing.internal/\thttps://billing.internal/\t-\n" == capsys.readouterr().out
    assert 0 == main(["resources", "list", "--json"])
    assert [{**billing, "scopes": []}] == json.loads(capsys.readouterr().out)

    assert 0 == main(["clients", "add", "reports", "--scope", "profile"])
    capsys.readouterr()
    assert 0 == main(["clients", "list"])
    line = "reports\tconfidential\tclient_secret_basic\tclient_credentials\tprofile\t-\t-\n"
    assert line == capsys.readouterr().out
    assert 0 == main(["clients", "show", "reports"])
    assert line == capsys.readouterr().out


def test_rotate_secret_json(
    cli_env: IssuerSettings, capsys: pytest.CaptureFixture[str], clock: FakeClock
) -> None:
    """`clients rotate-secret --json` prints the client and the new secret, which then
    authenticates the client."""
    assert 0 == main(["clients", "add", "reports", "--scope", "profile"])
    capsys.readouterr()
    assert 0 == main(["clients", "rotate-secret", "reports", "--json"])
    rotated = json.loads(capsys.readouterr().out)
    assert "reports" == rotated["client_id"]
    store = build_services(cli_env, clock).clients
    assert store.secret_matches("reports", rotated["client_secret"])


@pytest.mark.parametrize(
    "argv",
    [["users", "add", "ann", "--password-stdin"], ["users", "passwd", "bob", "--password-stdin"]],
    ids=["add", "passwd"],
)
def test_a_short_password_is_refused_with_one_line(
    argv: list[str],
    cli_env: IssuerSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clock: FakeClock,
) -> None:
    """11 characters against the default 12: exit 2, one line naming the setting, nothing
    changed; ISSUER_MIN_PASSWORD_LENGTH=8 then lets them through."""
    users = build_services(cli_env, clock).users
    users.add("bob", LONG_ENOUGH, frozenset({"profile"}))
    capsys.readouterr()  # the services' own warnings
    _with_stdin(monkeypatch, "eleven-char\n")
    assert 2 == main(argv)
    error = capsys.readouterr().err
    expected = "error: the password has 11 characters and ISSUER_MIN_PASSWORD_LENGTH asks for "
    assert [f"{expected}at least 12"] == error.splitlines()
    assert ["bob"] == [user.username for user in users.list()]
    assert users.authenticate("bob", LONG_ENOUGH) is not None
    monkeypatch.setenv("ISSUER_MIN_PASSWORD_LENGTH", "8")
    _with_stdin(monkeypatch, "eleven-char\n")
    assert 0 == main(argv)
    assert users.authenticate(argv[2], "eleven-char") is not None


def test_adding_an_existing_user_asks_for_no_password(
    cli_env: IssuerSettings, capsys: pytest.CaptureFixture[str], clock: FakeClock
) -> None:
    """The user's existence is checked first: no prompt for a password that cannot be used."""
    build_services(cli_env, clock).users.add("bob", LONG_ENOUGH, frozenset({"profile"}))
    capsys.readouterr()  # the services' own warnings
    assert 1 == main(["users", "add", "bob"])  # no terminal, no --password-stdin: not read
    assert "error: user 'bob' already exists\n" == capsys.readouterr().err


def test_demo_users_keep_their_short_passwords(tmp_path: Path, clock: FakeClock) -> None:
    """ISSUER_DEMO_USERS is for demos (test:test): its passwords are not held to the minimum."""
    services = build_services(issuer_settings(tmp_path / "data", demo_users=["test:test"]), clock)
    add_demo_users(services)
    assert services.users.authenticate("test", "test") is not None


def test_top_level_options_come_before_an_identifier_command(
    cli_env: IssuerSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-v --log-format json keys revoke -kid --yes`: the kid starting with `-` is still a kid."""
    assert 1 == main(["-v", "--log-format", "json", "keys", "revoke", "-tEzwip5Yq", "--yes"])
    assert "no key -tEzwip5Yq" in capsys.readouterr().err
