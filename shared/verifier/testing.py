"""A testing kit for apps protected by this verifier: an issuer that lives in the test.

    def test_me(fake_issuer):                       # the pytest plugin's fixture
        app = create_app(verifier=fake_issuer.verifier())
        with TestClient(app) as client:
            token = fake_issuer.token("alice", scopes=("profile",))
            assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).is_success

`FakeIssuer` serves RFC 8414 discovery and a JWKS through an httpx transport (no port, no
network), holds its own keys, and mints tokens that pass every rule the verifier checks, or
the usual bad ones on request: `expired=True`, `audience="other"`, `foreign_key=True` (signed
by a key it never published), `typ="JWT"`, or any claim overridden (None removes it).
"""

import json
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.access_token import ALGORITHM, TYPE
from shared.clock import Clock
from shared.jwk import rsa_public_jwk
from shared.verifier.jwks_cache import JwksCache
from shared.verifier.verifier import AccessTokenVerifier


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeIssuer:
    def __init__(
        self,
        issuer: str = "https://issuer.test",
        audience: str = "my-api",
        algorithm: str = ALGORITHM,
        *,
        clock: Clock = time.time,
    ) -> None:
        if algorithm != ALGORITHM:
            raise ValueError(f"the verifier accepts {ALGORITHM} tokens only")
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.algorithm = algorithm
        self.clock = clock
        self.requests: Counter[str] = Counter()
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._signing_kid = self.rotate()
        self._foreign = _new_key()  # signs foreign_key=True tokens; never published

    def rotate(self) -> str:
        """A new signing key, published beside the old ones (which keep verifying)."""
        key = _new_key()
        kid = str(rsa_public_jwk(key.public_key())["kid"])
        self._keys[kid] = key
        self._signing_kid = kid
        return kid

    def token(
        self,
        subject: str = "alice",
        scopes: tuple[str, ...] | list[str] = ("profile",),
        expires_in: int = 900,
        *,
        expired: bool = False,
        audience: str | None = None,
        foreign_key: bool = False,
        typ: str = TYPE,
        client_id: str = "test-client",
        **claims: Any,
    ) -> str:
        """An access token for `subject`; the keyword presets and `claims` make bad ones."""
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
        body = {name: value for name, value in body.items() if value is not None}
        key = self._foreign if foreign_key else self._keys[self._signing_kid]
        kid = self._signing_kid
        return jwt.encode(body, key, algorithm=self.algorithm, headers={"typ": typ, "kid": kid})

    def jwks(self) -> dict[str, Any]:
        return {"keys": [rsa_public_jwk(key.public_key()) for key in self._keys.values()]}

    def transport(self) -> httpx.MockTransport:
        """Discovery and JWKS, in process: give it to the verifier's httpx client."""
        return httpx.MockTransport(self._handle)

    def verifier(self, **kwargs: Any) -> AccessTokenVerifier:
        """An AccessTokenVerifier wired to this issuer (`audience`, `clock` by default ours)."""
        options: dict[str, Any] = {"audience": self.audience, "clock": self.clock, **kwargs}
        cache = JwksCache(self.issuer, transport=self.transport(), clock=options["clock"])
        return AccessTokenVerifier(cache, **options)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests[path] += 1
        if path == "/.well-known/oauth-authorization-server":
            body = {"issuer": self.issuer, "jwks_uri": f"{self.issuer}/.well-known/jwks.json"}
        elif path == "/.well-known/jwks.json":
            body = self.jwks()
        else:
            return httpx.Response(404)
        content = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Cache-Control": "max-age=300"}
        # A stream, as a real server sends: the verifier reads raw, bounded bytes.
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(content))
