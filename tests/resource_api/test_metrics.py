"""GET /metrics on both services: the counters the issue names move as traffic predicts;
ISSUER_METRICS / RESOURCE_API_METRICS turn the endpoint off; with --workers 2 a scrape
counts every worker's requests (prometheus-client multiprocess mode, a real process)."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from jwtkit.testing import FakeClock, FakeIssuer
from resource_api.app import create_app as create_resource_api
from resource_api.config import ResourceApiSettings
from tests.support import (
    free_port,
    issuer_client,
    issuer_settings,
    running,
    serve,
    wait_until_ready,
)

pytestmark = pytest.mark.anyio

LOGIN = {"username": "alice", "password": "alice-pw"}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics answer, parsed by prometheus-client's own parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_issuer_counts_token_requests_throttling_and_keys(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = issuer_settings(tmp_path / "data", demo_users=["alice:alice-pw"])
    issued = sample("issuer_token_requests_total", grant="password", outcome="issued")
    refused = sample("issuer_token_requests_total", grant="password", outcome="invalid_grant")
    unknown = sample("issuer_token_requests_total", grant="unknown", outcome="invalid_client")
    throttled = sample("issuer_login_throttled_total")
    latency = sample("issuer_token_request_duration_seconds_count", grant="password")
    async with issuer_client(settings, clock) as (client, _services):
        assert 200 == (await client.post("/token", data=LOGIN)).status_code
        for _ in range(10):
            wrong = await client.post("/token", data={**LOGIN, "password": "wrong"})
            assert 400 == wrong.status_code
        assert 429 == (await client.post("/token", data={**LOGIN, "password": "x"})).status_code
        bad_client = await client.post("/token", data={**LOGIN, "client_id": "nobody"})
        assert 401 == bad_client.status_code
        metrics = await client.get("/metrics")
    assert 200 == metrics.status_code
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 1 == sample("issuer_token_requests_total", grant="password", outcome="issued") - issued
    assert 10 == (
        sample("issuer_token_requests_total", grant="password", outcome="invalid_grant") - refused
    )
    assert 1 == (
        sample("issuer_token_requests_total", grant="unknown", outcome="invalid_client") - unknown
    )
    assert 1 == sample("issuer_login_throttled_total") - throttled
    assert 12 == sample("issuer_token_request_duration_seconds_count", grant="password") - latency
    samples = scraped(metrics.text)
    assert 1 == samples[("issuer_signing_keys", (("state", "active"),))]
    assert 0 == samples[("issuer_signing_keys", (("state", "revoked"),))]
    assert ("issuer_password_checks_in_flight", ()) in samples
    assert ("issuer_password_checks_rejected_total", ()) in samples
    assert ("issuer_database_errors_total", ()) in samples


async def test_issuer_metrics_can_be_turned_off(tmp_path: Path, clock: FakeClock) -> None:
    settings = issuer_settings(tmp_path / "data", metrics=False)
    async with issuer_client(settings, clock) as (client, _services):
        assert 404 == (await client.get("/metrics")).status_code


@pytest.fixture
async def api(clock: FakeClock) -> AsyncIterator[tuple[httpx.AsyncClient, FakeIssuer]]:
    fake = FakeIssuer("https://metrics.issuer.test", audience="resource-api", clock=clock)
    settings = ResourceApiSettings(issuer_url=fake.issuer)
    app = create_resource_api(settings, clock=clock, transport=fake.transport())
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield client, fake


async def test_resource_api_counts_verifications_cache_and_key_fetches(
    api: tuple[httpx.AsyncClient, FakeIssuer], clock: FakeClock
) -> None:
    client, fake = api
    names = ("ok", "exp", "aud", "signature", "missing_credentials", "insufficient_scope")
    before = {name: sample("resource_api_verifications_total", outcome=name) for name in names}
    hits, misses = (
        sample("resource_api_token_cache_lookups_total", result=r) for r in ("hit", "miss")
    )
    token = fake.token()
    for bearer in (
        token,
        token,  # the second time from the cache
        fake.token(expired=True),
        fake.token(audience="other"),
        fake.token(foreign_key=True),
        fake.token(scopes=()),
    ):
        await client.get("/users/me", headers={"Authorization": f"Bearer {bearer}"})
    await client.get("/users/me")
    moved = {
        name: sample("resource_api_verifications_total", outcome=name) - before[name]
        for name in names
    }
    assert {name: 1.0 for name in names} | {"ok": 2.0} == moved
    assert 1 == sample("resource_api_token_cache_lookups_total", result="hit") - hits
    assert 5 == sample("resource_api_token_cache_lookups_total", result="miss") - misses
    fetches = sample("resource_api_jwks_fetches_total", issuer=fake.issuer, outcome="ok")
    assert fetches >= 1
    assert clock() == sample("resource_api_jwks_loaded_timestamp_seconds", issuer=fake.issuer)
    metrics = await client.get("/metrics")
    assert ("resource_api_verifications_total", (("outcome", "exp"),)) in scraped(metrics.text)


async def test_resource_api_metrics_can_be_turned_off(clock: FakeClock) -> None:
    fake = FakeIssuer(clock=clock)
    settings = ResourceApiSettings(issuer_url=fake.issuer, metrics=False)
    app = create_resource_api(settings, clock=clock, transport=fake.transport())
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            assert 404 == (await client.get("/metrics")).status_code


@pytest.mark.slow
def test_a_scrape_counts_every_worker(tmp_path: Path) -> None:
    """`serve --workers 2`: 40 requests spread over both workers, and every scrape, whichever
    worker answers it, counts all 40 (each worker alone would show only its share)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    shared_dir = tmp_path / "metrics"
    shared_dir.mkdir()
    env = {
        "RESOURCE_API_ISSUER_URL": f"http://127.0.0.1:{free_port()}",  # nobody there
        "PROMETHEUS_MULTIPROC_DIR": str(shared_dir),  # where the test can see who wrote
    }
    missing = ("resource_api_verifications_total", (("outcome", "missing_credentials"),))
    with serve("resource_api", port, env, tmp_path / "api.log", workers=2):
        wait_until_ready(f"{base}/healthz")
        for _ in range(40):
            # A fresh connection each time, so that both workers get some.
            response = httpx.get(f"{base}/users/me", headers={"Connection": "close"})
            assert 401 == response.status_code
        for _ in range(6):
            text = httpx.get(f"{base}/metrics", headers={"Connection": "close"}).text
            assert 40 == scraped(text)[missing]
    writers = {path.stem.rsplit("_", 1)[1] for path in shared_dir.glob("counter_*.db")}
    assert 2 <= len(writers), writers  # both workers counted some of the 40
