"""Service identities: client authentication (RFC 6749 §2.3, RFC 7523 §2.2 with OpenID Connect
Core §9) and the client_credentials grant (RFC 6749 §4.4), through the ASGI app."""

import base64
import json
import math
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from issuer.app import create_app
from issuer.clients.authentication import LEEWAY, MAX_ASSERTION_LIFETIME, presented_credentials
from issuer.config import IssuerSettings
from issuer.services import IssuerServices
from issuer.store.db import session
from issuer.store.models import ClientRow
from jwtkit.testing import FakeClock
from tests.support import (
    ISSUER,
    authlib_oauth2_client,
    basic_auth,
    issuer_client,
    issuer_settings,
    running,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

TOKEN_ENDPOINT = f"{ISSUER}/token"


@pytest.fixture(scope="module")
def service_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**jwk, "kid": "service-key-1", "use": "sig"}]}


class World:
    """The app with registered clients: `secrets` holds the generated ones."""

    def __init__(self, http: httpx.AsyncClient, services: IssuerServices) -> None:
        self.http, self.services = http, services
        self.secrets: dict[str, str] = {}

    def register(self, client_id: str, **options: Any) -> None:
        values: dict[str, Any] = {
            "public": False,
            "grants": frozenset({"client_credentials"}),
            "scopes": frozenset({"profile", "admin"}),
            "audiences": ("billing-api",),
            "auth_method": "client_secret_basic",
            **options,
        }
        _client, secret = self.services.clients.add(client_id, **values)
        if secret is not None:
            self.secrets[client_id] = secret

    async def token(self, headers: dict[str, str] | None = None, /, **form: str) -> httpx.Response:
        return await self.http.post("/token", data=form, headers=headers or {})


@pytest.fixture
async def world(
    settings: IssuerSettings, clock: FakeClock, service_key: rsa.RSAPrivateKey
) -> AsyncIterator[World]:
    async with issuer_client(settings, clock) as (http, services):
        w = World(http, services)
        w.register("billing")
        w.register("poster", auth_method="client_secret_post")
        w.register("signer", auth_method="private_key_jwt", jwks=_jwks(service_key))
        services.users.add("alice", "alice-pw", frozenset({"profile"}))
        yield w


def assertion(key: rsa.RSAPrivateKey, now: float, **overrides: Any) -> str:
    claims = {
        "iss": "signer",
        "sub": "signer",
        "aud": TOKEN_ENDPOINT,
        "exp": int(now) + 120,
        "iat": int(now),
        "jti": uuid.uuid4().hex,
        **overrides,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "service-key-1"})


def jwt_form(token: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": token,
        **extra,
    }


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [
        ("svc", "a:b"),
        ("svc", "100%"),
        ("svc", "1+1 = 2"),
        ("sv+c@x", "pässwört ✓"),
        ("svc", ":::"),
    ],
)
def test_rfc6749_2_3_1_basic_credentials_are_form_urlencoded(client_id: str, secret: str) -> None:
    """Inside Basic, id and secret are form-urlencoded before joining with ':' (RFC 6749
    §2.3.1), so a secret holding ':', '%', '+' or non-ASCII arrives intact."""
    presented = presented_credentials(basic_auth(client_id, secret)["Authorization"], {})
    assert ("client_secret_basic", client_id, secret) == (
        presented.method,
        presented.client_id,
        presented.secret,
    )


async def test_rfc6749_4_4_client_credentials_with_client_secret_basic(world: World) -> None:
    """A service gets a token for itself: sub and client_id are its id (RFC 9068 §2.2), the
    audience is its default one, no username and no refresh token."""
    response = await world.token(
        basic_auth("billing", world.secrets["billing"]), grant_type="client_credentials"
    )
    assert 200 == response.status_code, response.text
    body = response.json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert ("billing", "billing", "billing-api") == (
        claims["sub"],
        claims["client_id"],
        claims["aud"],
    )
    assert "preferred_username" not in claims and "refresh_token" not in body
    assert "admin profile" == body["scope"]


async def test_rfc6749_4_4_scopes_within_the_clients(world: World) -> None:
    """Requested scopes within the client's are granted; a wider one is invalid_scope."""
    auth = basic_auth("billing", world.secrets["billing"])
    narrow = await world.token(auth, grant_type="client_credentials", scope="profile")
    assert "profile" == narrow.json()["scope"]
    world.register("reader", scopes=frozenset({"profile"}))
    wide = await world.token(
        basic_auth("reader", world.secrets["reader"]),
        grant_type="client_credentials",
        scope="admin",
    )
    assert (400, "invalid_scope") == (wide.status_code, wide.json()["error"])


