"""The README walkthrough against real issuer and resource API processes on loopback."""

from pathlib import Path

import httpx
import pytest

from tests.support import (
    free_port,
    issuer_process_env,
    serve,
    wait_until_ready,
)

pytestmark = pytest.mark.slow


def test_readme_walkthrough(tmp_path: Path) -> None:
    """Token from the issuer; /users/me names the user; a bad token gets its challenge;
    the resource API fetched keys over real HTTP."""
    issuer_port, api_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{issuer_port}"
    api = f"http://127.0.0.1:{api_port}"
    issuer_env = issuer_process_env(issuer, tmp_path / "data", DEMO_USERS="test:test")
    log = tmp_path / "services.log"
    with serve("issuer", issuer_port, issuer_env, log):
        wait_until_ready(f"{issuer}/readyz")
        with serve("resource_api", api_port, {"RESOURCE_API_ISSUER_URL": issuer}, log):
            wait_until_ready(f"{api}/readyz")
            token = httpx.post(
                f"{issuer}/token",
                content="username=test&password=test",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            ).json()["access_token"]
            me = httpx.get(f"{api}/users/me", headers={"Authorization": f"Bearer {token}"})
            bad = httpx.get(
                f"{api}/users/me", headers={"Authorization": f"Bearer {token[:-4]}AAAA"}
            )
            none = httpx.get(f"{api}/users/me")
    assert (200, "test", ["profile"]) == (
        me.status_code,
        me.json()["username"],
        me.json()["scopes"],
    )
    assert 401 == bad.status_code
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    assert (401, 'Bearer realm="resource-api"') == (
        none.status_code,
        none.headers["www-authenticate"],
    )
    assert "Traceback" not in log.read_text()
