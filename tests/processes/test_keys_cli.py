"""`python -m issuer keys list/rotate/revoke` against a running issuer's database, with two
issuer processes sharing it."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt
import pytest

from issuer.cli.main import main
from issuer.wiring import open_database
from tests.support import (
    CHEAP_ARGON2,
    ROOT,
    free_port,
    issuer_settings,
    serve,
    wait_until_ready,
)


def _env(data: Path) -> dict[str, str]:
    return {
        "ISSUER_DATA_DIR": str(data),
        "ISSUER_DEMO_USERS": "test:test",
        "ISSUER_PASSWORD_GRANT": "true",  # _signing_kid logs in with it
        "ISSUER_KEY_CHECK_INTERVAL": "0.5",
        **{f"ISSUER_{name.upper()}": str(value) for name, value in CHEAP_ARGON2.items()},
    }


def _keys(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return _cli(env, "keys", *args, stdin="")


pytestmark = [pytest.mark.usefixtures("database"), pytest.mark.slow]


def _cli(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "issuer", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        check=False,
    )


def _signing_kid(base: str) -> str:
    response = httpx.post(f"{base}/token", data={"username": "test", "password": "test"})
    return str(jwt.get_unverified_header(response.json()["access_token"])["kid"])


def _eventually(check: object, timeout: float = 15) -> None:
    """Waits (bounded) for the processes' own key timer to pick up a database change."""
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the issuer processes did not pick up the change"
        time.sleep(0.2)


def test_keys_cli_with_two_issuer_processes(tmp_path: Path) -> None:
    """rotate --now: both processes sign with the new key once every process has had a key
    check to publish it (the output says when), and publish both keys; revoke (refused
    without --yes off a terminal): the key leaves both JWKS; keys list --json shows the
    states."""
    env = _env(tmp_path / "data")
    ports = free_port(), free_port()
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    log = tmp_path / "issuers.log"
    with serve("issuer", ports[0], env, log), serve("issuer", ports[1], env, log):
        for base in bases:
            wait_until_ready(f"{base}/readyz")
        first = {_signing_kid(base) for base in bases}
        assert 1 == len(first)

        # A user added through the CLI logs in through either process, and a token from
        # either verifies against the other's JWKS.
        added = _cli(env, "users", "add", "bob", "--password-stdin", stdin="bob's password\n")
        assert 0 == added.returncode, added.stderr
        for signer, verifier in (bases, bases[::-1]):
            token = httpx.post(
                f"{signer}/token", data={"username": "bob", "password": "bob's password"}
            ).json()["access_token"]
            keys = jwt.PyJWKSet.from_json(httpx.get(f"{verifier}/.well-known/jwks.json").text)
            key = next(k for k in keys.keys if k.key_id == jwt.get_unverified_header(token)["kid"])
            claims = jwt.decode(token, key, algorithms=["RS256"], audience="resource-api")
            assert "bob" == claims["preferred_username"]

        rotated = _keys(env, "rotate", "--now")
        assert 0 == rotated.returncode, rotated.stderr
        assert "warning" in rotated.stderr
        # It signs once every process has had a key check to publish it (0.5 s + 5 s); the
        # old key signs until then, and the output says when.
        listing = json.loads(_keys(env, "list", "--json").stdout)
        new_kid = next(row["kid"] for row in listing if row["state"] == "next")
        assert f"{new_kid}; it signs from " in rotated.stdout and " s)" in rotated.stdout
        assert "keeps signing until then" in rotated.stdout
        _eventually(lambda: all(_signing_kid(base) == new_kid for base in bases))
        listing = json.loads(_keys(env, "list", "--json").stdout)
        assert new_kid == next(row["kid"] for row in listing if row["state"] == "active")
        assert {"active", "retired"} == {row["state"] for row in listing}
        assert {"RS256"} == {row["algorithm"] for row in listing}  # the key table says

        old_kid = first.pop()
        refused = _keys(env, "revoke", old_kid)
        assert 1 == refused.returncode and "not confirmed" in refused.stderr
        assert 0 == _keys(env, "revoke", old_kid, "--yes").returncode

        def unpublished() -> bool:
            return all(
                old_kid not in httpx.get(f"{base}/.well-known/jwks.json").text for base in bases
            )

        _eventually(unpublished)
        states = {
            row["kid"]: row["state"] for row in json.loads(_keys(env, "list", "--json").stdout)
        }
        assert {old_kid: "revoked", new_kid: "active"} == states
        assert 1 == _keys(env, "revoke", "no-such-kid", "--yes").returncode
    assert "Traceback" not in log.read_text()


@pytest.mark.parametrize(
    "argv",
    [
        ["keys", "revoke", "-tEzwip5Yq", "--yes"],
        ["keys", "revoke", "--yes", "-tEzwip5Yq"],
        ["keys", "revoke", "--yes", "--", "-tEzwip5Yq"],
    ],
)
def test_kid_starting_with_dash_is_a_kid(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An RFC 7638 thumbprint is base64url, so 1 kid in 64 starts with `-`: `keys revoke` takes
    it as the kid (here: no such key, exit 1), not as an unknown option (argparse's exit 2).
    Regression: CI failed about once in 64 runs."""
    monkeypatch.setenv("ISSUER_DATA_DIR", str(tmp_path / "data"))
    open_database(issuer_settings(tmp_path / "data"))  # the server's database
    assert 1 == main(argv)
    assert "no key -tEzwip5Yq" in capsys.readouterr().err


def test_username_starting_with_dash_is_a_username(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`users remove -bob` names the user -bob, which the username rule allows."""
    monkeypatch.setenv("ISSUER_DATA_DIR", str(tmp_path / "data"))
    open_database(issuer_settings(tmp_path / "data"))  # the server's database
    assert 1 == main(["users", "remove", "-bob"])
    assert "no user named '-bob'" in capsys.readouterr().err