async def test_rfc6749_2_3_1_client_secret_post(world: World) -> None:
    """client_secret_post: id and secret in the body."""
    response = await world.token(
        grant_type="client_credentials", client_id="poster", client_secret=world.secrets["poster"]
    )
    assert 200 == response.status_code


async def test_rfc6749_5_2_failed_basic_is_401_with_a_basic_challenge(world: World) -> None:
    """A wrong secret in Basic: 401 invalid_client with WWW-Authenticate: Basic realm=the
    issuer. Regression: Basic credentials were ignored and the token said client_id default."""
    response = await world.token(basic_auth("billing", "wrong"), grant_type="client_credentials")
    assert (401, "invalid_client") == (response.status_code, response.json()["error"])
    assert response.headers["www-authenticate"].startswith(f'Basic realm="{ISSUER}"')


@pytest.mark.parametrize(
    "form",
    [
        {"client_id": "poster", "client_secret": "wrong"},
        {"client_id": "nobody", "client_secret": "x"},
        {"client_id": "billing", "client_secret": "x"},  # registered for Basic, not post
        {"client_id": "default", "client_secret": "x"},  # a public client has no secret
    ],
)
async def test_rfc6749_5_2_failed_client_authentication_is_401(
    world: World, form: dict[str, str]
) -> None:
    """Wrong secret, unknown client, another method than registered: the same 401
    invalid_client, with no Basic challenge when Basic was not used."""
    response = await world.token(grant_type="client_credentials", **form)
    assert (401, "invalid_client") == (response.status_code, response.json()["error"])
    assert "www-authenticate" not in response.headers


async def test_rfc6749_2_3_two_methods_in_one_request_is_invalid_request(world: World) -> None:
    """RFC 6749 §2.3: the client MUST NOT use more than one authentication method."""
    response = await world.token(
        basic_auth("billing", world.secrets["billing"]),
        grant_type="client_credentials",
        client_secret=world.secrets["billing"],
    )
    assert (400, "invalid_request") == (response.status_code, response.json()["error"])


async def test_empty_basic_credentials_count_as_none(world: World) -> None:
    """`Basic Og==` (Swagger UI's default) is no credentials: the seed's password grant works."""
    response = await world.token(
        {"Authorization": "Basic Og=="}, username="alice", password="alice-pw"
    )
    assert 200 == response.status_code


async def test_rfc6749_5_2_unregistered_grant_is_unauthorized_client(world: World) -> None:
    """A client may use only the grants it was registered for."""
    response = await world.token(
        basic_auth("billing", world.secrets["billing"]), username="alice", password="alice-pw"
    )
    assert (400, "unauthorized_client") == (response.status_code, response.json()["error"])


async def test_secrets_are_stored_as_salted_hmacs(world: World) -> None:
    """The database holds a 16-byte salt and a 32-byte HMAC-SHA-256, never the secret."""
    with session(world.services.engine) as db:
        row = db.scalars(select(ClientRow).where(ClientRow.client_id == "billing")).one()
    assert (16, 32) == (len(row.secret_salt or b""), len(row.secret_hash or b""))
    stored = json.dumps({k: str(v) for k, v in vars(row).items()})
    assert world.secrets["billing"] not in stored
    assert len(base64.urlsafe_b64decode(world.secrets["billing"] + "=")) >= 32


async def test_rotated_secret_overlaps_for_keep_old_for(world: World, clock: FakeClock) -> None:
    """`rotate-secret --keep-old-for 1h`: both secrets work for the hour, then only the new."""
    old = world.secrets["billing"]
    new = world.services.clients.rotate_secret("billing", 3600)
    for secret in (old, new):
        response = await world.token(basic_auth("billing", secret), grant_type="client_credentials")
        assert 200 == response.status_code
    clock.advance(3601)
    stale = await world.token(basic_auth("billing", old), grant_type="client_credentials")
    assert 401 == stale.status_code
    assert (
        200
        == (
            await world.token(basic_auth("billing", new), grant_type="client_credentials")
        ).status_code
    )


