"""A testing kit for apps protected by this verifier: an issuer that lives in the test.

    def test_me(fake_issuer):                       # the pytest plugin's fixture
        app = create_app(verifier=fake_issuer.verifier())
        with TestClient(app) as client:
            token = fake_issuer.token("alice", scopes=("profile",))
            assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).is_success

`FakeIssuer` serves RFC 8414 discovery and a JWKS through an httpx transport (no port, no
network), holds its own keys, and mints tokens that pass every rule the verifier checks, or
the usual bad ones on request: `expired=True`, `audience="other"`, `foreign_key=True` (signed
by a key it never published), `typ="JWT"`, or any claim or header member overridden (None
removes it). `id_token(...)` mints OpenID Connect ID tokens for an app that signs users in,
and `id_token_verifier(client_id)` checks them:

    token = fake_issuer.id_token("alice", "my-app", nonce="n-0S6", access_token=access)
    claims = await fake_issuer.id_token_verifier("my-app").verify(token, nonce="n-0S6")
"""

import json
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

import httpx
import jwt

from jwtkit._clock import Clock, FakeClock
from jwtkit._id_token_verifier import IdTokenVerifier
from jwtkit._jwks_cache import JwksCache
from jwtkit._verifier import AccessTokenVerifier
from jwtkit.contract import (
    ACCESS_TOKEN_TYPE,
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    ID_TOKEN_TYPE,
    PrivateKey,
    b64url,
    generate_private_key,
    half_hash,
    public_jwk,
)

# Generating an RSA key takes tens of milliseconds: a test suite makes thousands of fake
# issuers. Keys are reused across instances by (issuer, algorithm, index), so two issuers
# never share a key (a token from one never verifies under the other), and a rotation gets
# a new one.
_KEYS: dict[tuple[str, str, int], PrivateKey] = {}
__all__ = ["FakeClock", "FakeIssuer", "sign"]

_FOREIGN = -1


def _key(issuer: str, algorithm: str, index: int) -> PrivateKey:
    if (issuer, algorithm, index) not in _KEYS:
        _KEYS[issuer, algorithm, index] = generate_private_key(algorithm)
    return _KEYS[issuer, algorithm, index]


