"""The resource API trusting several issuers through RESOURCE_API_ISSUERS; /readyz per issuer;
the single-issuer variables keep working and cannot be mixed with the list."""

import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from jwtkit.testing import FakeClock, FakeIssuer
from resource_api.app import create_app
from resource_api.config import ResourceApiSettings
from tests.support import running

pytestmark = pytest.mark.anyio

ISSUERS = [
    {"issuer": "https://a.issuer.test", "audience": "resource-api"},
    {"issuer": "https://b.issuer.test/", "audience": ["orders", "resource-api"]},
]


@pytest.fixture
def tenants(clock: FakeClock) -> dict[str, FakeIssuer]:
    fakes = [
        FakeIssuer("https://a.issuer.test", audience="resource-api", clock=clock),
        FakeIssuer("https://b.issuer.test", audience="orders", clock=clock),
    ]
    return {fake.issuer: fake for fake in fakes}


def routed(tenants: dict[str, FakeIssuer], down: str | None = None) -> httpx.MockTransport:
    """One transport for all issuers, by host; `down` refuses connections."""

    def handle(request: httpx.Request) -> httpx.Response:
        issuer = f"{request.url.scheme}://{request.url.host}"
        if issuer == down:
            raise httpx.ConnectError("connection refused", request=request)
        return tenants[issuer].respond(request)

    return httpx.MockTransport(handle)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> ResourceApiSettings:
    monkeypatch.setenv("RESOURCE_API_ISSUERS", json.dumps(ISSUERS))
    return ResourceApiSettings()


@contextlib.asynccontextmanager
async def client_for(
    settings: ResourceApiSettings, clock: FakeClock, transport: httpx.MockTransport
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=clock, transport=transport)
    async with running(app):
        asgi = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=asgi, base_url="http://api.test") as client:
            yield client


async def test_tokens_from_each_listed_issuer_are_served(
    env: ResourceApiSettings, tenants: dict[str, FakeIssuer], clock: FakeClock
) -> None:
    a, b = tenants.values()
    async with client_for(env, clock, routed(tenants)) as api:
        for token, user in ((a.token("alice"), "alice"), (b.token("bob"), "bob")):
            response = await api.get("/users/me", headers={"Authorization": f"Bearer {token}"})
            assert (200, user) == (response.status_code, response.json()["username"])
        stranger = FakeIssuer("https://c.issuer.test", audience="resource-api", clock=clock)
        response = await api.get(
            "/users/me", headers={"Authorization": f"Bearer {stranger.token()}"}
        )
        assert 401 == response.status_code
        assert "another issuer" in response.headers["WWW-Authenticate"]
        ready = await api.get("/readyz")
        assert (200, "ready") == (ready.status_code, ready.json()["status"])
        assert ["https://a.issuer.test", "https://b.issuer.test"] == [
            entry["issuer"] for entry in ready.json()["issuers"]
        ]
        assert all(entry["keys_loaded"] for entry in ready.json()["issuers"])


async def test_readyz_reports_each_issuer_and_stays_in_rotation_when_one_is_down(
    env: ResourceApiSettings, tenants: dict[str, FakeIssuer], clock: FakeClock
) -> None:
    """One issuer down: "degraded" (200), its entry says why; the other's tokens still pass."""
    a, b = tenants.values()
    async with client_for(env, clock, routed(tenants, down=a.issuer)) as api:
        ready = await api.get("/readyz")
        assert (200, "degraded") == (ready.status_code, ready.json()["status"])
        by_issuer = {entry["issuer"]: entry for entry in ready.json()["issuers"]}
        assert not by_issuer[a.issuer]["keys_loaded"]
        assert "connection refused" in by_issuer[a.issuer]["last_error"]
        assert by_issuer[b.issuer]["keys_loaded"]
        ok = await api.get("/users/me", headers={"Authorization": f"Bearer {b.token()}"})
        assert 200 == ok.status_code
        down = await api.get("/users/me", headers={"Authorization": f"Bearer {a.token()}"})
        assert 503 == down.status_code
    only_a = ResourceApiSettings(issuers=ISSUERS[:1])
    async with client_for(only_a, clock, routed(tenants, down=a.issuer)) as api:
        assert 503 == (await api.get("/readyz")).status_code


def test_single_issuer_variables_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESOURCE_API_ISSUER_URL", "https://one.test/")
    monkeypatch.setenv("RESOURCE_API_AUDIENCE", "orders")
    [entry] = ResourceApiSettings().trusted_issuers
    assert ("https://one.test", "orders", None) == (entry.issuer, entry.audience, entry.jwks_url)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RESOURCE_API_ISSUER_URL", "https://one.test", "set one or the other"),
        ("RESOURCE_API_AUDIENCE", "orders", "set one or the other"),
        ("RESOURCE_API_ISSUERS", "[]", "at least one issuer"),
        ("RESOURCE_API_ISSUERS", json.dumps(ISSUERS[:1] * 2), "names an issuer twice"),
        ("RESOURCE_API_ISSUERS", '[{"issuer": "ftp://x", "audience": "a"}]', "http"),
        ("RESOURCE_API_ISSUERS", '[{"issuer": "https://x", "audience": []}]', "audience"),
        ("RESOURCE_API_ISSUERS", '[{"issuer": "https://x"}]', "audience"),
        ("RESOURCE_API_ISSUERS", '[{"issuer": "https://x", "audience": "a", "aud": 1}]', "aud"),
    ],
)
def test_issuer_list_mistakes_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    if variable != "RESOURCE_API_ISSUERS":
        monkeypatch.setenv("RESOURCE_API_ISSUERS", json.dumps(ISSUERS))
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=message):
        ResourceApiSettings()