async def test_rfc7523_private_key_jwt(
    world: World, service_key: rsa.RSAPrivateKey, clock: FakeClock
) -> None:
    """An assertion signed by the client's registered key, iss = sub = client id, aud the
    token endpoint (or the issuer), gets a token."""
    for audience in (TOKEN_ENDPOINT, ISSUER):
        token = assertion(service_key, clock(), aud=audience)
        response = await world.token(**jwt_form(token))
        assert 200 == response.status_code, response.text


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"exp": -60}, "expired past the leeway"),
        ({"exp": 3660}, "valid for more than 60 minutes"),
        ({"exp": math.nan}, "exp is not a number"),
        ({"nbf": "soon"}, "nbf is not a NumericDate"),
        ({"aud": "https://elsewhere.test/token"}, "another audience"),
        ({"sub": "someone-else"}, "sub is not the client"),
        ({"iss": "signer", "sub": "signer", "jti": None}, "no jti"),
    ],
)
async def test_rfc7523_bad_assertions_are_invalid_client(
    world: World,
    service_key: rsa.RSAPrivateKey,
    clock: FakeClock,
    overrides: dict[str, Any],
    why: str,
) -> None:
    """OpenID Connect Core §9 rules: each broken assertion is 401 invalid_client."""
    values = dict(overrides)
    if "exp" in values:
        values["exp"] = int(clock()) + values["exp"]
    token = assertion(service_key, clock(), **{k: v for k, v in values.items() if v is not None})
    if values.get("jti", "") is None:
        claims = jwt.decode(token, options={"verify_signature": False})
        del claims["jti"]
        token = jwt.encode(claims, service_key, algorithm="RS256", headers={"kid": "service-key-1"})
    response = await world.token(**jwt_form(token))
    assert (401, "invalid_client") == (response.status_code, response.json()["error"]), why


async def test_rfc7523_assertion_signed_by_another_key_is_refused(
    world: World, clock: FakeClock, attacker_key: rsa.RSAPrivateKey
) -> None:
    """Only keys in the client's registered JWKS count."""
    response = await world.token(**jwt_form(assertion(attacker_key, clock())))
    assert 401 == response.status_code


async def test_rfc7523_jti_is_single_use_across_processes(
    world: World, settings: IssuerSettings, service_key: rsa.RSAPrivateKey, clock: FakeClock
) -> None:
    """The same assertion twice: refused the second time, by the same app and by a second
    app (another process's view) on the same database."""
    token = assertion(service_key, clock())
    assert 200 == (await world.token(**jwt_form(token))).status_code
    assert 401 == (await world.token(**jwt_form(token))).status_code
    other = assertion(service_key, clock())
    async with issuer_client(settings, clock) as (second, _services):
        first_use = await second.post("/token", data=jwt_form(other))
        replay = await world.token(**jwt_form(other))
    assert (200, 401) == (first_use.status_code, replay.status_code)


async def test_rfc7523_replay_after_exp_within_the_leeway_after_a_prune_is_refused(
    world: World, settings: IssuerSettings, service_key: rsa.RSAPrivateKey, clock: FakeClock
) -> None:
    """An assertion is accepted until exp + LEEWAY, so its jti is kept that long: 15 s past
    its exp, after the minute's prune has run, the same assertion is refused, by this app and
    by a second app on the same database (another process)."""
    token = assertion(service_key, clock())
    assert 200 == (await world.token(**jwt_form(token))).status_code
    clock.advance(120 + LEEWAY / 2)  # exp + 15 s
    world.services.client_auth.prune(clock())
    async with issuer_client(settings, clock) as (second, _services):
        elsewhere = await second.post("/token", data=jwt_form(token))
    here = await world.token(**jwt_form(token))
    assert (401, 401) == (here.status_code, elsewhere.status_code)
    clock.advance(LEEWAY)  # past exp + LEEWAY: refused as expired, and the jti may go
    world.services.client_auth.prune(clock())
    assert 401 == (await world.token(**jwt_form(token))).status_code


@pytest.mark.parametrize(
    ("nbf", "status"),
    [(LEEWAY + 1, 401), (600, 401), (LEEWAY, 200), (-60, 200)],
)
async def test_rfc7523_3_5_nbf_in_the_future_is_refused(
    world: World, service_key: rsa.RSAPrivateKey, clock: FakeClock, nbf: int, status: int
) -> None:
    """RFC 7523 §3 item 5: before its nbf the JWT MUST NOT be accepted (with the leeway for
    clock skew); a past nbf is fine."""
    token = assertion(service_key, clock(), nbf=int(clock()) + nbf)
    assert status == (await world.token(**jwt_form(token))).status_code


async def test_rfc7523_an_assertion_may_live_60_minutes(
    world: World, service_key: rsa.RSAPrivateKey, clock: FakeClock
) -> None:
    """exp - iat = 3,600 s (what Authlib signs by default, Okta's limit) is accepted."""
    token = assertion(service_key, clock(), exp=int(clock()) + MAX_ASSERTION_LIFETIME)
    assert 200 == (await world.token(**jwt_form(token))).status_code


