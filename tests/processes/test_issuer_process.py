"""The issuer as a real process: a token over HTTP, checked with PyJWT's own JWKS client
(a code path separate from ours), still valid after a restart on the same data dir."""

from pathlib import Path

import httpx
import jwt
import pytest

from tests.support import (
    free_port,
    issuer_process_env,
    serve,
    wait_until_ready,
)

pytestmark = pytest.mark.slow


def _verify_independently(token: str, base: str) -> dict[str, object]:
    signing_key = jwt.PyJWKClient(f"{base}/.well-known/jwks.json").get_signing_key_from_jwt(token)
    claims: dict[str, object] = jwt.decode(
        token, signing_key, algorithms=["RS256"], audience="resource-api", issuer=base
    )
    return claims


def test_token_survives_restart(tmp_path: Path) -> None:
    """Serve, get a token, verify it; restart on the same data dir; the old token verifies."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = issuer_process_env(
        base,
        tmp_path / "data",
        DEMO_USERS="test:test",
        KEY_PASSPHRASE="process-test-passphrase",
    )
    log = tmp_path / "issuer.log"
    with serve("issuer", port, env, log):
        wait_until_ready(f"{base}/readyz")
        response = httpx.post(f"{base}/token", data={"username": "test", "password": "test"})
        token = response.json()["access_token"]
        first = _verify_independently(token, base)
    with serve("issuer", port, env, log):
        wait_until_ready(f"{base}/readyz")
        assert first == _verify_independently(token, base)
        again = httpx.post(f"{base}/token", data={"username": "test", "password": "test"})
        assert (
            jwt.get_unverified_header(token)["kid"]
            == jwt.get_unverified_header(again.json()["access_token"])["kid"]
        )
    assert "test" == first["preferred_username"]
    assert "Traceback" not in log.read_text()
