"""Password-grant tokens per second through a real issuer process, against the raw argon2
verify rate with the same parameters, in one run. Goal (issue 2): >= 0.9x, i.e. everything
but hashing costs under 10 %.

Both sides run the same number of verifications at once (CONCURRENCY), so each keeps the
cores equally busy; the token side also pays HTTP, the database lookup and the signature."""

import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from argon2 import PasswordHasher

from benchmarks import servers
from issuer.accounts.passwords import password_hasher
from issuer.config import IssuerSettings

GOAL = 0.9
CONCURRENCY = 4


def _in_threads(work: Callable[[], object], seconds: float) -> float:
    count = 0
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def loop() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            work()
            with lock:
                count += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=loop) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return count / (time.perf_counter() - started)


def raw_verify_rate(hasher: PasswordHasher, seconds: float) -> float:
    stored = hasher.hash("bench-password")
    return _in_threads(lambda: hasher.verify(stored, "bench-password"), seconds)


def token_rate(base: str, seconds: float) -> float:
    clients = threading.local()

    def request() -> None:
        if not hasattr(clients, "http"):
            clients.http = httpx.Client(base_url=base, timeout=30)
        response = clients.http.post(
            "/token", data={"username": "bench", "password": "bench-password"}
        )
        assert response.status_code == 200, response.text

    return _in_threads(request, seconds)


def run(seconds: float = 10) -> tuple[str, float, float]:
    hasher = password_hasher(IssuerSettings())  # the defaults the issuer runs with
    raw = raw_verify_rate(hasher, seconds)
    with tempfile.TemporaryDirectory() as data, servers.issuer(Path(data)) as (base, _pid):
        token_rate(base, 1)  # warm up: connections, first key load
        tokens = token_rate(base, seconds)
    ratio = tokens / raw
    params = f"argon2id t={hasher.time_cost} m={hasher.memory_cost} KiB p={hasher.parallelism}"
    line = (
        f"password grant: {tokens:,.1f} tokens/s vs raw argon2 verify {raw:,.1f}/s "
        f"({params}, {CONCURRENCY} at once) -> {ratio:.2f}x (goal >= {GOAL}x)"
    )
    return line, ratio, GOAL
