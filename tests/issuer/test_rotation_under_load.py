"""Rotation under load: tokens verified through the resource API app, which fetches the
issuer app's JWKS over (in-process) HTTP, while keys rotate; zero failures. Then a
revocation: the revoked key's tokens fail within one JWKS refresh."""

import httpx
import pytest

from issuer.app import create_app as create_issuer_app
from jwtkit import AccessTokenVerifier
from jwtkit.testing import FakeClock
from resource_api.app import create_app as create_resource_app
from resource_api.config import ResourceApiSettings
from tests.support import issuer_settings, password_token, running

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

HOUR = 3600.0
STEP = 60.0


async def test_rotation_under_load_then_revocation(tmp_path: object, clock: FakeClock) -> None:
    """Six simulated hours with one-hour rotations, a request every minute with a fresh
    token and one with a 10-minute-old token: every request passes. Revoking the active key
    makes its tokens fail once the resource API has refreshed its keys."""
    from pathlib import Path

    settings = issuer_settings(
        Path(str(tmp_path)) / "data",
        key_rotation_interval=HOUR,
        key_publish_ahead=600,
        jwks_max_age=300,
        access_token_ttl=900,
        demo_users=["load:load-pass"],
        key_check_interval=STEP,  # the loop below is the issuer's timer: a refresh a step
    )
    issuer_app = create_issuer_app(settings, clock)
    issuer_transport = httpx.ASGITransport(app=issuer_app)
    api_app = create_resource_app(
        ResourceApiSettings(issuer_url=settings.url), clock=clock, transport=issuer_transport
    )
    async with (
        running(issuer_app),
        running(api_app),
        httpx.AsyncClient(transport=issuer_transport, base_url=settings.url) as issuer,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=api_app), base_url="http://api") as api,
    ):
        keyring = issuer_app.state.services.keyring
        verifier: AccessTokenVerifier = api_app.state.verifier

        async def status(token: str) -> int:
            response = await api.get("/users/me", headers={"Authorization": f"Bearer {token}"})
            return response.status_code

        recent: list[tuple[float, str]] = []
        failures, requests, signers = 0, 0, set()
        end = clock() + 6 * HOUR
        while clock() < end:
            keyring.refresh()  # the issuer's timer
            if verifier.jwks.next_refresh_delay() == 0:
                await verifier.jwks.scheduled_refresh()  # the resource API's background refresh
            token = await password_token(issuer, "load", "load-pass")
            signers.add(keyring.signing_key(clock())[0])
            recent.append((clock(), token))
            old = next(t for issued, t in recent if issued >= clock() - 600)
            for candidate in (token, old):
                requests += 1
                failures += await status(candidate) != 200
            clock.advance(STEP)
        assert (0, 2 * 6 * 60) == (failures, requests)
        assert len(signers) >= 6

        token = await password_token(issuer, "load", "load-pass")
        compromised = keyring.signing_key(clock())[0]
        assert 200 == await status(token)
        replacement = keyring.lifecycle.revoke(compromised, clock())
        keyring.refresh()
        clock.advance(verifier.jwks.next_refresh_delay())
        await verifier.jwks.scheduled_refresh()
        assert 401 == await status(token)
        assert replacement is not None  # it signs once every issuer process publishes it
        clock.advance(max(0.0, replacement.activates_at - clock()))
        assert 200 == await status(await password_token(issuer, "load", "load-pass"))
