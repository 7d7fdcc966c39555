"""The token pipeline (issuer/grants/issuance.py): one reading of the clock per token request,
whatever the grant; one registry of grant types; the grants are domain code."""

import ast
import base64
from collections.abc import Awaitable
from pathlib import Path

import httpx
import pytest

from issuer.grants.registry import GRANT_TYPES
from issuer.services import IssuerServices
from jwtkit.testing import FakeClock
from tests.issuer.sign_in import code_flow_issuer, exchange, params, returned, sign_in

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

GRANTS_PACKAGE = Path(__file__).resolve().parents[2] / "issuer" / "grants"


class CountingClock(FakeClock):
    """A fake clock that counts how often it is read."""

    reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return super().__call__()


async def _reads(clock: CountingClock, request: Awaitable[httpx.Response]) -> int:
    """How often the clock was read while `request` ran (the coroutine starts when awaited)."""
    clock.reads = 0
    response = await request
    assert 200 == response.status_code, response.text
    return clock.reads


def _service(services: IssuerServices) -> str:
    """A confidential client for client_credentials; its Basic credentials."""
    _client, secret = services.clients.add(
        "svc",
        public=False,
        grants=frozenset({"client_credentials"}),
        scopes=frozenset({"profile"}),
        audiences=(),
        auth_method="client_secret_basic",
    )
    return "Basic " + base64.b64encode(f"svc:{secret}".encode()).decode()


async def test_the_clock_is_read_once_per_token_request_for_every_grant(tmp_path: Path) -> None:
    """Client authentication, the grant, signing and recording share one `now`: a token
    request of each grant reads the clock exactly once."""
    clock = CountingClock()
    async with code_flow_issuer(tmp_path, clock, password_grant=True) as (client, services):
        basic = _service(services)
        code = returned(await sign_in(client, params()))["code"]
        counts = {
            "authorization_code": await _reads(clock, exchange(client, code)),
            "password": await _reads(
                clock, client.post("/token", data={"username": "alice", "password": "alice-pw"})
            ),
            "client_credentials": await _reads(
                clock,
                client.post(
                    "/token",
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": basic},
                ),
            ),
        }
        login = await client.post("/token", data={"username": "alice", "password": "alice-pw"})
        refresh = {"grant_type": "refresh_token", "refresh_token": login.json()["refresh_token"]}
        counts["refresh_token"] = await _reads(clock, client.post("/token", data=refresh))
    assert dict.fromkeys(GRANT_TYPES, 1) == counts


async def test_one_registry_lists_the_grant_types(tmp_path: Path, clock: FakeClock) -> None:
    """Discovery's grant_types_supported, the /token form's grant_type and the grants a
    client may be registered for are the registry's (all four with the password grant on)."""
    async with code_flow_issuer(tmp_path, clock, password_grant=True) as (client, services):
        metadata = (await client.get("/.well-known/oauth-authorization-server")).json()
        openapi = (await client.get("/openapi.json")).json()
        with pytest.raises(ValueError, match="grants must be among") as refused:
            services.clients.add(
                "odd",
                public=False,
                grants=frozenset({"implicit"}),
                scopes=frozenset(),
                audiences=(),
                auth_method="client_secret_basic",
            )
    form = openapi["paths"]["/token"]["post"]["requestBody"]["content"]
    enum = form["application/x-www-form-urlencoded"]["schema"]["properties"]["grant_type"]["enum"]
    listed = sorted(GRANT_TYPES)
    assert 4 == len(listed)
    assert (listed, listed) == (metadata["grant_types_supported"], enum)
    assert " ".join(sorted([*listed, "introspection"])) in str(refused.value)


def test_the_grants_import_no_web_framework() -> None:
    """issuer/grants/ is domain code: no module of it imports FastAPI or Starlette."""
    imported = set()
    for module in GRANTS_PACKAGE.glob("**/*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert set() == imported & {"fastapi", "starlette"}
