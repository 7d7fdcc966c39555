"""`users add NAME` on a terminal prompts twice, without echo, through a real pseudo-terminal."""

import fcntl
import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from issuer.wiring import build_services
from jwtkit.testing import FakeClock
from tests.support import CHEAP_ARGON2, ROOT, issuer_settings

pytestmark = pytest.mark.slow


def _read_until(fd: int, marker: bytes, timeout: float = 20) -> bytes:
    """Reads the terminal until `marker` appears (bounded): the program's own pace."""
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        assert time.monotonic() < deadline, f"no {marker!r} in {seen!r}"
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                seen += os.read(fd, 1024)
            except OSError:
                break
    return seen


def _add_on_terminal(data: Path, first: str, second: str) -> tuple[int, bytes]:
    build_services(issuer_settings(data), FakeClock())  # the server's database
    controller, terminal = pty.openpty()

    def take_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = {
        **os.environ,
        "ISSUER_DATA_DIR": str(data),
        **{f"ISSUER_{name.upper()}": str(value) for name, value in CHEAP_ARGON2.items()},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "issuer", "users", "add", "ann"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        cwd=ROOT,
        env=env,
        preexec_fn=take_terminal,  # the child must own the pty, as getpass opens /dev/tty
    )
    os.close(terminal)
    screen = _read_until(controller, b"Password: ")
    os.write(controller, first.encode() + b"\n")
    screen += _read_until(controller, b"Repeat password: ")
    os.write(controller, second.encode() + b"\n")
    code = process.wait(timeout=60)
    try:
        while select.select([controller], [], [], 0.2)[0]:
            screen += os.read(controller, 1024)
    except OSError:
        pass
    os.close(controller)
    return code, screen


def test_prompts_twice_without_echo(tmp_path: Path) -> None:
    """The password is asked twice and never shown on the terminal."""
    code, screen = _add_on_terminal(tmp_path / "data", "s3cret-passphrase", "s3cret-passphrase")
    assert 0 == code, screen
    assert b"added ann" in screen
    assert b"s3cret-pass" not in screen


def test_mismatched_passwords_add_nobody(tmp_path: Path) -> None:
    """Two different answers: a clear error, no user."""
    code, screen = _add_on_terminal(tmp_path / "data", "one-password", "another-one")
    assert 1 == code
    assert b"do not match" in screen
    assert [] == build_services(issuer_settings(tmp_path / "data"), FakeClock()).users.list()
