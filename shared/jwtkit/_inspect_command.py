"""`python -m jwtkit inspect [TOKEN] [--issuer URL] [--audience A] [--jwks-url URL]`:
prints a token's header, its claims (times in ISO 8601 and relative to now), the key it
matched, and every rule with pass, FAIL or skip and the reason. Exit 0 when valid, 1 when not.

Without --issuer, the keys are fetched from the issuer the token itself names, and the
output says so: that shows whether the token is intact, not whether it should be trusted.
Without --audience, the aud rule is skipped (and said to be).
"""

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import httpx

from jwtkit._claims import read_claims
from jwtkit._clock import Clock, system_clock
from jwtkit._errors import InvalidToken
from jwtkit._inspector import Report, explain
from jwtkit._jwks_cache import JwksCache, JwksPolicy
from jwtkit._pipeline import read_header
from jwtkit._token_cache import VerifiedTokenCache
from jwtkit._trusted_issuer import ANY_AUDIENCE, TrustedIssuer
from jwtkit._verifier import AccessTokenVerifier

_TIME_CLAIMS = ("exp", "iat", "nbf", "auth_time")
_MARK = {"pass": "pass", "fail": "FAIL", "skipped": "skip"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("token", nargs="?", help="the token (read from stdin when omitted)")
    parser.add_argument("--issuer", help="the issuer to trust (default: the token's own iss)")
    parser.add_argument("--audience", help="this API's audience (default: not checked)")
    parser.add_argument("--jwks-url", help="the JWKS URL (default: from RFC 8414 discovery)")
    parser.add_argument("--leeway", type=float, default=30, help="clock skew, seconds")


def run(
    args: argparse.Namespace,
    *,
    out: TextIO = sys.stdout,
    stdin: TextIO = sys.stdin,
    clock: Clock = system_clock,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    token = (args.token or stdin.read()).strip()
    if token.lower().startswith("bearer "):
        token = token[len("bearer ") :].strip()
    issuer = args.issuer or _claimed_issuer(token)
    if issuer is None:
        print("the token names no http(s) issuer: pass --issuer", file=out)
        return 1
    if args.issuer is None:
        print(f"note: keys come from the token's own iss ({issuer}); pass --issuer", file=out)
    jwks = JwksCache(
        issuer.rstrip("/"),
        jwks_url=args.jwks_url,
        transport=transport,
        clock=clock,
        policy=JwksPolicy(fetch_timeout=5),
    )
    # Without --audience, the inspector reports the aud rule as not asked for.
    trusted = TrustedIssuer(jwks, args.audience or ANY_AUDIENCE)
    verifier = AccessTokenVerifier(
        issuers=[trusted], leeway=args.leeway, clock=clock, cache=VerifiedTokenCache(0)
    )
    report = asyncio.run(_explained(verifier, token))
    render(report, out, now=clock())
    return 0 if report.valid else 1


async def _explained(verifier: AccessTokenVerifier, token: str) -> Report:
    async with verifier:
        return await explain(verifier, token)


def _claimed_issuer(token: str) -> str | None:
    try:
        read_header(token)
        iss = read_claims(token).get("iss")
    except InvalidToken:
        return None
    return iss if isinstance(iss, str) and iss.startswith(("http://", "https://")) else None


def render(report: Report, out: TextIO, *, now: float) -> None:
    if report.header is not None:
        print("Header", file=out)
        for name, value in report.header.items():
            print(f"  {name}: {json.dumps(value)}", file=out)
    if report.claims is not None:
        print("Claims", file=out)
        for name, value in report.claims.items():
            print(f"  {name}: {_claim(name, value, now)}", file=out)
    if report.key is not None:
        size = getattr(report.key.key, "key_size", None)
        bits = f", {size} bits" if size else ""
        print("Key", file=out)
        print(
            f"  {report.key.key_id} ({report.key.key_type}{bits}, {report.key.algorithm_name})"
            f" from {report.jwks_url}",
            file=out,
        )
    print("Checks", file=out)
    for check in report.checks:
        reason = f": {check.reason}" if check.reason else ""
        print(f"  {_MARK[check.outcome]}  {check.rule}{reason}", file=out)
    failed = sum(check.outcome == "fail" for check in report.checks)
    verdict = "valid" if report.valid else f"invalid ({failed} failed)"
    print(f"Result: {verdict}", file=out)


def _claim(name: str, value: Any, now: float) -> str:
    shown = json.dumps(value)
    if name not in _TIME_CLAIMS or isinstance(value, bool) or not isinstance(value, int | float):
        return shown
    try:
        moment = datetime.fromtimestamp(value, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return f"{shown} (not a usable time)"
    return f"{shown} = {moment} ({_relative(value - now)})"


def _relative(seconds: float) -> str:
    amount = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if amount >= size:
            text = f"{amount / size:.0f} {unit}"
            break
    else:
        text = f"{amount:.0f} s"
    return f"in {text}" if seconds > 0 else f"{text} ago"
