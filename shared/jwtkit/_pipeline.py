"""The verification steps, in the one order that `AccessTokenVerifier` (and so `BearerAuth`)
runs them, stopping at the first refusal, and that the inspector runs them, recording each.

    is a signed JWT             length, the caller's syntax screen, the JOSE header
    claims are a JSON object    the payload, not yet authenticated
    iss is a trusted issuer     picks the issuer's keys and rules, before any key work
    header rules                alg, typ, crit, kid
    kid is published            the key, from the issuer's key source only
    signature verifies          under the key's own algorithm
    claim rules                 required, iss, aud, exp, nbf, iat, claim types

A `Pipeline` is that order with one kind of token's header and claim rules: `ACCESS_TOKEN`
(HEADER_RULES, CLAIM_RULES), and the ID token's (jwtkit._id_token_claims), which share every
step but typ and the claims.
"""

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import jwt

from jwtkit._claims import CLAIM_RULES, ClaimRule, Expected, read_claims
from jwtkit._errors import InvalidToken
from jwtkit._key_source import unknown_key
from jwtkit._signatures import signature_verifies
from jwtkit._trusted_issuer import TrustedIssuer
from jwtkit.contract import ACCEPTED_ACCESS_TOKEN_TYPES

_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_NOT_READ: dict[str, Any] = {}  # never written to: a field's value before its step runs


def read_header(token: str) -> dict[str, Any]:
    """The JOSE header, checked before any key or signature work."""
    parts = token.split(".")
    # An empty signature part still parses, so that `alg: none` is refused by the alg rule.
    if (
        len(parts) != 3
        or not all(_B64URL.match(part) for part in parts[:2])
        or (parts[2] and not _B64URL.match(parts[2]))
    ):
        raise InvalidToken("the token is not a signed JWT")
    try:
        raw = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: "[[[[…" nesting
        raise InvalidToken("the token header is not valid JSON") from None
    if not isinstance(header, dict):
        raise InvalidToken("the token header is not a JSON object")
    return header


def _check_alg(header: dict[str, Any], algorithms: frozenset[str]) -> None:
    # RFC 8725 §3.1: only algorithms the configuration allows (a list or an object as alg
    # is one of those not allowed, not an unhashable value for the set).
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        raise InvalidToken("the token's algorithm is not allowed")


def _check_typ(header: dict[str, Any], _algorithms: frozenset[str]) -> None:
    # RFC 9068 §4 and RFC 8725 §3.11: explicit typing keeps other JWTs from passing as tokens.
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ACCEPTED_ACCESS_TOKEN_TYPES:
        raise InvalidToken("the token's typ is not at+jwt")


def _check_crit(header: dict[str, Any], _algorithms: frozenset[str]) -> None:
    # RFC 7515 §4.1.11: a crit extension we do not understand makes the JWS invalid;
    # we understand none (b64 included).
    if "crit" in header or "b64" in header:
        raise InvalidToken("the token uses critical header extensions")


def _check_kid(header: dict[str, Any], _algorithms: frozenset[str]) -> None:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 256:
        raise InvalidToken("the token has no usable kid")


HeaderRule = Callable[[dict[str, Any], frozenset[str]], None]

# (id, what it checks, the check): the id labels metrics and InvalidToken.rule.
HEADER_RULES: tuple[tuple[str, str, HeaderRule], ...] = (
    ("alg", "alg is allowed", _check_alg),
    ("typ", "typ is at+jwt", _check_typ),
    ("crit", "no critical extensions", _check_crit),
    ("kid", "kid names a key", _check_kid),
)


def check_signature(token: str, header: dict[str, Any], key: jwt.PyJWK) -> None:
    """The token's algorithm is its key's, and the signature verifies."""
    # RFC 8725 §3.1: an allowed alg is not enough; it must be the one this key is for (an
    # RS256 header on an EC key, or an HS256 header on any public key, never verifies).
    if header.get("alg") != key.algorithm_name:
        raise InvalidToken("the token's algorithm is not its key's", "alg")
    signing_input, _, signature = token.rpartition(".")
    if not signature_verifies(key, signing_input.encode("ascii"), signature):
        raise InvalidToken("the token's signature does not verify", "signature")


class Judge(Protocol):
    """What the steps ask of the verifier that runs them."""

    @property
    def max_token_bytes(self) -> int: ...

    @property
    def primary(self) -> TrustedIssuer: ...

    def trusted_issuer(self, claims: dict[str, Any]) -> TrustedIssuer: ...

    def expected(self, trusted: TrustedIssuer, now: float | None = None) -> Expected: ...


Expect = Callable[[TrustedIssuer, float | None], Expected]


