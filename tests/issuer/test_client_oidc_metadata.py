"""Clients' OpenID Connect metadata from `clients add`: consent (third-party or first-party,
Core §3.1.2.4), post-logout redirect URIs (RP-Initiated Logout 1.0 §3), the back-channel
logout URI (Back-Channel Logout 1.0 §2.2), each checked as redirect URIs are."""

import json
from pathlib import Path

import pytest

from issuer.cli.main import main
from issuer.config import IssuerSettings
from issuer.wiring import open_database

pytestmark = pytest.mark.usefixtures("database")

CODE_FLOW = ["--public", "--grant", "authorization_code", "--redirect-uri", "https://app/cb"]


def _cli(monkeypatch: pytest.MonkeyPatch, data: Path, args: list[str]) -> int:
    monkeypatch.setenv("ISSUER_DATA_DIR", str(data))
    open_database(IssuerSettings())
    return main(args)


def test_clients_add_records_consent_and_logout_metadata(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--consent required, two --post-logout-redirect-uri (kept in order), an https
    back-channel URI with --backchannel-logout-session-required: shown by `clients show
    --json`; a client without them is first-party with none (the defaults)."""
    data = tmp_path / "data"
    args = ["clients", "add", "crm", *CODE_FLOW, "--consent", "required"]
    args += ["--post-logout-redirect-uri", "https://crm.example/bye"]
    args += ["--post-logout-redirect-uri", "http://localhost:3000/"]
    args += ["--backchannel-logout-uri", "https://crm.example/backchannel"]
    args += ["--backchannel-logout-session-required"]
    assert 0 == _cli(monkeypatch, data, args)
    capsys.readouterr()
    assert 0 == _cli(monkeypatch, data, ["clients", "show", "crm", "--json"])
    shown = json.loads(capsys.readouterr().out)
    assert {
        "consent": "required",
        "post_logout_redirect_uris": ["https://crm.example/bye", "http://localhost:3000/"],
        "backchannel_logout_uri": "https://crm.example/backchannel",
        "backchannel_logout_session_required": True,
    } == {key: shown[key] for key in shown if "logout" in key or key == "consent"}
    assert 0 == _cli(monkeypatch, data, ["clients", "add", "wiki", *CODE_FLOW, "--json"])
    shown = json.loads(capsys.readouterr().out)
    assert ("skip", [], None, False) == (
        shown["consent"],
        shown["post_logout_redirect_uris"],
        shown["backchannel_logout_uri"],
        shown["backchannel_logout_session_required"],
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--post-logout-redirect-uri", "http://app.example/bye"], "https, except on a loopback"),
        (["--post-logout-redirect-uri", "https://app.example/bye#x"], "without a fragment"),
        (["--backchannel-logout-uri", "http://app.example/bc"], "https, except on a loopback"),
        (["--backchannel-logout-uri", "https://app.example/bc#f"], "without a fragment"),
        (["--backchannel-logout-session-required"], "needs --backchannel-logout-uri"),
    ],
)
def test_logout_uris_are_checked_as_redirect_uris(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    """Refused with one line and exit 1, and nothing registered."""
    data = tmp_path / "data"
    assert 1 == _cli(monkeypatch, data, ["clients", "add", "crm", *CODE_FLOW, *extra])
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and 1 == err.count("\n")
    assert 0 == _cli(monkeypatch, data, ["clients", "list", "--json"])
    assert [] == json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    "extra",
    [
        ["--consent", "required"],
        ["--post-logout-redirect-uri", "https://svc.example/bye"],
        ["--backchannel-logout-uri", "https://svc.example/bc"],
    ],
)
def test_sign_in_metadata_is_for_code_flow_clients(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
) -> None:
    """A service (client_credentials) signs no user in: consent and logout URIs are refused."""
    assert 1 == _cli(monkeypatch, tmp_path / "data", ["clients", "add", "svc", *extra])
    assert "(--grant authorization_code)" in capsys.readouterr().err


def test_consent_takes_required_or_skip(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["clients", "add", "crm", *CODE_FLOW, "--consent", "maybe"])
    assert 2 == exited.value.code
    assert "argument --consent: invalid choice: 'maybe'" in capsys.readouterr().err
