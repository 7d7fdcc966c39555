"""Why a token is accepted or refused: the verifier's own steps (jwtkit._pipeline.STEPS) run
one by one, each recorded as pass, fail (with the reason the verifier would give) or skipped,
instead of stopping at the first failure. Never a second implementation of a rule."""

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import jwt

from jwtkit._errors import InvalidToken, KeysUnavailable
from jwtkit._jwks_cache import JwksCache
from jwtkit._key_source import KeySource
from jwtkit._pipeline import STEPS, Step, Verification
from jwtkit._verifier import AccessTokenVerifier

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
    """Every step `verifier.verify` takes on `token`; `skip` names rules left unchecked."""
    report = Report()
    v = Verification(verifier, token)
    issuer_ok = header_ok = True
    for step in STEPS:
        run = partial(step.check, v)
        if step.kind in ("jws", "payload"):
            if not report.record(step.what, run):
                return report  # nothing after it can be judged
            report.header = v.header
            report.claims = v.claims if step.kind == "payload" else None
        elif step.kind == "issuer":
            issuer_ok = report.record(step.what, run)
        elif step.kind == "header":
            header_ok &= report.record(step.what, run)
        elif step.kind == "key":
            if issuer_ok and header_ok:
                await _key(report, v, step)
            else:
                report.skip(step.what, "needs a trusted issuer and a good header")
        elif step.kind == "signature":
            if report.key is None:
                report.skip(step.what, "no key to check it with")
            else:
                report.record(step.what, run)
        else:
            _claim(report, step, run, skip, any_audience=v.trusted.any_audience)
    return report


def _claim(
    report: Report,
    step: Step,
    run: Callable[[], None],
    skip: Collection[str],
    *,
    any_audience: bool,
) -> None:
    if step.what in skip or (step.rule == "aud" and any_audience):
        report.skip(step.what, "not asked for")
        return
    try:
        report.record(step.what, run)
    except KeyError as missing:  # a required claim is absent: said by the first rule
        report.skip(step.what, f"no {missing.args[0]} claim")


async def _key(report: Report, v: Verification, step: Step) -> None:
    keys = v.trusted.keys
    try:
        report.key = v.key = await keys.key(v.kid)
    except KeysUnavailable:
        error = _last_error(keys) or "no key set yet"
        report.checks.append(
            Check(step.what, "fail", f"the issuer's keys are unavailable: {error}")
        )
    except InvalidToken as refused:
        report.checks.append(Check(step.what, "fail", refused.description))
    else:
        report.checks.append(Check(step.what, "pass"))
    report.jwks_url = keys.jwks_url if isinstance(keys, JwksCache) else None


def _last_error(keys: KeySource) -> str | None:
    return keys.status()["last_error"] if isinstance(keys, JwksCache) else None