class Verification:
    """One token on its way through the steps: what each step has found so far. `expect`
    says what its claims must say (default: the verifier's `expected`); a call with
    expectations of its own (an ID token's nonce) passes them there."""

    __slots__ = (
        "_expect",
        "_expected",
        "claims",
        "header",
        "key",
        "now",
        "screen",
        "token",
        "trusted",
        "verifier",
    )

    def __init__(
        self,
        verifier: Judge,
        token: str,
        screen: Callable[[str], None] | None = None,
        now: float | None = None,
        expect: Expect | None = None,
    ) -> None:
        self.verifier = verifier
        self.token = token
        self.screen = screen  # BearerAuth's RFC 6750 syntax check, once the length is known
        self.now = now  # None: the verifier's clock, read when the claims are judged
        self.header = _NOT_READ
        self.claims = _NOT_READ
        # Until `iss` picks one, the first issuer's rules (what the inspector judges by when
        # the token names no trusted issuer).
        self.trusted: TrustedIssuer = verifier.primary
        self.key: jwt.PyJWK | None = None
        self._expect = verifier.expected if expect is None else expect
        self._expected: Expected | None = None

    @property
    def kid(self) -> str:
        kid: str = self.header["kid"]
        return kid

    @property
    def expected(self) -> Expected:
        """What the claims must say: taken once, when the first claim rule runs, so that the
        token is judged at one instant (after any key fetch)."""
        expected = self._expected
        if expected is None:
            expected = self._expected = self._expect(self.trusted, self.now)
        return expected


Kind = Literal["jws", "payload", "issuer", "header", "key", "signature", "claim"]


@dataclass(frozen=True, slots=True)
class Step:
    kind: Kind
    what: str  # as the inspector reports it
    check: Callable[[Verification], None]
    rule: str | None = None  # tags InvalidToken.rule; None: the step's error names its own


def _signed_jwt(v: Verification) -> None:
    # Before the token is scanned at all, however it is built.
    if len(v.token) > v.verifier.max_token_bytes:
        raise InvalidToken("the token is too long")
    if v.screen is not None:
        v.screen(v.token)
    v.header = read_header(v.token)


def _payload(v: Verification) -> None:
    v.claims = read_claims(v.token)


def _issuer(v: Verification) -> None:
    v.trusted = v.verifier.trusted_issuer(v.claims)


def _header_step(rule_id: str, what: str, rule: HeaderRule) -> Step:
    return Step("header", what, lambda v: rule(v.header, v.trusted.algorithms), rule_id)


def _key_at_hand(v: Verification) -> None:
    v.key = v.trusted.keys.key_at_hand(v.kid)
    if v.key is None:
        raise unknown_key()


def _signature(v: Verification) -> None:
    key = v.key
    assert key is not None, "the key step comes first"
    check_signature(v.token, v.header, key)


def _claims_step(rule_id: str, what: str, rule: ClaimRule) -> Step:
    return Step("claim", what, lambda v: rule(v.claims, v.expected), rule_id)


def claim_steps(rules: Sequence[tuple[str, str, ClaimRule]]) -> tuple[Step, ...]:
    """A claim step for each (id, what, rule): the rule judges the claims against `expected`."""
    return tuple(_claims_step(*rule) for rule in rules)


# Awaited from the key source by `run`; taken at hand, never fetched, by `run_at_hand`.
KEY = Step("key", "kid is published by the issuer", _key_at_hand)


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Every step for one kind of token: those before the key, the key, those after it."""

    before_key: tuple[Step, ...]
    after_key: tuple[Step, ...]

    @property
    def steps(self) -> tuple[Step, ...]:
        return (*self.before_key, KEY, *self.after_key)


def pipeline(
    header_rules: Sequence[tuple[str, str, HeaderRule]], claims: Sequence[Step]
) -> Pipeline:
    """The shared order, with one kind of token's header rules and claim steps."""
    before_key = (
        Step("jws", "is a signed JWT", _signed_jwt),
        Step("payload", "claims are a JSON object", _payload),
        Step("issuer", "iss is a trusted issuer", _issuer),
        *(_header_step(*rule) for rule in header_rules),
    )
    return Pipeline(before_key, (Step("signature", "signature verifies", _signature), *claims))


ACCESS_TOKEN = pipeline(HEADER_RULES, claim_steps(CLAIM_RULES))
STEPS: tuple[Step, ...] = ACCESS_TOKEN.steps


def apply(steps: Sequence[Step], v: Verification) -> None:
    """Runs `steps` in order; the first refusal is raised, tagged with its step's rule."""
    for step in steps:
        try:
            step.check(v)
        except InvalidToken as refused:
            if step.rule is not None:
                refused.rule = step.rule
            raise


async def run(v: Verification, steps: Pipeline = ACCESS_TOKEN) -> None:
    """Every step; the key comes from the issuer's source, which may fetch it."""
    apply(steps.before_key, v)
    v.key = await v.trusted.keys.key(v.kid)
    apply(steps.after_key, v)


def run_at_hand(v: Verification, steps: Pipeline = ACCESS_TOKEN) -> None:
    """Every step, synchronously: a key the source does not hold now is an unknown key."""
    apply(steps.before_key, v)
    KEY.check(v)
    apply(steps.after_key, v)
