"""Authlib's OAuth 2 client (an independent implementation) logs in with the password grant
against a real issuer process, then refreshes on its own when its access token has expired,
while calling a real resource API process; the issuer rotated the refresh token."""

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import (
    authlib_oauth2_client,
    free_port,
    issuer_process_env,
    serve,
    wait_until_ready,
)

pytestmark = pytest.mark.slow


def test_authlib_refreshes_automatically_against_real_processes(tmp_path: Path) -> None:
    """Password grant, an API call, the token marked expired, another API call: Authlib
    refreshed first (update_token saw a new refresh token), and the old one is now refused."""
    OAuth2Client = authlib_oauth2_client()  # noqa: N806 (a class)

    issuer_port, api_port = free_port(), free_port()
    issuer, api = f"http://127.0.0.1:{issuer_port}", f"http://127.0.0.1:{api_port}"
    env = issuer_process_env(issuer, tmp_path / "data", DEMO_USERS="test:test")
    updates: list[dict[str, Any]] = []
    log = tmp_path / "services.log"
    with serve("issuer", issuer_port, env, log):
        wait_until_ready(f"{issuer}/readyz")
        with serve("resource_api", api_port, {"RESOURCE_API_ISSUER_URL": issuer}, log):
            wait_until_ready(f"{api}/readyz")
            with OAuth2Client(
                "default",
                token_endpoint=f"{issuer}/token",
                token_endpoint_auth_method="none",
                update_token=lambda token, **_: updates.append(token),
            ) as oauth:
                first = oauth.fetch_token(f"{issuer}/token", username="test", password="test")
                assert 200 == oauth.get(f"{api}/users/me").status_code
                oauth.token["expires_at"] = int(time.time()) - 10
                me = oauth.get(f"{api}/users/me")
            replay = httpx.post(
                f"{issuer}/token",
                data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            )
    assert (200, "test") == (me.status_code, me.json()["username"])
    assert 1 == len(updates)
    assert updates[0]["refresh_token"] != first["refresh_token"]
    assert 400 == replay.status_code
    assert "Traceback" not in log.read_text()
