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
from benchmarks.signing import openssl_signs_per_second

GOAL = 0.7
ANCHORS = "published: Hydra 411-513 client_credentials grants/s on 2 CPUs, Keycloak 120-200/vCPU"


def register_service(data: Path) -> str:
    """Registers the confidential client `bench-service` through the CLI; its secret."""
    output = subprocess.run(
        [sys.executable, "-m", "issuer", "clients", "add", "bench-service", "--scope", "profile"],
        env={**os.environ, "ISSUER_DATA_DIR": str(data)},
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


def run(seconds: int = 10) -> tuple[str, float, float]:
    openssl = openssl_signs_per_second(5)
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        secret = register_service(data)
        authorization = "Basic " + base64.b64encode(f"bench-service:{secret}".encode()).decode()
        with servers.issuer(data, cpus="0") as (base, _pid):
            _tokens_per_second(f"{base}/token", authorization, 2)  # warm up
            tokens = _tokens_per_second(f"{base}/token", authorization, seconds)
    ratio = tokens / openssl
    line = (
        f"client_credentials: {tokens:,.0f} tokens/s (one issuer process, one core, "
        f"client_secret_basic) vs openssl speed rsa2048 {openssl:,.0f} signs/s -> "
        f"{ratio:.2f}x (goal >= {GOAL}x; {ANCHORS})"
    )
    return line, ratio, GOAL


if __name__ == "__main__":
    line, ratio, goal = run()
    print(("ok   " if ratio >= goal else "MISS ") + line)
