"""OpenID Connect Discovery 1.0 §3 and §4 against the RFC 8414 document: what is REQUIRED is
there, what is published is true, and the two documents agree. Through the ASGI app, on both
stores, with time from the injected clock."""

import json
from pathlib import Path

import jwt
import pytest

from issuer.api.wellknown import authorization_server_metadata
from issuer.config import IssuerSettings
from issuer.services import IssuerServices
from issuer.wiring import build_services
from jwtkit.testing import FakeClock
from tests.issuer.sign_in import code_flow_issuer, params, returned
from tests.support import ISSUER, issuer_client, issuer_settings, password_token

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

OPENID = "/.well-known/openid-configuration"
OAUTH = "/.well-known/oauth-authorization-server"
ID_TOKEN_CLAIMS = {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "sid", "at_hash"}
USERINFO_CLAIMS = {
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "locale",
    "updated_at",
    "email",
    "email_verified",
}


async def test_required_members_discovery_3(settings: IssuerSettings, clock: FakeClock) -> None:
    """§3's REQUIRED members, the RECOMMENDED ones this issuer can fill, and the OPTIONAL ones
    whose defaults would be untrue (request_uri_parameter_supported defaults to true,
    grant_types_supported to authorization_code and implicit)."""
    async with issuer_client(settings, clock) as (client, _):
        response = await client.get(OPENID)
    assert (200, "application/json") == (response.status_code, response.headers["content-type"])
    document = response.json()
    assert {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "jwks_uri": f"{ISSUER}/.well-known/jwks.json",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "userinfo_endpoint": f"{ISSUER}/userinfo",
        "end_session_endpoint": f"{ISSUER}/logout",
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "response_modes_supported": ["query"],
        "prompt_values_supported": ["none", "login", "consent"],
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claims_parameter_supported": False,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }.items() <= document.items()
    assert {"openid", "profile", "email"} <= set(document["scopes_supported"])
    # What can be released: the ID token's claims and the UserInfo endpoint's, and no
    # access-token-only claim (jti, client_id, scope: Discovery means claims about the user).
    assert ID_TOKEN_CLAIMS | USERINFO_CLAIMS == set(document["claims_supported"])
    assert len(document["claims_supported"]) == len(set(document["claims_supported"]))


async def test_identity_scopes_always_supported(tmp_path: Path, clock: FakeClock) -> None:
    """§3: "The server MUST support the openid scope value": listed with profile and email
    even when ISSUER_SCOPES names other scopes only."""
    settings = issuer_settings(tmp_path / "data", scopes=["admin"], default_scopes=["admin"])
    async with issuer_client(settings, clock) as (client, _):
        document = (await client.get(OPENID)).json()
    assert ["admin", "email", "openid", "profile"] == document["scopes_supported"]


async def test_oauth_and_openid_documents_agree_rfc8414_2(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    """RFC 8414 §2 and Discovery §3 define many members alike: one builder serves both
    documents, so each member has one value wherever it is published."""
    async with issuer_client(settings, clock) as (client, _):
        openid = (await client.get(OPENID)).json()
        oauth = (await client.get(OAUTH)).json()
    assert openid == oauth


async def test_issuer_is_iss_discovery_4_3(tmp_path: Path, clock: FakeClock) -> None:
    """§4.3: the issuer "MUST be identical to the issuer value" the document was fetched
    under, and to the iss of what the issuer signs; ISSUER_URL's trailing slash is not kept
    (openid-client compares `new URL(issuer).href`)."""
    settings = issuer_settings(tmp_path / "data", url=f"{ISSUER}/", demo_users=["alice:pw"])
    async with issuer_client(settings, clock) as (client, _):
        document = (await client.get(OPENID)).json()
        token = await password_token(client, "alice", "pw")
    assert ISSUER == document["issuer"]
    assert f"{document['issuer']}{OPENID}" == f"{ISSUER}{OPENID}"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert document["issuer"] == claims["iss"]
    assert all(
        value.startswith(f"{ISSUER}/")
        for name, value in document.items()
        if name.endswith(("_endpoint", "_uri"))
    )


async def test_no_implicit_or_hybrid_advertised(tmp_path: Path, clock: FakeClock) -> None:
    """Only the code flow is advertised (no implicit grant, no response type carrying a token
    or an ID token in the front channel), and the authorization endpoint refuses the rest."""
    async with code_flow_issuer(tmp_path, clock) as (client, _):
        document = (await client.get(OPENID)).json()
        answers = [
            returned(await client.get("/authorize", params=params(response_type=kind)))
            for kind in ("token", "id_token", "code id_token", "code token", "id_token token")
        ]
    assert "implicit" not in document["grant_types_supported"]
    assert (["code"], ["query"]) == (
        document["response_types_supported"],
        document["response_modes_supported"],
    )
    assert {"unsupported_response_type"} == {answer["error"] for answer in answers}


async def test_alg_values_follow_the_keyring(tmp_path: Path, clock: FakeClock) -> None:
    """id_token_signing_alg_values_supported lists the algorithms of the published keys, the
    active key's first, over a change of ISSUER_SIGNING_ALG from RS256 to ES256: RS256; then
    both, RS256 first while it still signs; then ES256 first; then ES256 alone once the RS256
    key has left the JWKS."""
    data = tmp_path / "data"

    def settings_for(algorithm: str) -> IssuerSettings:
        return issuer_settings(data, signing_alg=algorithm, key_check_interval=5)

    def advertised(services: IssuerServices) -> list[str]:
        document = authorization_server_metadata(services, clock())
        algorithms: list[str] = document["id_token_signing_alg_values_supported"]
        return algorithms

    rs = build_services(settings_for("RS256"), clock)
    rs.keyring.refresh()
    assert ["RS256"] == advertised(rs)
    es_settings = settings_for("ES256")
    es = build_services(es_settings, clock)
    es.keyring.refresh()
    assert ["RS256", "ES256"] == advertised(es)
    clock.advance(es_settings.key_publish_ahead + 1)
    es.keyring.refresh()
    assert "ES256" == es.keyring.signer(clock()).algorithm
    assert ["ES256", "RS256"] == advertised(es)
    clock.advance(es.keyring.lifecycle.schedule.retired_grace + 1)
    es.keyring.refresh()
    assert {"ES256"} == {jwk["alg"] for jwk in json.loads(es.keyring.jwks.body)["keys"]}
    assert ["ES256"] == advertised(es)
