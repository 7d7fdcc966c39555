"""Every shell block of the docs that is not marked `not run` runs as a reader pastes it, in
page order, in one bash per page, against real issuer and resource API processes; what it
prints is compared with the output block shown under it (tests/docs/blocks.py tells the
rules). The pages say ports 8000, 8001 and 8002; the test gives each a free port and says
them back as the page does."""

import contextlib
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.basics import ROOT
from tests.docs.blocks import SHELL_PAGES, Block, blocks, expected_output, printed
from tests.support import free_port, issuer_process_env, serve, wait_until_ready

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

_DONE = "__docs_block_done__"
DOC_PORTS = (8000, 8001, 8002)


class Shell:
    """One bash, fed a page's blocks one at a time, that prints to a terminal, as a reader's
    does: curl shows no progress meter, and the CLI writes as it does at a terminal."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self._terminal, terminal = pty.openpty()
        self._process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env={**env, "TERM": "dumb"},
            stdin=subprocess.PIPE,  # the blocks come on a pipe: bash is not interactive
            stdout=terminal,
            stderr=terminal,
            start_new_session=True,  # the blocks' background servers die with it
        )
        os.close(terminal)
        self._scripts = cwd / ".blocks"
        self._scripts.mkdir()
        self._count = 0

    def run(self, text: str, timeout: float = 90) -> tuple[str, int]:
        """The block's output (stdout and stderr together) and the status of its last command."""
        self._count += 1
        script = self._scripts / f"{self._count}.sh"
        script.write_text(text)
        assert self._process.stdin is not None
        # `source` with stdin from /dev/null: a command of the block never reads the script.
        self._process.stdin.write(
            f"source {script} </dev/null 2>&1\nprintf '\\n{_DONE} %s\\n' $?\n".encode()
        )
        self._process.stdin.flush()
        output = b""
        deadline = time.monotonic() + timeout
        pattern = re.compile(rf"\r?\n{_DONE} (\d+)\r?\n".encode())
        while (found := pattern.search(output)) is None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._terminal], [], [], left)[0]:
                raise TimeoutError(f"no end of block within {timeout} s; so far:\n{output!r}")
            chunk = os.read(self._terminal, 65536)
            if not chunk:
                raise RuntimeError(f"bash ended; it printed:\n{output.decode()}")
            output += chunk
        return output[: found.start()].decode(), int(found[1])

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        os.close(self._terminal)


class Ports:
    """The page's ports and the free ones the test uses instead."""

    def __init__(self) -> None:
        self.real = {doc: free_port() for doc in DOC_PORTS}

    def url(self, doc: int) -> str:
        return f"http://127.0.0.1:{self.real[doc]}"

    def into_command(self, text: str) -> str:
        for doc, real in self.real.items():
            text = re.sub(rf"\b(localhost|127\.0\.0\.1):{doc}\b", f"127.0.0.1:{real}", text)
            text = re.sub(rf"--port {doc}\b", f"--port {real}", text)
        return text

    def into_page(self, text: str) -> str:
        for doc, real in self.real.items():
            text = text.replace(f"127.0.0.1:{real}", f"localhost:{doc}")
            text = re.sub(rf"\b{real}\b", str(doc), text)
        return text


@contextlib.contextmanager
def services(ports: Ports, tmp_path: Path, env: dict[str, str]) -> Iterator[None]:
    """The issuer and the resource API as `make run` starts them, on the test's ports."""
    log = tmp_path / "services.log"
    issuer, api = ports.url(8000), ports.url(8001)
    with serve("issuer", ports.real[8000], env, log):
        wait_until_ready(f"{issuer}/readyz")
        with serve("resource_api", ports.real[8001], {"RESOURCE_API_ISSUER_URL": issuer}, log):
            wait_until_ready(f"{api}/readyz")
            yield


def reader_environment() -> dict[str, str]:
    """The reader's terminal: no setting of the developer's own."""
    prefixes = ("ISSUER_", "RESOURCE_API_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@dataclass(frozen=True)
class MakeRun:
    ports: Ports
    env: dict[str, str]  # the reader's, with the issuer's settings, as `make run`'s CLI sees them


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeRun]:
    """The issuer and the resource API as `make run` starts them, once for every page that
    expects them running, as they are for a reader who goes from page to page."""
    home = tmp_path_factory.mktemp("make-run")
    ports = Ports()
    settings = issuer_process_env(ports.url(8000), home / "data", DEMO_USERS="test:test")
    env = {**reader_environment(), **settings}
    with services(ports, home, env):
        yield MakeRun(ports, env)


def from_nothing() -> MakeRun:
    """Free ports and the reader's terminal, with only the cheap argon2 parameters, so that
    the page's logins are quick."""
    cheap = issuer_process_env("http://unused.test", Path("unused"))
    argon2 = {k: v for k, v in cheap.items() if k.startswith("ISSUER_ARGON2_")}
    return MakeRun(Ports(), {**reader_environment(), **argon2})


@pytest.mark.parametrize("page", sorted(SHELL_PAGES))
def test_the_page_s_shell_blocks_print_what_it_shows(
    page: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Each block runs to a zero status, or prints what its output block shows."""
    page_blocks = blocks(ROOT / page)
    terminal: MakeRun = (
        request.getfixturevalue("make_run") if SHELL_PAGES[page] == "services" else from_nothing()
    )
    ports, env = terminal.ports, terminal.env
    # The pages run from the clone's root: `.venv/bin/python` there is this interpreter's venv.
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    shell = Shell(tmp_path, env)
    try:
        for block, following in zip(page_blocks, [*page_blocks[1:], None], strict=True):
            if not (block.is_shell and block.runs):
                continue
            output, status = shell.run(ports.into_command(block.text))
            check(block, following, ports.into_page(output), status)
    finally:
        shell.close()


def check(block: Block, following: Block | None, output: str, status: int) -> None:
    if following is not None and following.is_output:
        shown = expected_output(following)
        assert shown.fullmatch(printed(output)), (
            f"{block.where} printed:\n{printed(output)}\n"
            f"but {following.where} shows:\n{following.text}"
        )
    else:
        assert 0 == status, f"{block.where} ended with status {status}:\n{output}"
