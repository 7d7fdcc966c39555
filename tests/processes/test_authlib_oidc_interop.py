"""Authlib's OpenID client, unmodified: its OAuth2Client runs the code flow with PKCE S256 and
a nonce, its `CodeIDToken` validates the ID token (iss essential and equal to the issuer, nonce,
azp, at_hash, auth_time, amr) after the signature is checked with a key from our JWKS, as its
own `parse_id_token` does (joserfc with the algorithms discovery lists), and its `UserInfo`
reads userinfo. For each signing algorithm, on both stores, in process over
httpx.ASGITransport as tests/issuer/test_client_authentication_rfc6749.py runs Authlib, with
the injected clock handed to `validate`."""

import warnings
from pathlib import Path
from typing import Any

import pytest

from jwtkit.contract import ALGORITHMS
from jwtkit.testing import FakeClock
from tests.basics import ISSUER
from tests.processes.oidc.provider import ALICE, REDIRECT, Provider, provider
from tests.support import authlib_oauth2_client

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

SCOPE = "openid profile email"


def _validated(
    id_token: str, metadata: dict[str, Any], jwks: Any, params: dict[str, str], now: int
) -> Any:
    """Authlib's CodeIDToken over the token joserfc decoded (Authlib's own JOSE backend)."""
    from authlib.oidc.core import CodeIDToken
    from joserfc import jwt
    from joserfc.errors import SecurityWarning
    from joserfc.jwk import KeySet
    from joserfc.jws import JWSRegistry

    registry = JWSRegistry(algorithms=metadata["id_token_signing_alg_values_supported"])
    with warnings.catch_warnings():
        # joserfc warns that RFC 9864 deprecates the name "EdDSA" (for "Ed25519"), and goes on
        # verifying: a warning for the application, which this test lets pass.
        warnings.filterwarnings("ignore", "EdDSA is deprecated", SecurityWarning)
        decoded = jwt.decode(id_token, KeySet.import_key_set(jwks), registry=registry)
    options = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": params["client_id"]},
    }
    claims = CodeIDToken(decoded.claims, decoded.header, options, params)
    claims.validate(now=now)
    return claims


async def _browser_callback(op: Provider, url: str) -> str:
    """The user at the authorization URL: our login page, alice's password, the redirect."""
    page = await op.http.get(url)
    signed_in = await op.log_in(page)
    assert 303 == signed_in.status_code, signed_in.text
    location: str = signed_in.headers["location"]
    assert location.startswith(f"{REDIRECT}?")
    return location


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_authlib_openid_client_code_flow(
    tmp_path: Path, clock: FakeClock, algorithm: str
) -> None:
    """Authlib's client signs alice in, validates the ID token with CodeIDToken at its strict
    settings (iss and aud essential), reads userinfo through UserInfo (nothing outside the
    scopes asked for, a BCP 47 locale), and refreshes into a new ID token for the same
    sign-in."""
    from authlib.common.security import generate_token
    from authlib.oidc.core import UserInfo

    AsyncOAuth2Client = authlib_oauth2_client("AsyncOAuth2Client")  # noqa: N806 (a class)
    async with provider(tmp_path, clock, signing_alg=algorithm) as op:
        metadata = await op.discovery()
        jwks = (await op.http.get(metadata["jwks_uri"])).json()
        async with AsyncOAuth2Client(
            "rp",
            op.secrets["rp"],
            scope=SCOPE,
            redirect_uri=REDIRECT,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
            transport=op.transport,
        ) as oauth:
            verifier, nonce = generate_token(48), generate_token(20)
            url, state = oauth.create_authorization_url(
                metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
            )
            callback = await _browser_callback(op, url)
            token = await oauth.fetch_token(
                metadata["token_endpoint"],
                authorization_response=callback,
                state=state,
                code_verifier=verifier,
            )
            params = {"nonce": nonce, "client_id": "rp", "access_token": token["access_token"]}
            claims = _validated(token["id_token"], metadata, jwks, params, int(clock.now))
            info = UserInfo((await oauth.get(metadata["userinfo_endpoint"])).json())
            refreshed = await oauth.refresh_token(metadata["token_endpoint"])
    assert algorithm == claims.header["alg"]
    assert (nonce, ["pwd"]) == (claims["nonce"], claims["amr"])
    info.validate_locale()
    assert info == info.filter(SCOPE)  # only what the scopes release (Core §5.4)
    assert (claims["sub"], ALICE.email, ALICE.name) == (info.sub, info.email, info.name)
    again = _validated(
        refreshed["id_token"],
        metadata,
        jwks,
        {"client_id": "rp", "access_token": refreshed["access_token"]},
        int(clock.now),
    )
    assert (claims["sub"], claims["auth_time"]) == (again["sub"], again["auth_time"])
    assert "nonce" not in again  # Core §12.2
