"""/docs on both services works with no internet access: the page and everything it loads
come from the service itself (swagger-ui-bundle), never from a CDN."""

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from issuer.app import create_app as create_issuer
from jwtkit.testing import FakeClock, FakeIssuer
from resource_api.app import create_app as create_resource_api
from resource_api.config import ResourceApiSettings
from tests.support import issuer_settings, running

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["issuer", "resource-api"])
async def app(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[FastAPI]:
    if request.param == "issuer":
        built = create_issuer(issuer_settings(tmp_path / "data"), clock)
    else:
        fake = FakeIssuer(clock=clock)
        settings = ResourceApiSettings(issuer_url=fake.issuer)
        built = create_resource_api(settings, clock=clock, transport=fake.transport())
    async with running(built):
        yield built


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_docs_load_nothing_from_another_host(app: FastAPI, path: str) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
        page = await client.get(path)
        assert 200 == page.status_code
        references = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        references += re.findall(r"""url: ?["']([^"']+)["']""", page.text)
        assert references, page.text
        assert not re.search(r"https?://", page.text), "an absolute URL: another host"
        for reference in references:
            asset = await client.get(reference)
            assert 200 == asset.status_code, reference
        js = await client.get("/docs/assets/swagger-ui-bundle.js")
        assert "javascript" in js.headers["content-type"] and len(js.content) > 100_000
        assert 200 == (await client.get("/docs/oauth2-redirect")).status_code
        if path == "/docs":
            assert '"validatorUrl": null' in page.text  # no badge fetched from the validator


async def test_resource_api_docs_sign_in_with_the_code_flow_and_pkce(clock: FakeClock) -> None:
    """The OpenAPI document declares the authorization code flow beside the password flow, and
    Swagger UI is set up for the public client with PKCE: the user only picks scopes."""
    fake = FakeIssuer("http://issuer.test", clock=clock)
    settings = ResourceApiSettings(issuer_url=fake.issuer)
    app = create_resource_api(settings, clock=clock, transport=fake.transport())
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            flows = (await client.get("/openapi.json")).json()["components"]["securitySchemes"]
            page = (await client.get("/docs")).text
    code_flow = flows["issuer"]["flows"]["authorizationCode"]
    assert ("http://issuer.test/authorize", "http://issuer.test/token") == (
        code_flow["authorizationUrl"],
        code_flow["tokenUrl"],
    )
    assert "password" in flows["issuer"]["flows"]
    assert '"clientId": "resource-api-docs"' in page
    assert '"usePkceWithAuthorizationCodeGrant": true' in page