class FakeIssuer:
    def __init__(
        self,
        issuer: str = "https://issuer.test",
        audience: str = "my-api",
        algorithm: str = DEFAULT_ALGORITHM,
        *,
        clock: Clock = time.time,
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"the verifier supports {', '.join(ALGORITHMS)}")
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.algorithm = algorithm
        self.clock = clock
        self.requests: Counter[str] = Counter()
        self.keys: dict[str, PrivateKey] = {}  # published, by kid
        self._rotations = 0
        self.signing_kid = self.rotate()
        self._foreign = _key(self.issuer, algorithm, _FOREIGN)  # signs foreign_key=True tokens

    def rotate(self) -> str:
        """A new signing key, published beside the old ones (which keep verifying)."""
        key = _key(self.issuer, self.algorithm, self._rotations)
        self._rotations += 1
        kid = str(public_jwk(key.public_key(), self.algorithm)["kid"])
        self.keys[kid] = key
        self.signing_kid = kid
        return kid

    def retire(self, kid: str) -> None:
        """Stops publishing a key: tokens it signed no longer verify."""
        del self.keys[kid]

    def token(
        self,
        subject: str = "alice",
        scopes: tuple[str, ...] | list[str] = ("profile",),
        expires_in: int = 900,
        *,
        expired: bool = False,
        audience: str | None = None,
        foreign_key: bool = False,
        typ: str = ACCESS_TOKEN_TYPE,
        client_id: str = "test-client",
        kid: str | None = None,
        header: Mapping[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """An access token for `subject`; the keyword presets, `header` and `claims` make bad
        ones. `kid` signs with an older published key instead of the current one."""
        now = int(self.clock())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience if audience is not None else self.audience,
            "exp": now - 120 if expired else now + expires_in,
            "iat": now - 1,
            "jti": uuid.uuid4().hex,
            "client_id": client_id,
            "scope": " ".join(scopes),
            "preferred_username": subject,
            **claims,
        }
        kid = kid or self.signing_kid
        key = self._foreign if foreign_key else self.keys[kid]
        jose = {"alg": self.algorithm, "typ": typ, "kid": kid, **(header or {})}
        return sign(jose, body, key, self.algorithm)

    def id_token(
        self,
        subject: str,
        client_id: str,
        /,
        *,
        nonce: str | None = None,
        auth_time: int | None = None,
        access_token: str | None = None,
        header: Mapping[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """An OpenID Connect ID token (Core §2) for `subject`, issued to `client_id`, typ JWT:
        `nonce` and `auth_time` only when given, `at_hash` of `access_token` when given.
        `header` and `claims` override any member (None removes it; positional `client_id`
        leaves a `client_id` claim to `claims`)."""
        now = int(self.clock())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": client_id,
            "exp": now + 3600,
            "iat": now - 1,
            "nonce": nonce,
            "auth_time": auth_time,
            "at_hash": None if access_token is None else half_hash(access_token, self.algorithm),
            **claims,
        }
        jose = {"alg": self.algorithm, "typ": ID_TOKEN_TYPE, "kid": self.signing_kid}
        return sign({**jose, **(header or {})}, body, self.keys[self.signing_kid], self.algorithm)

    def jwks(self) -> dict[str, Any]:
        keys = [public_jwk(key.public_key(), self.algorithm) for key in self.keys.values()]
        return {"keys": keys}

    def transport(self) -> httpx.MockTransport:
        """Discovery and JWKS, in process: give it to the verifier's httpx client."""
        return httpx.MockTransport(self.respond)

    def verifier(self, **kwargs: Any) -> AccessTokenVerifier:
        """An AccessTokenVerifier wired to this issuer (`audience`, `clock` and `algorithms` by
        default ours)."""
        options: dict[str, Any] = {
            "audience": self.audience,
            "clock": self.clock,
            "algorithms": [self.algorithm],
            **kwargs,
        }
        cache = JwksCache(self.issuer, transport=self.transport(), clock=options["clock"])
        return AccessTokenVerifier(cache, **options)

    def id_token_verifier(self, client_id: str, **kwargs: Any) -> IdTokenVerifier:
        """An IdTokenVerifier for `client_id`, wired to this issuer (`clock` and `algorithms`
        by default ours)."""
        options: dict[str, Any] = {"clock": self.clock, "algorithms": [self.algorithm], **kwargs}
        cache = JwksCache(self.issuer, transport=self.transport(), clock=options["clock"])
        return IdTokenVerifier(cache, client_id=client_id, **options)

    def document(self, path: str) -> dict[str, Any] | None:
        """The JSON document served at `path`: discovery, the JWKS, or None (404)."""
        if path == "/.well-known/oauth-authorization-server":
            return {"issuer": self.issuer, "jwks_uri": f"{self.issuer}/.well-known/jwks.json"}
        if path == "/.well-known/jwks.json":
            return self.jwks()
        return None

    def respond(self, request: httpx.Request) -> httpx.Response:
        """The answer to one request (counted in `requests` by path)."""
        self.requests[request.url.path] += 1
        body = self.document(request.url.path)
        if body is None:
            return httpx.Response(404)
        content = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Cache-Control": "max-age=300"}
        # A stream, as a real server sends: the verifier reads raw, bounded bytes.
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(content))


def sign(
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    key: PrivateKey,
    algorithm: str = DEFAULT_ALGORITHM,
) -> str:
    """A JWS with exactly this header and these claims (members set to None left out),
    signed with `algorithm` by `key` whatever the header says: for tokens no library would
    mint."""

    def segment(members: Mapping[str, Any]) -> str:
        present = {name: value for name, value in members.items() if value is not None}
        return b64url(json.dumps(present).encode())

    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = jwt.get_algorithm_by_name(algorithm).sign(signing_input.encode(), key)
    return f"{signing_input}.{b64url(signature)}"
