"""A service gets a token from a real issuer process with Authlib's OAuth 2 client (an
independent implementation of client_credentials and client_secret_basic), asking for an API
registered as a resource (RFC 8707), and calls that API, a real resource API process."""

from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.support import (
    authlib_oauth2_client,
    free_port,
    issuer_cli,
    issuer_process_env,
    serve,
    wait_until_ready,
)

pytestmark = pytest.mark.slow


def test_service_token_with_authlib_against_real_processes(tmp_path: Path) -> None:
    """clients add + resources add through the CLI; Authlib fetches a client_credentials token
    for the resource; the resource API accepts it (/whoami says service) and /users/me gives
    its documented 403; a token for another audience is refused with 401."""
    OAuth2Client = authlib_oauth2_client()  # noqa: N806 (a class)

    issuer_port, api_port = free_port(), free_port()
    issuer, api = f"http://127.0.0.1:{issuer_port}", f"http://127.0.0.1:{api_port}"
    env = issuer_process_env(issuer, tmp_path / "data")
    issuer_cli(env, "db", "upgrade")  # the CLI works on an existing database only
    added = issuer_cli(
        env, "clients", "add", "reports", "--scope", "profile", "--audience", "resource-api"
    )
    secret = added.split("store it now): ")[1].strip()
    issuer_cli(env, "resources", "add", f"{api}/", "--audience", "resource-api")
    other = issuer_cli(
        env, "clients", "add", "other", "--scope", "profile", "--audience", "other-api"
    )
    other_secret = other.split("store it now): ")[1].strip()
    log = tmp_path / "services.log"
    with serve("issuer", issuer_port, env, log):
        wait_until_ready(f"{issuer}/readyz")
        with serve("resource_api", api_port, {"RESOURCE_API_ISSUER_URL": issuer}, log):
            wait_until_ready(f"{api}/readyz")
            with OAuth2Client(
                "reports", secret, token_endpoint_auth_method="client_secret_basic"
            ) as oauth:
                token = oauth.fetch_token(
                    f"{issuer}/token", grant_type="client_credentials", resource=f"{api}/"
                )
                whoami = oauth.get(f"{api}/whoami")
                me = oauth.get(f"{api}/users/me")
            other_token = httpx.post(
                f"{issuer}/token",
                data={"grant_type": "client_credentials"},
                auth=("other", other_secret),
            ).json()["access_token"]
            wrong_audience = httpx.get(
                f"{api}/whoami", headers={"Authorization": f"Bearer {other_token}"}
            )
            echoed, protocol = _websocket_echo(api, token["access_token"])
            with pytest.raises(InvalidStatus) as refused:
                _websocket_echo(api, other_token)
    assert "Bearer" == token["token_type"] and "refresh_token" not in token
    assert (200, "service", "reports") == (
        whoami.status_code,
        whoami.json()["kind"],
        whoami.json()["client_id"],
    )
    assert 403 == me.status_code and "issued to a service" in me.json()["detail"]
    assert 401 == wrong_audience.status_code  # aud other-api: not this API's token
    assert 'error="invalid_token"' in wrong_audience.headers["www-authenticate"]
    # Through a real server (uvicorn): the token as a subprotocol, only "echo" answered; a
    # refused token closes the handshake, which uvicorn answers as HTTP 403.
    assert ("hello", "echo") == (echoed, protocol)
    assert 403 == refused.value.response.status_code
    assert "Traceback" not in log.read_text()


def _websocket_echo(api: str, token: str) -> tuple[str, str | None]:
    url = api.replace("http://", "ws://") + "/ws/echo"
    with connect(url, subprotocols=[Subprotocol("echo"), Subprotocol(f"bearer.{token}")]) as ws:
        ws.send("hello")
        return str(ws.recv(timeout=10)), ws.subprotocol
