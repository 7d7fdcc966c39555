"""`python -m jwtkit inspect`: a valid token, each rejection class, the token from
stdin, and an unreachable issuer (a real process against a closed loopback port)."""

import io
import subprocess
import sys
from collections.abc import Callable

import pytest

from jwtkit.__main__ import main
from jwtkit.testing import FakeClock, FakeIssuer
from tests.basics import ROOT, free_port

ISSUER = "https://issuer.test"


@pytest.fixture
def issuer(clock: FakeClock) -> FakeIssuer:
    return FakeIssuer(ISSUER, audience="my-api", clock=clock)


def inspect(issuer: FakeIssuer, clock: FakeClock, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["inspect", *argv], out=out, clock=clock, transport=issuer.transport())
    return code, out.getvalue()


def test_valid_token_shows_header_claims_key_and_every_rule(
    issuer: FakeIssuer, clock: FakeClock
) -> None:
    token = issuer.token("alice", expires_in=900)
    code, report = inspect(issuer, clock, token, "--issuer", ISSUER, "--audience", "my-api")
    assert 0 == code, report
    assert '  alg: "RS256"' in report
    assert '  sub: "alice"' in report
    exp = int(clock()) + 900
    assert f"  exp: {exp} = 2027-01-15T08:15:00Z (in 15 min)" in report
    key = f"  {issuer.signing_kid} (RSA, 2048 bits, RS256) from {ISSUER}/.well-known/jwks.json"
    assert key in report
    assert "  pass  signature verifies" in report
    assert "  pass  aud names this API" in report
    assert "FAIL" not in report and "skip" not in report
    assert report.endswith("Result: valid\n")


TokenMaker = Callable[[FakeIssuer], str]

REJECTIONS: list[tuple[str, TokenMaker, str]] = [
    ("expired", lambda i: i.token(expired=True), "FAIL  exp has not passed: the token has expired"),
    ("audience", lambda i: i.token(audience="other"), "FAIL  aud names this API"),
    ("foreign key", lambda i: i.token(foreign_key=True), "FAIL  signature verifies"),
    ("typ", lambda i: i.token(typ="JWT"), "FAIL  typ is at+jwt: the token's typ is not at+jwt"),
    ("alg none", lambda i: i.token(header={"alg": "none"}), "FAIL  alg is allowed"),
    ("unknown kid", lambda i: i.token(header={"kid": "nope"}), "FAIL  kid is published"),
    ("other issuer", lambda i: i.token(iss="https://evil.test"), "FAIL  iss is a trusted issuer"),
    ("no jti", lambda i: i.token(jti=None), "FAIL  required claims are present"),
    ("future iat", lambda i: i.token(iat=int(i.clock()) + 3600), "FAIL  iat is not in the"),
    ("not a jwt", lambda _i: "not.a-jwt", "FAIL  is a signed JWT"),
]


@pytest.mark.parametrize(
    ("make", "failure"), [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS]
)
def test_each_rejection_class_is_named(
    issuer: FakeIssuer, clock: FakeClock, make: TokenMaker, failure: str
) -> None:
    code, report = inspect(issuer, clock, make(issuer), "--issuer", ISSUER, "--audience", "my-api")
    assert 1 == code
    assert failure in report, report
    assert "Result: invalid" in report


def test_a_bad_header_skips_the_key_and_signature_but_still_checks_the_claims(
    issuer: FakeIssuer, clock: FakeClock
) -> None:
    token = issuer.token(typ="JWT", expired=True)
    _code, report = inspect(issuer, clock, token, "--issuer", ISSUER, "--audience", "my-api")
    assert "  skip  signature verifies: no key to check it with" in report
    assert "FAIL  exp has not passed" in report
    assert 0 == issuer.requests["/.well-known/jwks.json"] - 1  # only the start-up fetch


def test_without_issuer_and_audience_it_says_what_it_did_not_check(
    issuer: FakeIssuer, clock: FakeClock
) -> None:
    code, report = inspect(issuer, clock, "Bearer " + issuer.token())
    assert 0 == code, report
    assert f"keys come from the token's own iss ({ISSUER})" in report
    assert "  skip  aud names this API: not asked for" in report


def test_unreachable_issuer_with_the_token_on_stdin(issuer: FakeIssuer) -> None:
    """A real process, a loopback port nobody listens on: exit 1, the reason named."""
    unreachable = f"http://127.0.0.1:{free_port()}"
    token = FakeIssuer(unreachable, audience="my-api").token()
    result = subprocess.run(
        [sys.executable, "-m", "jwtkit", "inspect", "--audience", "my-api"],
        input=token,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert 1 == result.returncode, result.stdout + result.stderr
    assert (
        "FAIL  kid is published by the issuer: the issuer's keys are unavailable" in result.stdout
    )
    assert "  pass  exp has not passed" in result.stdout
    assert "" == result.stderr
