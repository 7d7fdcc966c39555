"""At a terminal, through a real pseudo-terminal: lists have a header row and aligned columns,
and warnings are plain lines; JSON log lines when asked for (or, tests/issuer, in a pipe)."""

import json
import os
import pty
import select
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from issuer.wiring import build_services
from jwtkit.testing import FakeClock
from tests.support import CHEAP_ARGON2, ROOT, issuer_settings

pytestmark = pytest.mark.slow

UNENCRYPTED = "ISSUER_KEY_PASSPHRASE is not set"


def _on_terminal(env: Mapping[str, str], *argv: str) -> tuple[int, str]:
    """`python -m issuer ARGV` with stdout and stderr on one pseudo-terminal; the exit status
    and what the terminal showed."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "issuer", *argv],
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        cwd=ROOT,
        env={**os.environ, **env},
    )
    os.close(terminal)
    screen = b""
    while True:  # until the program closes the terminal by exiting (bounded by its timeout)
        ready, _, _ = select.select([controller], [], [], 30)
        assert ready, f"no output for 30 s: {screen!r}"
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # Linux: EIO once the last writer is gone
            break
        if not chunk:
            break
        screen += chunk
    os.close(controller)
    return process.wait(timeout=60), screen.decode().replace("\r\n", "\n")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A database the server made, with two users, and the CLI's environment for it."""
    data = tmp_path / "data"
    services = build_services(issuer_settings(data), FakeClock())
    services.users.add("ann", "correct horse battery", frozenset({"profile"}))
    services.users.add("bartholomew", "correct horse battery", frozenset({"profile", "admin"}))
    return {
        "ISSUER_DATA_DIR": str(data),
        "ISSUER_SCOPES": "profile admin",
        **{f"ISSUER_{name.upper()}": str(value) for name, value in CHEAP_ARGON2.items()},
    }


def test_a_list_at_a_terminal_has_a_header_and_columns(env: dict[str, str]) -> None:
    """`users list` on a terminal: USERNAME SUB SCOPES (then the claims, issue 22) over
    aligned rows, no tabs."""
    code, screen = _on_terminal(env, "users", "list")
    assert 0 == code, screen
    lines = screen.splitlines()
    assert ["USERNAME", "SUB", "SCOPES", "EMAIL", "VERIFIED", "NAME"] == lines[0].split()
    assert ["ann", "bartholomew"] == [line.split()[0] for line in lines[1:]]
    assert "\t" not in screen
    sub_column = lines[0].index("SUB")
    assert all(line[sub_column - 2 : sub_column] == "  " for line in lines[1:])
    assert all(line[sub_column] != " " for line in lines[1:])


def test_json_at_a_terminal_is_json(env: dict[str, str]) -> None:
    """`--json` prints JSON wherever it goes: no header row."""
    code, screen = _on_terminal(env, "users", "list", "--json")
    assert 0 == code, screen
    assert ["ann", "bartholomew"] == [row["username"] for row in json.loads(screen)]


def test_warnings_at_a_terminal_are_plain_text(env: dict[str, str]) -> None:
    """The keys commands' warning (keys stored unencrypted) is one `warning: …` line at a
    terminal, and the key table has its header."""
    code, screen = _on_terminal(env, "keys", "list")
    assert 0 == code, screen
    warnings = [line for line in screen.splitlines() if UNENCRYPTED in line]
    assert 1 == len(warnings) and warnings[0].startswith(f"warning: {UNENCRYPTED}"), screen
    assert "{" not in screen
    assert any(line.split()[:2] == ["KID", "STATE"] for line in screen.splitlines()), screen


def test_log_format_json_at_a_terminal_is_json(env: dict[str, str]) -> None:
    """`--log-format json`: JSON log lines at a terminal too (for a log collector)."""
    code, screen = _on_terminal(env, "--log-format", "json", "keys", "list")
    assert 0 == code, screen
    (line,) = [line for line in screen.splitlines() if UNENCRYPTED in line]
    assert {"level": "warning", "logger": "issuer"}.items() <= json.loads(line).items()


def test_a_pipe_gets_json_log_lines(env: dict[str, str]) -> None:
    """Not a terminal: JSON log lines on stderr, as before, and rows without a header."""
    done = subprocess.run(
        [sys.executable, "-m", "issuer", "keys", "list"],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (line,) = [line for line in done.stderr.splitlines() if UNENCRYPTED in line]
    assert "warning" == json.loads(line)["level"]
    assert "KID" not in done.stdout
