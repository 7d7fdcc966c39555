"""Across containers: the compose stack as users run it. `make e2e`; needs Docker.

The stack runs under a unique project name on free loopback ports and is always torn down
with `down -v`. Tests reach it only through the ports published on 127.0.0.1.
"""

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support import ROOT, free_port

# The first test also builds the image and starts the stack (the module's fixture).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    issuer: str
    api: str

    def compose(self, *args: str, timeout: float = 600) -> None:
        subprocess.run(
            ["docker", "compose", "-p", self.project, *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def token(self) -> str:
        response = httpx.post(
            f"{self.issuer}/token",
            content="username=test&password=test",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=10,
        )
        assert 200 == response.status_code, response.text
        return str(response.json()["access_token"])

    def me(self, token: str) -> httpx.Response:
        return httpx.get(
            f"{self.api}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )


def eventually(check: Callable[[], bool], timeout: float = 90) -> None:
    """Polls (bounded) for containers to come back; real processes take real time."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the stack did not reach the expected state"
        time.sleep(1)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    issuer_port, api_port = free_port(), free_port()
    env = {
        **os.environ,
        "ISSUER_PORT": str(issuer_port),
        "RESOURCE_API_PORT": str(api_port),
    }
    running = Stack(
        project=f"jwtkit-e2e-{uuid.uuid4().hex[:8]}",
        env=env,
        issuer=f"http://127.0.0.1:{issuer_port}",
        api=f"http://127.0.0.1:{api_port}",
    )
    try:
        running.compose("up", "--build", "-d", "--wait")
        yield running
    finally:
        running.compose("logs", "--no-color", "--tail", "40", timeout=60)
        running.compose("down", "-v", "--rmi", "local", "--remove-orphans", timeout=120)


def test_seed_curl_flow(stack: Stack) -> None:
    """Token from the issuer; /users/me names the user; 401s carry their challenges."""
    token = stack.token()
    me = stack.me(token)
    assert (200, "test") == (me.status_code, me.json()["username"])
    anonymous = httpx.get(f"{stack.api}/users/me", timeout=10)
    assert (401, 'Bearer realm="resource-api"') == (
        anonymous.status_code,
        anonymous.headers["www-authenticate"],
    )
    forged = stack.me(token[:-6] + "AAAAAA")
    assert 401 == forged.status_code
    assert 'error="invalid_token"' in forged.headers["www-authenticate"]


def test_issuer_stopped_then_started(stack: Stack) -> None:
    """Issued tokens pass while the issuer is stopped; after start, new tokens work."""
    token = stack.token()
    stack.compose("stop", "issuer")
    assert 200 == stack.me(token).status_code
    stack.compose("start", "issuer")
    eventually(lambda: httpx.get(f"{stack.issuer}/readyz", timeout=5).status_code == 200)
    assert 200 == stack.me(stack.token()).status_code


def test_issuer_restarted(stack: Stack) -> None:
    """Tokens issued before a restart still pass; new ones too."""
    token = stack.token()
    stack.compose("restart", "issuer")
    eventually(lambda: httpx.get(f"{stack.issuer}/readyz", timeout=5).status_code == 200)
    assert 200 == stack.me(token).status_code
    assert 200 == stack.me(stack.token()).status_code


def test_down_and_up_keeps_keys(stack: Stack) -> None:
    """`down` with the volume kept, then `up`: earlier tokens pass (the key persisted)."""
    token = stack.token()
    stack.compose("down")
    stack.compose("up", "-d", "--wait")
    assert 200 == stack.me(token).status_code


def test_resource_api_cold_start_while_issuer_down(stack: Stack) -> None:
    """Resource API restarted with the issuer stopped: 503 with Retry-After until the issuer
    is back, then 200, without restarting anything."""
    token = stack.token()
    stack.compose("stop", "issuer")
    stack.compose("restart", "resource-api")
    eventually(lambda: stack.me(token).status_code == 503)
    assert "retry-after" in stack.me(token).headers
    stack.compose("start", "issuer")
    eventually(lambda: stack.me(token).status_code == 200)


def test_docs_client_is_registered_for_the_code_flow(stack: Stack) -> None:
    """Compose registers `resource-api-docs` at start: the issuer shows its login page for it
    (PKCE S256, the docs' redirect page), and Swagger UI's files come from the API itself."""
    port = stack.api.rsplit(":", 1)[1]
    params = {
        "response_type": "code",
        "client_id": "resource-api-docs",
        "redirect_uri": f"http://localhost:{port}/docs/oauth2-redirect",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "state": "e2e",
    }
    page = httpx.get(f"{stack.issuer}/authorize", params=params, timeout=10)
    assert 200 == page.status_code, page.text
    assert 'name="password"' in page.text
    assert 200 == httpx.get(f"{stack.api}/docs/assets/swagger-ui-bundle.js", timeout=10).status_code
