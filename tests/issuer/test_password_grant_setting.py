"""The resource owner password credentials grant is off unless ISSUER_PASSWORD_GRANT is on
(RFC 9700 §2.4: it "MUST NOT be used"): /token refuses it, discovery and the OpenAPI form do
not offer it; on (the demo: make run, compose), it works as the seed's curl uses it."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from issuer.api.form import FORM_CONTENT_TYPE
from issuer.config import IssuerSettings
from jwtkit.testing import FakeClock
from tests.support import issuer_client, issuer_settings

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

DISCOVERY = ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")


async def _issuer(tmp_path: Path, clock: FakeClock, **overrides: Any) -> AsyncIterator[Any]:
    settings = issuer_settings(tmp_path / "data", demo_users=["alice:alice-pw"], **overrides)
    async with issuer_client(settings, clock) as (client, _services):
        yield client


@pytest.fixture
async def grant_off(tmp_path: Path, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    """An issuer on the real default (tests/support.py turns the password grant on)."""
    async for client in _issuer(tmp_path, clock, password_grant=False):
        yield client


@pytest.fixture
async def grant_on(tmp_path: Path, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _issuer(tmp_path, clock, password_grant=True):
        yield client


def _grant_type_field(openapi: dict[str, Any]) -> dict[str, Any]:
    body = openapi["paths"]["/token"]["post"]["requestBody"]["content"][FORM_CONTENT_TYPE]
    field: dict[str, Any] = body["schema"]["properties"]["grant_type"]
    return field


def test_the_password_grant_is_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """IssuerSettings: off unless ISSUER_PASSWORD_GRANT=true."""
    assert False is IssuerSettings().password_grant
    monkeypatch.setenv("ISSUER_PASSWORD_GRANT", "true")
    assert True is IssuerSettings().password_grant


async def test_rfc9700_2_4_off_the_password_grant_is_unsupported_grant_type(
    grant_off: httpx.AsyncClient,
) -> None:
    """grant_type=password with a correct password: 400 unsupported_grant_type (RFC 6749
    §5.2), the password unchecked."""
    response = await grant_off.post(
        "/token", data={"grant_type": "password", "username": "alice", "password": "alice-pw"}
    )
    assert (400, "unsupported_grant_type") == (response.status_code, response.json()["error"])


async def test_rfc6749_off_a_missing_grant_type_is_invalid_request(
    grant_off: httpx.AsyncClient,
) -> None:
    """grant_type is REQUIRED (RFC 6749 §4.3.2): without the password grant there is no
    implicit default, so the seed's curl is 400 invalid_request, a missing parameter (§5.2)."""
    response = await grant_off.post("/token", data={"username": "alice", "password": "alice-pw"})
    assert (400, "invalid_request") == (response.status_code, response.json()["error"])
    assert "grant_type" in response.json()["error_description"]


async def test_rfc8414_off_discovery_does_not_list_the_password_grant(
    grant_off: httpx.AsyncClient,
) -> None:
    """Both metadata documents list the grants that work, and the password grant is not one."""
    for path in DISCOVERY:
        document = (await grant_off.get(path)).json()
        assert ["authorization_code", "client_credentials", "refresh_token"] == document[
            "grant_types_supported"
        ], path


async def test_off_the_openapi_form_does_not_offer_the_password_grant(
    grant_off: httpx.AsyncClient, grant_on: httpx.AsyncClient
) -> None:
    """/openapi.json's /token form: with the grant off, password is neither in grant_type's
    enum nor its default, and the form has no username and password; an app with it on (the
    same route, in the same process) still offers it."""
    off = (await grant_off.get("/openapi.json")).json()
    on = (await grant_on.get("/openapi.json")).json()
    assert {
        "type": "string",
        "enum": ["authorization_code", "client_credentials", "refresh_token"],
    } == (_grant_type_field(off))
    fields = off["paths"]["/token"]["post"]["requestBody"]["content"][FORM_CONTENT_TYPE]
    assert not {"username", "password"} & set(fields["schema"]["properties"])
    offered = _grant_type_field(on)
    assert "password" == offered["default"] and "password" in offered["enum"]


async def test_on_the_password_grant_and_its_implicit_default_work(
    grant_on: httpx.AsyncClient,
) -> None:
    """ISSUER_PASSWORD_GRANT=true: the seed's curl (no grant_type) and grant_type=password both
    get a token, and discovery lists the grant."""
    for form in (
        {"username": "alice", "password": "alice-pw"},
        {"grant_type": "password", "username": "alice", "password": "alice-pw"},
    ):
        response = await grant_on.post("/token", data=form)
        assert 200 == response.status_code, response.text
    for path in DISCOVERY:
        assert "password" in (await grant_on.get(path)).json()["grant_types_supported"]
