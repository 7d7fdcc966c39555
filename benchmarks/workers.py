"""Multi-worker scaling on this machine's two cores: `serve --workers 2` against
`--workers 1`, for the resource API (GET /users/me with a cached token) and the issuer
(client_credentials), wrk on loopback with 32 connections, rounds interleaved. Goal (issue
14): >= 1.7x for each. wrk itself runs on the same two cores as the workers: its share of
them is part of what is measured, as on any one machine."""

import base64
import statistics
import tempfile
from pathlib import Path

from benchmarks import servers
from benchmarks.client_credentials import register_service
from benchmarks.load import wrk

GOAL = 1.7
ROUNDS = 3
SECONDS = 4


def _resource_api_rates(issuer: str, token: str, workers: int) -> list[float]:
    port = servers.free_port()
    api = f"http://127.0.0.1:{port}"
    command = ["-m", "resource_api", "serve", "--port", str(port), "--workers", str(workers)]
    env = {"RESOURCE_API_ISSUER_URL": issuer, "RESOURCE_API_LOG_LEVEL": "WARNING"}
    headers = {"Authorization": f"Bearer {token}"}
    with servers.process(command, env, f"{api}/readyz"):
        wrk(f"{api}/users/me", 1, headers=headers)  # warm up: every worker's cache
        return [wrk(f"{api}/users/me", SECONDS, headers=headers) for _ in range(ROUNDS)]


def _issuer_rates(data: Path, authorization: str, workers: int) -> list[float]:
    with servers.issuer(data, workers=str(workers)) as (base, _pid):
        load = {"headers": {"Authorization": authorization}}
        body = "grant_type=client_credentials"
        wrk(f"{base}/token", 1, form_body=body, **load)  # type: ignore[arg-type]
        return [
            wrk(f"{base}/token", SECONDS, form_body=body, **load)  # type: ignore[arg-type]
            for _ in range(ROUNDS)
        ]


def run() -> list[tuple[str, bool]]:
    lines = []
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        secret = register_service(data)
        authorization = "Basic " + base64.b64encode(f"bench-service:{secret}".encode()).decode()
        with servers.issuer(data) as (issuer, _pid):
            token = servers.bench_token(issuer)
            one, two = (_resource_api_rates(issuer, token, n) for n in (1, 2))
        ratio = statistics.median(two) / statistics.median(one)
        lines.append(
            (
                f"resource API --workers 2: {statistics.median(two):,.0f} req/s vs --workers 1"
                f" {statistics.median(one):,.0f} req/s -> {ratio:.2f}x (goal >= {GOAL}x;"
                f" cached-token /users/me, wrk 32 connections on the same 2 cores)",
                ratio >= GOAL,
            )
        )
        one, two = (_issuer_rates(data, authorization, n) for n in (1, 2))
    ratio = statistics.median(two) / statistics.median(one)
    lines.append(
        (
            f"issuer --workers 2: {statistics.median(two):,.0f} client_credentials tokens/s vs"
            f" --workers 1 {statistics.median(one):,.0f} -> {ratio:.2f}x (goal >= {GOAL}x;"
            " RS256, wrk 32 connections on the same 2 cores)",
            ratio >= GOAL,
        )
    )
    return lines


if __name__ == "__main__":
    for line, ok in run():
        print(("ok   " if ok else "MISS ") + line)
