"""Token signing alone (build claims, sign, serialize), per algorithm, against `openssl speed`
of the same algorithm (signs per second, one core each), on the same machine in one run.
Goal (issues 2 and 14): >= 0.8x for each. openssl has no PS256 figure: PSS and PKCS#1 v1.5
signing cost the same RSA private-key operation, so PS256 is set against rsa2048."""

import re
import subprocess
import time

from issuer.tokens.access_tokens import access_token_claims, sign_access_token
from jwtkit.contract import generate_private_key

GOAL = 0.8
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
# openssl speed's name for each, and the line its signs/s are read from.
OPENSSL = {
    "RS256": ("rsa2048", r"^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)"),
    "PS256": ("rsa2048", r"^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)"),
    "ES256": ("ecdsap256", r"ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)"),
    "EdDSA": ("ed25519", r"EdDSA \(Ed25519\)\s+\S+\s+\S+\s+([\d.]+)"),
}


def openssl_signs_per_second(seconds: int, algorithm: str = "RS256") -> float:
    name, pattern = OPENSSL[algorithm]
    output = subprocess.run(
        ["openssl", "speed", "-seconds", str(seconds), name],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds * 10 + 30,
    ).stdout
    match = re.search(pattern, output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"cannot read openssl speed output:\n{output}")
    return float(match.group(1))


def our_signs_per_second(seconds: float, algorithm: str = "RS256") -> float:
    key = generate_private_key(algorithm)
    count, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        claims = access_token_claims(
            subject="7b0c3f0e-3b8a-4c1e-9a55-1f0e2f1d2c3b",
            username="bench",
            scopes=frozenset({"profile"}),
            client_id="default",
            issuer="http://localhost:8000",
            audience="resource-api",
            ttl=900,
            now=time.time(),
        )
        sign_access_token(claims, "kid", key, algorithm)
        count += 1
    return count / (time.perf_counter() - started)


def run(seconds: int = 3) -> list[tuple[str, bool]]:
    lines = []
    for algorithm in ALGORITHMS:
        # Side by side: openssl, then ours, per algorithm.
        openssl = openssl_signs_per_second(seconds, algorithm)
        ours = our_signs_per_second(seconds, algorithm)
        ratio = ours / openssl
        name = OPENSSL[algorithm][0]
        lines.append(
            (
                f"token signing {algorithm}: {ours:,.0f}/s vs openssl speed {name}"
                f" {openssl:,.0f} signs/s (one core each) -> {ratio:.2f}x (goal >= {GOAL}x)",
                ratio >= GOAL,
            )
        )
    return lines


if __name__ == "__main__":
    for line, ok in run():
        print(("ok   " if ok else "MISS ") + line)
