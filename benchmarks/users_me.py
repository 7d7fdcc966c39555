"""GET /users/me with a valid token against an identical endpoint with no authentication, in
one uvicorn process, loaded by wrk on loopback with 32 connections, in one run. The PyJWT
recipe (PyJWKClient + jwt.decode) runs beside them. Goal (issue 3): >= 0.90x of the twin."""

import shutil
import statistics
import tempfile
from pathlib import Path

from benchmarks import servers
from benchmarks.load import wrk

GOAL = 0.9
CONNECTIONS = 32
ROUNDS = 5
ENDPOINTS = {
    "ours": "/users/me",
    # The twin gets the same request, header included: only the auth work differs.
    "twin": "/bench/anonymous",
    "noop": "/bench/noop-security",
    "recipe": "/bench/pyjwt",
}


def _wrk(url: str, token: str, seconds: int) -> float:
    return wrk(url, seconds, connections=CONNECTIONS, headers={"Authorization": f"Bearer {token}"})


def run(seconds: int = 4) -> tuple[str, float, float]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as data, servers.issuer(Path(data)) as (issuer, _pid):
        token = servers.bench_token(issuer)
        with servers.users_me_app(issuer) as api:
            for path in ENDPOINTS.values():  # warm up: keys, caches, connections
                _wrk(f"{api}{path}", token, 1)
            # Interleaved rounds: a noisy moment hits every endpoint of a round alike.
            rounds = [
                {name: _wrk(f"{api}{path}", token, seconds) for name, path in ENDPOINTS.items()}
                for _ in range(ROUNDS)
            ]
    ours, twin, noop, recipe = (statistics.median(r[name] for r in rounds) for name in ENDPOINTS)
    ratio = statistics.median(r["ours"] / r["twin"] for r in rounds)
    line = (
        f"/users/me: {ours:,.0f} req/s vs unauthenticated twin {twin:,.0f} req/s -> {ratio:.2f}x "
        f"(goal >= {GOAL}x); PyJWT recipe {recipe:,.0f} req/s -> {recipe / twin:.2f}x; "
        f"a Security dependency that checks nothing {noop:,.0f} req/s -> {noop / twin:.2f}x "
        f"(wrk, {CONNECTIONS} connections, one uvicorn process, median of {ROUNDS} rounds)"
    )
    return line, ratio, GOAL
