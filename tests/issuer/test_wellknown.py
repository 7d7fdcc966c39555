"""JWKS (RFC 7517) and discovery (RFC 8414, OpenID Connect Discovery 1.0) documents."""

import pytest

from issuer.config import IssuerSettings
from jwtkit.testing import FakeClock
from tests.support import issuer_client

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


async def test_jwks_shape_and_caching(settings: IssuerSettings, clock: FakeClock) -> None:
    """RSA signing keys only, kid = thumbprint, no private member, public max-age and ETag."""
    async with issuer_client(settings, clock) as (client, _):
        response = await client.get("/.well-known/jwks.json")
    assert 200 == response.status_code
    assert "public, max-age=300" == response.headers["cache-control"]
    assert response.headers["etag"].startswith('"')
    (key,) = response.json()["keys"]
    assert ("RSA", "sig", "RS256") == (key["kty"], key["use"], key["alg"])
    assert not PRIVATE_MEMBERS & set(key)


async def test_jwks_if_none_match_gives_304(settings: IssuerSettings, clock: FakeClock) -> None:
    """A verifier holding the current document gets 304 with no body."""
    async with issuer_client(settings, clock) as (client, _):
        etag = (await client.get("/.well-known/jwks.json")).headers["etag"]
        again = await client.get("/.well-known/jwks.json", headers={"If-None-Match": etag})
        other = await client.get("/.well-known/jwks.json", headers={"If-None-Match": '"old"'})
    assert (304, b"", etag) == (again.status_code, again.content, again.headers["etag"])
    assert 200 == other.status_code


@pytest.mark.parametrize("path", ["oauth-authorization-server", "openid-configuration"])
async def test_discovery_documents(settings: IssuerSettings, clock: FakeClock, path: str) -> None:
    """RFC 8414 §2 members, and the ones OIDC discovery requires, all under ISSUER_URL."""
    async with issuer_client(settings, clock) as (client, _):
        document = (await client.get(f"/.well-known/{path}")).json()
    assert settings.url == document["issuer"]
    assert f"{settings.url}/token" == document["token_endpoint"]
    assert f"{settings.url}/.well-known/jwks.json" == document["jwks_uri"]
    assert ["authorization_code", "client_credentials", "password", "refresh_token"] == document[
        "grant_types_supported"
    ]
    # Truthful about the code flow: code only, PKCE with S256 only, iss in responses.
    assert (["code"], ["S256"], True) == (
        document["response_types_supported"],
        document["code_challenge_methods_supported"],
        document["authorization_response_iss_parameter_supported"],
    )
    assert (f"{settings.url}/revoke", f"{settings.url}/introspect") == (
        document["revocation_endpoint"],
        document["introspection_endpoint"],
    )
    assert [
        "client_secret_basic",
        "client_secret_post",
        "none",
        "private_key_jwt",
    ] == document["token_endpoint_auth_methods_supported"]
    assert ["RS256", "PS256", "ES256", "EdDSA"] == document[
        "token_endpoint_auth_signing_alg_values_supported"
    ]
    # The identity scopes are always known (issue 22, decision 7).
    assert ["admin", "email", "openid", "profile"] == document["scopes_supported"]
    for member in ("authorization_endpoint", "response_types_supported", "subject_types_supported"):
        assert member in document
    # ID tokens are issued, signed by the keyring's keys: their algorithms are advertised
    # (the members OpenID discovery adds: tests/issuer/test_discovery_oidc.py).
    assert ["RS256"] == document["id_token_signing_alg_values_supported"]


async def test_authorize_without_a_known_client_shows_an_error_page(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    """The advertised authorization endpoint never redirects for a client it does not know."""
    async with issuer_client(settings, clock) as (client, _):
        response = await client.get("/authorize?response_type=code")
    assert 400 == response.status_code and "location" not in response.headers
    assert "not registered" in response.text


async def test_health_and_readiness(settings: IssuerSettings, clock: FakeClock) -> None:
    """/healthz answers; /readyz reports the database and a loaded signing key."""
    async with issuer_client(settings, clock) as (client, _):
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert 200 == health.status_code
    assert (200, True, True) == (
        ready.status_code,
        ready.json()["database"],
        ready.json()["signing_key"],
    )


async def test_cors_allows_configured_origin_only(tmp_path: object, clock: FakeClock) -> None:
    """ISSUER_CORS_ORIGINS lets a browser app (the resource API's /docs) call /token."""
    from pathlib import Path

    from tests.support import issuer_settings

    settings = issuer_settings(Path(str(tmp_path)) / "d", cors_origins=["http://localhost:8001"])
    async with issuer_client(settings, clock) as (client, _):
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = await client.options(
            "/token", headers={"Origin": "http://localhost:8001", **preflight}
        )
        refused = await client.options(
            "/token", headers={"Origin": "http://evil.test", **preflight}
        )
    assert "http://localhost:8001" == allowed.headers["access-control-allow-origin"]
    assert "access-control-allow-origin" not in refused.headers
