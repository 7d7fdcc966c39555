"""client_credentials tokens per second from one issuer process (pinned to one core), the
client authenticating with client_secret_basic, against `openssl speed rsa2048` signs per
second on one core, in one run. Goal (issue: service identities): >= 0.70x.

Each token costs the HTTP request, form parsing, client lookup and HMAC check (a database
read), the RS256 signature and the response; the signature is what openssl measures alone.
wrk drives the load from the other core, 32 connections.
"""

import base64
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import servers
from benchmarks.load import wrk
from benchmarks.signing import ALGORITHMS, openssl_signs_per_second

GOAL = 0.7
ANCHORS = "published: Hydra 411-513 client_credentials grants/s on 2 CPUs, Keycloak 120-200/vCPU"


def register_service(data: Path) -> str:
    """Registers the confidential client `bench-service` through the CLI, in a database made
    first (the CLI makes none but with `db upgrade`); its secret."""
    env = {**os.environ, "ISSUER_DATA_DIR": str(data)}
    upgrade = [sys.executable, "-m", "issuer", "db", "upgrade"]
    subprocess.run(upgrade, env=env, cwd=servers.ROOT, capture_output=True, check=True, timeout=60)
    output = subprocess.run(
        [sys.executable, "-m", "issuer", "clients", "add", "bench-service", "--scope", "profile"],
        env=env,
        cwd=servers.ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return output.split("store it now): ")[1].strip()


def _tokens_per_second(url: str, authorization: str, seconds: int) -> float:
    return wrk(
        url,
        seconds,
        headers={"Authorization": authorization},
        form_body="grant_type=client_credentials",
        cpus="1",  # the issuer has core 0
    )


def tokens_per_second(algorithm: str, seconds: int) -> float:
    """One issuer process signing with `algorithm`, pinned to core 0."""
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        secret = register_service(data)
        authorization = "Basic " + base64.b64encode(f"bench-service:{secret}".encode()).decode()
        with servers.issuer(data, cpus="0", ISSUER_SIGNING_ALG=algorithm) as (base, _pid):
            _tokens_per_second(f"{base}/token", authorization, 2)  # warm up
            return _tokens_per_second(f"{base}/token", authorization, seconds)


def run(seconds: int = 8) -> list[tuple[str, bool]]:
    openssl = openssl_signs_per_second(5)
    rates = {algorithm: tokens_per_second(algorithm, seconds) for algorithm in ALGORITHMS}
    ratio = rates["RS256"] / openssl
    lines = [
        (
            f"client_credentials RS256: {rates['RS256']:,.0f} tokens/s (one issuer process, one"
            f" core, client_secret_basic) vs openssl speed rsa2048 {openssl:,.0f} signs/s ->"
            f" {ratio:.2f}x (goal >= {GOAL}x; {ANCHORS})",
            ratio >= GOAL,
        )
    ]
    for algorithm in ALGORITHMS[1:]:
        lines.append(
            (
                f"client_credentials {algorithm}: {rates[algorithm]:,.0f} tokens/s ->"
                f" {rates[algorithm] / rates['RS256']:.2f}x RS256 (a figure, no goal)",
                True,
            )
        )
    return lines


if __name__ == "__main__":
    for line, ok in run():
        print(("ok   " if ok else "MISS ") + line)
