"""`serve` of both services as real processes: a bad setting is one line on stderr and exit
status 2 before anything listens, never a traceback; `--env-file` reaches every worker, with
the environment winning; an unknown variable is a warning in the start-up log."""

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, free_port, issuer_process_env, wait_until_ready

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def _run(
    module: str, argv: Sequence[str], env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *argv],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _refused(module: str, env: Mapping[str, str], *options: str) -> list[str]:
    """The stderr lines of `serve` that exits 2 at once."""
    done = _run(module, [*options, "serve", "--port", str(free_port())], env)
    assert 2 == done.returncode, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr.splitlines()


@contextlib.contextmanager
def _serving(module: str, argv: Sequence[str], env: Mapping[str, str], log: Path) -> Iterator[None]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *argv],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_issuer_serve_refuses_bad_settings_in_one_line_each(tmp_path: Path) -> None:
    """Two bad values, two lines; nothing starts."""
    env = issuer_process_env("http://127.0.0.1:1", tmp_path / "data", ACCESS_TOKEN_TTL="5")
    env["ISSUER_KEY_SIZE"] = "1024"
    lines = _refused("issuer", env)
    assert 2 == len(lines)
    assert lines[0].startswith("error: ISSUER_ACCESS_TOKEN_TTL=5: ")
    assert lines[1] == "error: ISSUER_KEY_SIZE=1024: input should be 2048, 3072 or 4096"


def test_issuer_serve_names_an_unreachable_database(tmp_path: Path) -> None:
    """Without the check at start, uvicorn's lifespan failed with 163 lines."""
    port = free_port()
    url = f"postgresql+psycopg://issuer@127.0.0.1:{port}/issuer"
    env = issuer_process_env("http://127.0.0.1:1", tmp_path / "data", DATABASE_URL=url)
    (line,) = _refused("issuer", env)
    assert f"cannot connect to 127.0.0.1:{port} within ISSUER_DB_CONNECT_TIMEOUT=5 s" in line


def test_issuer_serve_names_a_data_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("")
    env = issuer_process_env("http://127.0.0.1:1", tmp_path / "data")
    expected = f"error: ISSUER_DATA_DIR={tmp_path / 'data'}: is a file; expected a directory"
    assert [f"{expected} for the database"] == _refused("issuer", env)


def test_resource_api_serve_names_the_entry_and_the_key(tmp_path: Path) -> None:
    """RESOURCE_API_ISSUERS said `Field required` and `Extra inputs are not permitted`."""
    issuers = json.dumps([{"issuer": "http://a.test", "aud": "x"}])
    lines = _refused("resource_api", {"RESOURCE_API_ISSUERS": issuers})
    assert 2 == len(lines)
    assert lines[0].startswith("error: RESOURCE_API_ISSUERS[0]: the key 'audience' is required")
    assert lines[1].startswith("error: RESOURCE_API_ISSUERS[0]: unknown key 'aud'")


@pytest.mark.parametrize("module", ["issuer", "resource_api"])
def test_serve_refuses_a_missing_env_file(module: str, tmp_path: Path) -> None:
    (line,) = _refused(module, {}, "--env-file", str(tmp_path / "nope.env"))
    assert line.startswith(f"error: --env-file={tmp_path / 'nope.env'}: no such file")


def test_issuer_workers_read_the_env_file_and_the_environment_wins(tmp_path: Path) -> None:
    """Two workers, each building its settings in the app factory: every answer carries the
    file's ISSUER_URL; ISSUER_AUDIENCE set in both is the environment's. A misspelt variable
    in the file is a warning in the log."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = issuer_process_env("unused", tmp_path / "data", AUDIENCE="from-environment")
    del env["ISSUER_URL"]
    env_file = tmp_path / "issuer.env"
    env_file.write_text(f"ISSUER_URL={base}\nISSUER_AUDIENCE=from-file\nISSUER_SCOPE=profile\n")
    log = tmp_path / "issuer.log"
    argv = ["--env-file", str(env_file), "serve", "--port", str(port), "--workers", "2"]
    with _serving("issuer", argv, env, log):
        wait_until_ready(f"{base}/readyz")
        issuers = {
            httpx.get(f"{base}/.well-known/openid-configuration").json()["issuer"]
            for _ in range(20)
        }
        assert {base} == issuers
        token = httpx.post(f"{base}/token", data={"grant_type": "client_credentials"})
    assert token.status_code in (400, 401)  # no client: the point is that it answered
    text = log.read_text()
    assert "ISSUER_SCOPE (in " in text
    assert "did you mean ISSUER_SCOPES?" in text


def test_resource_api_reads_its_env_file(tmp_path: Path) -> None:
    """RESOURCE_API_REALM from the file reaches the 401's challenge."""
    port = free_port()
    env_file = tmp_path / "api.env"
    env_file.write_text("RESOURCE_API_REALM=from-file\n")
    argv = ["--env-file", str(env_file), "serve", "--port", str(port)]
    with _serving("resource_api", argv, {}, tmp_path / "api.log"):
        base = f"http://127.0.0.1:{port}"
        wait_until_ready(f"{base}/healthz")
        response = httpx.get(f"{base}/users/me")
    assert 401 == response.status_code
    assert 'realm="from-file"' in response.headers["www-authenticate"]
