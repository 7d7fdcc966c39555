"""Token signing alone (build claims, sign, serialize) against `openssl speed rsa2048` signs
per second, on the same machine in one run. Goal (issue 2): >= 0.8x."""

import re
import subprocess
import time

from cryptography.hazmat.primitives.asymmetric import rsa

from issuer.tokens import access_token_claims, sign_access_token
from issuer.users import User

GOAL = 0.8


def openssl_signs_per_second(seconds: int) -> float:
    output = subprocess.run(
        ["openssl", "speed", "-seconds", str(seconds), "rsa2048"],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds * 10 + 30,
    ).stdout
    match = re.search(r"^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"cannot read openssl speed output:\n{output}")
    return float(match.group(1))


def our_signs_per_second(seconds: float) -> float:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    user = User(
        id="7b0c3f0e-3b8a-4c1e-9a55-1f0e2f1d2c3b", username="bench", scopes=frozenset({"profile"})
    )
    count, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        claims = access_token_claims(
            subject=user.id,
            username=user.username,
            scopes=user.scopes,
            client_id="default",
            issuer="http://localhost:8000",
            audience="resource-api",
            ttl=900,
            now=time.time(),
        )
        sign_access_token(claims, "kid", key)
        count += 1
    return count / (time.perf_counter() - started)


def run(seconds: int = 5) -> tuple[str, float, float]:
    openssl = openssl_signs_per_second(seconds)
    ours = our_signs_per_second(seconds)
    ratio = ours / openssl
    line = (
        f"token signing: {ours:,.0f}/s vs openssl speed rsa2048 {openssl:,.0f} signs/s "
        f"(one core each) -> {ratio:.2f}x (goal >= {GOAL}x)"
    )
    return line, ratio, GOAL
