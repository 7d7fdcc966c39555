"""Real service processes on free loopback ports, for benchmarks."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def process(
    args: list[str], env: Mapping[str, str], ready_url: str, cpus: str | None = None
) -> Iterator[int]:
    """Starts `python ARGS` (pinned to `cpus` with taskset when given), waits (at most 30 s)
    for `ready_url`, yields its pid, stops it afterwards."""
    pin = ["taskset", "-c", cpus] if cpus is not None else []
    proc = subprocess.Popen(
        [*pin, sys.executable, *args],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{args} did not become ready")
            time.sleep(0.1)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def issuer(data_dir: Path, cpus: str | None = None, **env: str) -> Iterator[tuple[str, int]]:
    """A real issuer process: its base URL and pid. `workers="2"` runs uvicorn workers."""
    workers = env.pop("workers", "1")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {
        "ISSUER_URL": base,
        "ISSUER_DATA_DIR": str(data_dir),
        "ISSUER_DEMO_USERS": "bench:bench-password",
        # The benchmarks log in with the password grant (bench_token, the login flood).
        "ISSUER_PASSWORD_GRANT": "true",
        "ISSUER_LOG_LEVEL": "WARNING",
        **env,
    }
    serve = ["-m", "issuer", "serve", "--port", str(port), "--workers", workers]
    with process(serve, settings, f"{base}/readyz", cpus) as pid:
        yield base, pid


def bench_token(issuer_url: str) -> str:
    """A password-grant token for the demo user every benchmark issuer has."""
    response = httpx.post(
        f"{issuer_url}/token", data={"username": "bench", "password": "bench-password"}
    )
    token: str = response.json()["access_token"]
    return token


@contextlib.contextmanager
def users_me_app(issuer_url: str) -> Iterator[str]:
    """The resource API with its /users/me twins (benchmarks/users_me_app.py) in one uvicorn
    process, trusting `issuer_url`; yields its base URL."""
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    command = [
        "-m", "uvicorn", "benchmarks.users_me_app:bench_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with process(command, {"RESOURCE_API_ISSUER_URL": issuer_url}, f"{api}/readyz"):
        yield api
