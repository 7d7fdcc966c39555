"""What the HTTP limits cost (issue 19): one issuer process pinned to one core, served three
ways, each driven by wrk from the other core (32 connections):

- `serve` as it runs today: uvicorn's httptools protocol with our limits
  (service_runtime/http_protocol.py);
- uvicorn's httptools protocol alone (what `serve` ran before the limits);
- uvicorn's h11 protocol (the pure-Python parser that has a header limit of its own).

Requests: GET /healthz (the HTTP layer and little else) and a client_credentials token (a
database read, an RS256 signature). Goal: the limits cost at most 10% of /healthz against
httptools alone; h11's ratio is a figure, the reason `serve` does not use it.

Each figure is requests per CPU-second of the issuer process (its user and system time
from /proc, over wrk's run): on a machine shared with other work the throughput swings with
the neighbours' load, the CPU a request costs much less. The ways take turns, ROUNDS times,
and each figure is the best of its rounds.
"""

import base64
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks import servers
from benchmarks.client_credentials import register_service
from benchmarks.load import wrk

GOAL = 0.9
WAYS = ("serve", "httptools", "h11")
ROUNDS = 3


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _per_cpu_second(pid: int, url: str, seconds: int, **load: Any) -> float:
    """Requests per CPU-second of process `pid` while wrk drives `url` for `seconds`."""
    before = _cpu_seconds(pid)
    rate = wrk(url, seconds, cpus="1", **load)
    return rate * seconds / (_cpu_seconds(pid) - before)


@contextlib.contextmanager
def _issuer(data: Path, way: str) -> Iterator[tuple[str, int]]:
    port = servers.free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "ISSUER_URL": base,
        "ISSUER_DATA_DIR": str(data),
        "ISSUER_LOG_LEVEL": "WARNING",
    }
    if way == "serve":
        command = ["-m", "issuer", "serve", "--port", str(port)]
    else:  # uvicorn's own command line, with the options `serve` passes
        command = [
            "-m", "uvicorn", "issuer.app:app_from_env", "--factory", "--http", way,
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            "--no-server-header", "--no-proxy-headers", "--log-level", "warning",
        ]  # fmt: skip
    with servers.process(command, env, f"{base}/readyz", cpus="0") as pid:
        yield base, pid


def rates(seconds: int) -> dict[str, tuple[float, float]]:
    """Each way's best (/healthz, token) requests per CPU-second over ROUNDS turns."""
    found: dict[str, list[tuple[float, float]]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        secret = register_service(data)
        authorization = "Basic " + base64.b64encode(f"bench-service:{secret}".encode()).decode()
        for _ in range(ROUNDS):
            for way in WAYS:
                with _issuer(data, way) as (base, pid):
                    wrk(f"{base}/healthz", 1, cpus="1")  # warm up
                    health = _per_cpu_second(pid, f"{base}/healthz", seconds)
                    token = _per_cpu_second(
                        pid,
                        f"{base}/token",
                        seconds,
                        headers={"Authorization": authorization},
                        form_body="grant_type=client_credentials",
                    )
                    found[way].append((health, token))
    return {
        way: (max(health for health, _ in runs), max(token for _, token in runs))
        for way, runs in found.items()
    }


def run(seconds: int = 4) -> list[tuple[str, bool]]:
    found = rates(seconds)
    lines = []
    for way in WAYS:
        health, token = found[way]
        print(
            f"http protocols: {way}: /healthz {health:,.0f}, token {token:,.0f} "
            "per CPU-second of the issuer"
        )
    base_health, base_token = found["httptools"]
    for way in ("serve", "h11"):
        health, token = found[way]
        ratio = health / base_health
        goal = f"goal >= {GOAL}x" if way == "serve" else "a figure, no goal"
        lines.append(
            (
                f"http protocols: {way} vs httptools alone: /healthz {ratio:.2f}x, token "
                f"{token / base_token:.2f}x ({goal})",
                ratio >= GOAL if way == "serve" else True,
            )
        )
    return lines


if __name__ == "__main__":
    results = run()
    for line, met in results:
        print(("ok   " if met else "MISS ") + line)
    sys.exit(0 if all(met for _, met in results) else 1)
