"""Resource indicators (RFC 8707) at the token endpoint, and the resources and clients CLI."""

import base64

import httpx
import jwt
import pytest

from issuer.cli.main import main
from issuer.config import IssuerSettings
from issuer.wiring import open_database
from jwtkit.testing import FakeClock
from tests.support import basic_auth, issuer_client

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]


async def _token(client: httpx.AsyncClient, secret: str, **form: str) -> httpx.Response:
    data = {"grant_type": "client_credentials", **form}
    return await client.post("/token", data=data, headers=basic_auth("billing", secret))


async def test_rfc8707_resource_picks_the_audience(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    """`resource` names a registered API: the token's aud is that resource's audience, its
    scopes within the ones the resource accepts. Without it: the client's default audience."""
    async with issuer_client(settings, clock) as (client, services):
        _c, secret = services.clients.add(
            "billing",
            public=False,
            grants=frozenset({"client_credentials"}),
            scopes=frozenset({"profile", "admin"}),
            audiences=("billing-api", "ledger"),
            auth_method="client_secret_basic",
        )
        services.resources.add("https://ledger.internal/api", "ledger", frozenset({"admin"}))
        chosen = await _token(client, secret or "", resource="https://ledger.internal/api")
        default = await _token(client, secret or "")
    claims = jwt.decode(chosen.json()["access_token"], options={"verify_signature": False})
    assert ("ledger", "admin") == (claims["aud"], claims["scope"])
    plain = jwt.decode(default.json()["access_token"], options={"verify_signature": False})
    assert "billing-api" == plain["aud"]


async def test_rfc8707_forbidden_or_unknown_resource_is_invalid_target(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    """A resource whose audience the client is not registered for, an unknown one and a
    relative one all get the same 400 invalid_target."""
    async with issuer_client(settings, clock) as (client, services):
        _c, secret = services.clients.add(
            "billing",
            public=False,
            grants=frozenset({"client_credentials"}),
            scopes=frozenset({"profile"}),
            audiences=("billing-api",),
            auth_method="client_secret_basic",
        )
        services.resources.add("https://hr.internal/api", "hr", frozenset())
        answers = [
            await _token(client, secret or "", resource=uri)
            for uri in ("https://hr.internal/api", "https://nowhere.test/", "/relative")
        ]
    assert [(400, "invalid_target")] * 3 == [(a.status_code, a.json()["error"]) for a in answers]


def test_clients_and_resources_cli(
    settings: IssuerSettings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """clients add prints a generated secret once (256 bits, URL-safe); list, show --json,
    rotate-secret, remove; resources add, list, remove."""
    monkeypatch.setenv("ISSUER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ISSUER_SCOPES", "profile admin")
    open_database(settings)  # the server's database
    assert 0 == main(
        ["clients", "add", "billing", "--scope", "profile", "--audience", "billing-api"]
    )
    out = capsys.readouterr().out
    secret = out.split("store it now): ")[1].strip()
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert 0 == main(["clients", "show", "billing", "--json"])
    shown = capsys.readouterr().out
    assert '"auth_method": "client_secret_basic"' in shown and secret not in shown
    assert 0 == main(["clients", "rotate-secret", "billing", "--keep-old-for", "1h"])
    assert secret not in capsys.readouterr().out
    assert 0 == main(["resources", "add", "https://billing.internal/", "--audience", "billing-api"])
    assert 0 == main(["resources", "list"])
    assert "https://billing.internal/\tbilling-api" in capsys.readouterr().out
    assert 1 == main(["clients", "add", "svc", "--public", "--grant", "client_credentials"])
    assert "confidential" in capsys.readouterr().err
    assert 0 == main(["resources", "remove", "https://billing.internal/"])
    assert 0 == main(["clients", "remove", "billing"])
    assert 1 == main(["clients", "show", "billing"])
