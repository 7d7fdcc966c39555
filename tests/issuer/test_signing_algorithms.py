"""ISSUER_SIGNING_ALG: RS256 (default), PS256, ES256 or EdDSA (Ed25519, RFC 8037). Tokens,
JWKS members, RFC 7638 kids and keys at rest follow the setting; changing it goes through the
normal rotation (published for the full publish-ahead before it signs)."""

import json
from pathlib import Path

import jwt
import pytest

from issuer.config import IssuerSettings
from issuer.wiring import build_services
from jwtkit import AccessTokenVerifier, JwksCache
from jwtkit.contract import ALGORITHMS, thumbprint
from jwtkit.testing import FakeClock
from tests.support import ISSUER, issuer_client, issuer_settings, password_token

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

MEMBERS = {
    "RS256": {"kty": "RSA", "alg": "RS256"},
    "PS256": {"kty": "RSA", "alg": "PS256"},
    "ES256": {"kty": "EC", "crv": "P-256", "alg": "ES256"},
    "EdDSA": {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA"},
}


def settings_for(data: Path, algorithm: str, **overrides: object) -> IssuerSettings:
    return issuer_settings(
        data,
        signing_alg=algorithm,
        demo_users=["alice:alice-pw"],
        key_passphrase="correct horse battery staple",
        **overrides,
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_tokens_and_keys_follow_the_setting(
    tmp_path: Path, clock: FakeClock, algorithm: str
) -> None:
    settings = settings_for(tmp_path / "data", algorithm)
    async with issuer_client(settings, clock) as (client, _services):
        token = await password_token(client, "alice", "alice-pw")
        jwks = (await client.get("/.well-known/jwks.json")).json()
        [jwk] = jwks["keys"]
        header = jwt.get_unverified_header(token)
        assert (algorithm, jwk["kid"]) == (header["alg"], header["kid"])
        assert MEMBERS[algorithm].items() <= jwk.items()
        assert thumbprint(jwk) == jwk["kid"]  # RFC 7638 members of its key type
        assert not {"d", "p", "q", "dp", "dq", "qi"} & jwk.keys()  # never a private member
        # Our verifier, fetching the JWKS from the issuer app itself.
        cache = JwksCache(
            ISSUER,
            transport=client._transport,
            clock=clock,
        )
        async with AccessTokenVerifier(
            cache, audience="resource-api", clock=clock, algorithms=[algorithm]
        ) as verifier:
            assert "alice" == (await verifier.verify(token)).username
        # PyJWT from the published key alone.
        key = jwt.PyJWK(jwk)
        decoded = jwt.decode(
            token, key.key, algorithms=[algorithm], audience="resource-api",
            options={"verify_exp": False, "verify_iat": False},
        )  # fmt: skip
        assert "alice" == decoded["preferred_username"]


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA"])
def test_private_keys_of_every_type_are_encrypted_at_rest_and_read_back(
    tmp_path: Path, clock: FakeClock, algorithm: str
) -> None:
    settings = settings_for(tmp_path / "data", algorithm)
    first = build_services(settings, clock)
    first.keyring.refresh()
    kid, _key, signed_with = first.keyring.signer(clock())
    second = build_services(settings, clock)  # another process, same database
    second.keyring.refresh()
    assert (kid, algorithm) == second.keyring.signer(clock())[::2]
    assert algorithm == signed_with
    [stored] = [key for key in second.keyring.keys if key.kid == kid]
    assert algorithm == stored.algorithm


def test_changing_the_algorithm_goes_through_the_normal_rotation(
    tmp_path: Path, clock: FakeClock
) -> None:
    """RS256 → ES256: the ES256 key is published at once but signs only after the full
    publish-ahead; the RS256 key then retires and stays published for its tokens' life."""
    data = tmp_path / "data"
    # A key check every 5 s, as deployed: the publish-ahead, not one key check plus the
    # margin (issuer/keys/schedule.py), is then what a planned rotation waits for.
    rs = build_services(settings_for(data, "RS256", key_check_interval=5), clock)
    rs.keyring.refresh()
    old_kid, _, old_alg = rs.keyring.signer(clock())
    assert "RS256" == old_alg
    es_settings = settings_for(data, "ES256", key_check_interval=5)
    es = build_services(es_settings, clock)
    es.keyring.refresh()  # the next key check after the setting changed
    assert old_kid == es.keyring.signer(clock())[0]  # still RS256 signing
    published = {jwk["kid"]: jwk for jwk in json.loads(es.keyring.jwks.body)["keys"]}
    assert {"RS256", "ES256"} == {jwk["alg"] for jwk in published.values()}
    clock.advance(es_settings.key_publish_ahead - 1)
    es.keyring.refresh()
    assert old_kid == es.keyring.signer(clock())[0]
    clock.advance(2)
    es.keyring.refresh()
    new_kid, _, new_alg = es.keyring.signer(clock())
    assert ("ES256", True) == (new_alg, new_kid != old_kid)
    assert old_kid in es.keyring.jwks.kids  # retired, still published for its tokens
    # One key of the new algorithm, not one per check.
    es.keyring.refresh()
    assert 2 == len(es.keyring.keys)
