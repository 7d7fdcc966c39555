"""Why a token is accepted or refused: the verifier's own rules run one by one, each recorded
as pass, fail (with the reason the verifier would give) or skipped, instead of stopping at
the first failure. The rules are the verifier's (`HEADER_RULES`, `CLAIM_RULES`, its issuer
choice, key lookup and signature check), never a second implementation."""

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import jwt

from jwtkit._claims import CLAIM_RULES, read_claims
from jwtkit._errors import InvalidToken, KeysUnavailable
from jwtkit._trusted_issuer import TrustedIssuer
from jwtkit._verifier import (
    HEADER_RULES,
    AccessTokenVerifier,
    check_signature,
    read_header,
)

Outcome = Literal["pass", "fail", "skipped"]


@dataclass(frozen=True, slots=True)
class Check:
    rule: str
    outcome: Outcome
    reason: str = ""


@dataclass
class Report:
    header: dict[str, Any] | None = None
    claims: dict[str, Any] | None = None
    key: jwt.PyJWK | None = None
    jwks_url: str | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(check.outcome != "fail" for check in self.checks)

    def record(self, rule: str, check: Callable[[], object]) -> bool:
        """Runs one rule; True when it passed."""
        try:
            check()
        except InvalidToken as refused:
            self.checks.append(Check(rule, "fail", refused.description))
            return False
        self.checks.append(Check(rule, "pass"))
        return True

    def skip(self, rule: str, reason: str) -> None:
        self.checks.append(Check(rule, "skipped", reason))


async def explain(
    verifier: AccessTokenVerifier, token: str, *, skip: Collection[str] = ()
) -> Report:
    """Every rule `verifier.verify` applies to `token`; `skip` names rules left unchecked."""
    report = Report()
    if not report.record("is a signed JWT", lambda: _structure(report, token, verifier)):
        return report
    if not report.record("claims are a JSON object", lambda: _claims(report, token)):
        return report
    assert report.header is not None and report.claims is not None
    header, claims = report.header, report.claims
    trusted: TrustedIssuer | None = None

    def pick() -> None:
        nonlocal trusted
        trusted = verifier.trusted_issuer(claims)

    report.record("iss is a trusted issuer", pick)
    algorithms = (trusted or verifier.primary).algorithms
    header_ok = True
    for _id, rule, header_rule in HEADER_RULES:
        header_ok &= report.record(rule, partial(header_rule, header, algorithms))
    if trusted is None or not header_ok:
        report.skip("kid is published by the issuer", "needs a trusted issuer and a good header")
        report.skip("signature verifies", "no key to check it with")
    else:
        await _key_and_signature(report, verifier, trusted, token, header["kid"])
    expected = verifier.expected(trusted or verifier.primary)
    for _id, rule, claim_rule in CLAIM_RULES:
        if rule in skip:
            report.skip(rule, "not asked for")
            continue
        try:
            report.record(rule, partial(claim_rule, claims, expected))
        except KeyError as missing:  # a required claim is absent: said by the first rule
            report.skip(rule, f"no {missing.args[0]} claim")
    return report


def _structure(report: Report, token: str, verifier: AccessTokenVerifier) -> None:
    if len(token) > verifier.max_token_bytes:
        raise InvalidToken("the token is too long")
    report.header = read_header(token)


def _claims(report: Report, token: str) -> None:
    report.claims = read_claims(token)


async def _key_and_signature(
    report: Report, verifier: AccessTokenVerifier, trusted: TrustedIssuer, token: str, kid: str
) -> None:
    rule = "kid is published by the issuer"
    try:
        report.key = await trusted.jwks.key(kid)
    except KeysUnavailable:
        error = trusted.jwks.status()["last_error"] or "no key set yet"
        report.checks.append(Check(rule, "fail", f"the issuer's keys are unavailable: {error}"))
    except InvalidToken as refused:
        report.checks.append(Check(rule, "fail", refused.description))
    else:
        report.checks.append(Check(rule, "pass"))
    report.jwks_url = trusted.jwks.jwks_url
    if report.key is None:
        report.skip("signature verifies", "no key to check it with")
        return
    key = report.key
    header = report.header or {}
    report.record("signature verifies", partial(check_signature, token, header, key))