async def test_rfc7523_an_assertion_living_61_minutes_is_refused(
    world: World, service_key: rsa.RSAPrivateKey, clock: FakeClock
) -> None:
    """exp - iat = 61 minutes is invalid_client, also when most of it has passed (the lifetime
    counts from iat, not from now)."""
    now = int(clock())
    for iat in (now, now - 3000):
        token = assertion(service_key, clock(), iat=iat, exp=iat + 61 * 60)
        response = await world.token(**jwt_form(token))
        assert (401, "invalid_client") == (response.status_code, response.json()["error"])


async def test_rfc7523_without_iat_an_exp_61_minutes_ahead_is_refused(
    world: World, service_key: rsa.RSAPrivateKey, clock: FakeClock
) -> None:
    """Without iat the lifetime is exp - now: 61 minutes ahead is refused, 60 accepted."""
    outcomes = []
    for minutes in (61, 60):
        claims = jwt.decode(
            assertion(service_key, clock(), exp=int(clock()) + minutes * 60),
            options={"verify_signature": False},
        )
        del claims["iat"]
        token = jwt.encode(claims, service_key, algorithm="RS256", headers={"kid": "service-key-1"})
        outcomes.append((await world.token(**jwt_form(token))).status_code)
    assert [401, 200] == outcomes


async def test_rfc7523_authlib_private_key_jwt_at_its_defaults_gets_a_token(
    tmp_path: Path, service_key: rsa.RSAPrivateKey
) -> None:
    """Authlib's PrivateKeyJWT (an independent client, RFC 7523 §2.2) with nothing changed:
    RS256, no kid, iat now, exp an hour later, a random jti. The issuer's clock is set to the
    machine's time, since Authlib reads that one."""
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    AsyncOAuth2Client = authlib_oauth2_client("AsyncOAuth2Client")  # noqa: N806 (a class)
    pem = service_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    clock = FakeClock(time.time())
    app = create_app(issuer_settings(tmp_path / "data"), clock)
    async with running(app):
        services: IssuerServices = app.state.services
        services.clients.add(
            "signer",
            public=False,
            grants=frozenset({"client_credentials"}),
            scopes=frozenset({"profile"}),
            audiences=("billing-api",),
            auth_method="private_key_jwt",
            jwks=_jwks(service_key),
        )
        async with AsyncOAuth2Client(
            "signer",
            pem.decode(),
            token_endpoint_auth_method="private_key_jwt",
            transport=httpx.ASGITransport(app=app),
        ) as oauth:
            oauth.register_client_auth_method(PrivateKeyJWT(TOKEN_ENDPOINT))
            clock.now = time.time()  # however long the start took: Authlib signs at this time
            token = await oauth.fetch_token(TOKEN_ENDPOINT, grant_type="client_credentials")
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert ("signer", "Bearer") == (claims["client_id"], token["token_type"])


async def test_rfc8707_unknown_resource_is_invalid_target(world: World) -> None:
    """A resource the issuer does not know is 400 invalid_target."""
    response = await world.token(
        basic_auth("billing", world.secrets["billing"]),
        grant_type="client_credentials",
        resource="https://unknown.example/api",
    )
    assert (400, "invalid_target") == (response.status_code, response.json()["error"])


async def test_assertion_exp_checked_against_the_issuer_clock(
    world: World, service_key: rsa.RSAPrivateKey, clock: FakeClock
) -> None:
    """The assertion's exp is compared with the injected clock, not the machine's."""
    token = assertion(service_key, clock())
    assert abs(clock() - time.time()) > 3600  # the fake clock is far from the real one
    assert 200 == (await world.token(**jwt_form(token))).status_code


def test_client_changes_elsewhere_arrive_within_the_cache_lifetime(
    settings: IssuerSettings, clock: FakeClock
) -> None:
    """A secret rotated by another process (a second store on the same database) stops
    working in this one once its cached record is older than CACHE_SECONDS; a change made
    through a process's own store applies there at once."""
    from issuer.clients.registry import ClientStore
    from issuer.wiring import client_store, open_database

    engine = open_database(settings)
    monotonic = FakeClock(0)
    here = ClientStore(engine, clock, monotonic)
    elsewhere = client_store(engine, clock)
    _client, old = here.add(
        "billing",
        public=False,
        grants=frozenset({"client_credentials"}),
        scopes=frozenset(),
        audiences=(),
        auth_method="client_secret_basic",
    )
    assert old is not None and here.secret_matches("billing", old)
    new = elsewhere.rotate_secret("billing", 0)
    assert here.secret_matches("billing", old)  # cached: still the old record
    monotonic.advance(ClientStore.CACHE_SECONDS + 0.1)
    assert not here.secret_matches("billing", old)
    assert here.secret_matches("billing", new)
    newest = here.rotate_secret("billing", 0)
    assert here.secret_matches("billing", newest) and not here.secret_matches("billing", new)
