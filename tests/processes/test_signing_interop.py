"""Tokens of every signing algorithm, from a real issuer process, verified by independent
implementations fetching its JWKS over HTTP: PyJWT's PyJWKClient, and panva's `jose` for
Node (when `node` is installed, as on CI: `npm install jose` into a temporary folder)."""

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from jwtkit.contract import ALGORITHMS
from tests.support import (
    free_port,
    issuer_process_env,
    serve,
    wait_until_ready,
)

pytestmark = pytest.mark.slow

JOSE_VERIFY = """
import { createRemoteJWKSet, jwtVerify } from "jose";
const [jwksUrl, issuer, token] = process.argv.slice(2);
const keys = createRemoteJWKSet(new URL(jwksUrl));
const { payload, protectedHeader } = await jwtVerify(token, keys, {
  issuer, audience: "resource-api", typ: "at+jwt",
});
console.log(JSON.stringify({ alg: protectedHeader.alg, user: payload.preferred_username }));
"""


@pytest.fixture(scope="module")
def jose(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    """A folder with `jose` installed and the verifying script; None without node."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        yield None
        return
    folder = tmp_path_factory.mktemp("jose")
    (folder / "package.json").write_text('{"type": "module", "private": true}')
    subprocess.run(
        ["npm", "install", "--silent", "--no-audit", "--no-fund", "jose@5"],
        cwd=folder,
        check=True,
        timeout=180,
        capture_output=True,
    )
    (folder / "verify.mjs").write_text(JOSE_VERIFY)
    yield folder


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_independent_libraries_verify_every_algorithm(
    tmp_path: Path, algorithm: str, jose: Path | None
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = issuer_process_env(
        base, tmp_path / "data", SIGNING_ALG=algorithm, DEMO_USERS="alice:alice-pw"
    )
    with serve("issuer", port, env, tmp_path / "issuer.log"):
        wait_until_ready(f"{base}/readyz")
        token = httpx.post(
            f"{base}/token", data={"username": "alice", "password": "alice-pw"}
        ).json()["access_token"]
        jwks_url = f"{base}/.well-known/jwks.json"
        key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key, algorithms=[algorithm], audience="resource-api")
        assert "alice" == claims["preferred_username"]
        if jose is None:
            return  # no node here: PyJWT alone
        verified = subprocess.run(
            ["node", "verify.mjs", jwks_url, base, token],
            cwd=jose,
            check=True,
            timeout=60,
            capture_output=True,
            text=True,
        )
    assert {"alg": algorithm, "user": "alice"} == json.loads(verified.stdout)
