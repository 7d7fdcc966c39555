"""GET /users/me with a token the resource API has never seen on every request (no cache hit
possible), against the unauthenticated twin and the PyJWT recipe, in one uvicorn process
loaded by wrk on loopback with 32 connections, as the /users/me benchmark does.

Tokens are minted beforehand with the issuer's own signing key (read from its database, as
the issuer process reads it) and replayed by a wrk Lua script, one per request. A run that
would need more tokens than its pool holds is refused, and each line says how many of the
pool a run used. Goals (issue 14): >= 0.65x the twin and >= 1.8x the recipe.
"""

import multiprocessing
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from benchmarks import servers
from benchmarks.load import wrk
from issuer.config import IssuerSettings
from issuer.tokens.access_tokens import sign_access_token
from issuer.wiring import build_services

TWIN_GOAL = 0.65
RECIPE_GOAL = 1.8
CONNECTIONS = 32
ROUNDS = 3
SECONDS = 2
POOL_PER_RUN = 24_000  # above what one run at this length has needed here (checked each run)
ENDPOINTS = {"ours": "/users/me", "twin": "/bench/anonymous", "recipe": "/bench/pyjwt"}

_LUA = """
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local sent = 0
request = function()
  sent = sent + 1
  local token = tokens[sent] or tokens[1]
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. token})
end
"""


def _mint(job: tuple[bytes, str, str, dict[str, Any], int]) -> list[str]:
    pem, kid, algorithm, template, count = job
    key = serialization.load_pem_private_key(pem, password=None)
    return [
        sign_access_token({**template, "jti": uuid.uuid4().hex}, kid, key, algorithm)  # type: ignore[arg-type]
        for _ in range(count)
    ]


def mint_pool(data_dir: Path, issuer: str, template: dict[str, Any], count: int) -> list[str]:
    """`count` distinct tokens signed by the issuer's active key, on every CPU."""
    settings = IssuerSettings(url=issuer, data_dir=data_dir)
    services = build_services(settings, time.time)
    services.keyring.refresh()
    kid, key, algorithm = services.keyring.signer(time.time())
    services.engine.dispose()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    workers = multiprocessing.cpu_count()
    share = -(-count // workers)
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        chunks = pool.map(_mint, [(pem, kid, algorithm, template, share)] * workers)
    return [token for chunk in chunks for token in chunk][:count]


def _wrk(url: str, tokens: list[str], scratch: Path, seconds: int) -> tuple[float, int]:
    """Requests per second and requests sent, one fresh token each."""
    tokens_file = scratch / f"tokens-{uuid.uuid4().hex}.txt"
    tokens_file.write_text("\n".join(tokens) + "\n")
    script = scratch / "fresh.lua"
    script.write_text(_LUA)
    args = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script)]
    output = subprocess.run(
        [*args, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
        env={"TOKENS_FILE": str(tokens_file), "PATH": "/usr/bin:/bin"},
    ).stdout
    tokens_file.unlink()
    if "Non-2xx" in output:
        raise RuntimeError(f"{url} answered errors under load:\n{output}")
    rate = float(output.split("Requests/sec:")[1].split()[0])
    sent = int(output.split(" requests in ")[0].split()[-1])
    if sent > len(tokens):
        raise RuntimeError(f"the token pool ran out: {sent} requests, {len(tokens)} tokens")
    return rate, sent


def run(seconds: int = SECONDS) -> list[tuple[str, bool]]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as data, servers.issuer(Path(data)) as (issuer, _pid):
        sample = servers.bench_token(issuer)
        template = jwt.decode(sample, options={"verify_signature": False})
        template["exp"] = int(time.time()) + 3600
        runs = ROUNDS * 2 + 2  # ours and the recipe each round, plus their warm-ups
        pool = mint_pool(Path(data), issuer, template, runs * POOL_PER_RUN)
        chunks = iter(pool[i : i + POOL_PER_RUN] for i in range(0, len(pool), POOL_PER_RUN))
        with (
            servers.users_me_app(issuer) as api,
            tempfile.TemporaryDirectory() as scratch,
        ):
            for name in ("ours", "recipe"):  # warm up: keys, connections
                _wrk(f"{api}{ENDPOINTS[name]}", next(chunks), Path(scratch), 1)
            rounds: list[dict[str, tuple[float, int]]] = []
            for _ in range(ROUNDS):
                # The twin checks nothing: one token, with the same header, for all of it.
                twin_rate = wrk(
                    f"{api}{ENDPOINTS['twin']}",
                    seconds,
                    connections=CONNECTIONS,
                    headers={"Authorization": f"Bearer {sample}"},
                )
                fresh = {
                    name: _wrk(f"{api}{ENDPOINTS[name]}", next(chunks), Path(scratch), seconds)
                    for name in ("ours", "recipe")
                }
                rounds.append({**fresh, "twin": (twin_rate, 0)})
    rate = {name: statistics.median(r[name][0] for r in rounds) for name in ENDPOINTS}
    to_twin = statistics.median(r["ours"][0] / r["twin"][0] for r in rounds)
    to_recipe = statistics.median(r["ours"][0] / r["recipe"][0] for r in rounds)
    used = max(r["ours"][1] for r in rounds)
    setup = (
        f"(a never-seen token per request, at most {used:,} of {POOL_PER_RUN:,} pooled tokens"
        f" used per run; wrk, {CONNECTIONS} connections, one uvicorn process, median of"
        f" {ROUNDS} rounds)"
    )
    return [
        (
            f"fresh-token /users/me: {rate['ours']:,.0f} req/s vs unauthenticated twin"
            f" {rate['twin']:,.0f} req/s -> {to_twin:.2f}x (goal >= {TWIN_GOAL}x) {setup}",
            to_twin >= TWIN_GOAL,
        ),
        (
            f"fresh-token /users/me vs the PyJWT recipe {rate['recipe']:,.0f} req/s ->"
            f" {to_recipe:.2f}x (goal >= {RECIPE_GOAL}x)",
            to_recipe >= RECIPE_GOAL,
        ),
    ]


if __name__ == "__main__":
    for line, ok in run():
        print(("ok   " if ok else "MISS ") + line)
