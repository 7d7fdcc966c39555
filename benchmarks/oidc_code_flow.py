"""Sign-ins per second through the code flow, with `openid` and without, side by side in one
run against one issuer process: 4 threads, each with its own connection and its own sign-in
cookie, so that argon2 runs once per thread (in the warm-up) and never in the loop.

One sign-in is what an app does for a user already signed in at the issuer: GET /authorize
(the cookie gives a code at once), then POST /token with the code and its PKCE verifier.
With `openid` the exchange also signs an ID token (a second signature: about 1 ms with RSA),
the authorization request records which apps the sign-in session signed in to (back-channel
logout), and the code carries the nonce, auth_time and sid. No goal: the figures go in the
benchmarks page.
"""

import base64
import hashlib
import html
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from benchmarks import servers
from benchmarks.password_grant import CONCURRENCY, _in_threads

USER = {"username": "bench", "password": "bench-password"}  # servers.issuer's demo user
CLIENT = "bench-web"
REDIRECT = "http://127.0.0.1:9/callback"  # never called: the benchmark reads the Location
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def register_web_app(data: Path) -> None:
    """The public code-flow client `bench-web`, registered through the CLI in a database made
    first (the CLI makes none but with `db upgrade`)."""
    env = {**os.environ, "ISSUER_DATA_DIR": str(data)}
    commands = [
        ["db", "upgrade"],
        ["clients", "add", CLIENT, "--public", "--grant", "authorization_code",
         "--redirect-uri", REDIRECT, "--scope", "openid", "--scope", "profile"],
    ]  # fmt: skip
    for command in commands:
        subprocess.run(
            [sys.executable, "-m", "issuer", *command],
            env=env, cwd=servers.ROOT, capture_output=True, check=True, timeout=60,
        )  # fmt: skip


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _query(scope: str, challenge: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def sign_in_once(http: httpx.Client) -> None:
    """The login form, once: the client then holds the sign-in cookie (argon2 ran here)."""
    _verifier, challenge = _pkce()
    page = http.get("/authorize", params=_query("profile", challenge))
    assert page.status_code == 200, page.text
    form = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
    answer = http.post("/authorize", data={**form, **USER})
    assert answer.status_code == 303, answer.text


def code_flow(http: httpx.Client, scope: str) -> None:
    """One sign-in of an app by a user already signed in at the issuer."""
    verifier, challenge = _pkce()
    answer = http.get("/authorize", params=_query(scope, challenge))
    assert answer.status_code == 303, answer.text
    returned = parse_qs(urlsplit(answer.headers["location"]).query)
    assert "code" in returned, returned
    tokens = http.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": returned["code"][0],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": CLIENT,
        },
    )
    assert tokens.status_code == 200, tokens.text
    assert ("id_token" in tokens.json()) == ("openid" in scope.split()), tokens.text


def _rate(signed_in: list[httpx.Client], seconds: float, scope: str) -> float:
    """Code flows per second, each thread taking one of the signed-in clients."""
    free = list(signed_in)
    lock = threading.Lock()
    local = threading.local()

    def one() -> None:
        if not hasattr(local, "http"):
            with lock:
                local.http = free.pop()
        code_flow(local.http, scope)

    return _in_threads(one, seconds)


def run(seconds: float = 8) -> tuple[str, float, float]:
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        register_web_app(data)
        with servers.issuer(data) as (base, _pid):
            signed_in = [httpx.Client(base_url=base, timeout=30) for _ in range(CONCURRENCY)]
            try:
                for http in signed_in:
                    sign_in_once(http)  # argon2, outside every timed loop
                _rate(signed_in, 1, "profile")  # warm up both code paths
                _rate(signed_in, 1, "openid profile")
                plain = _rate(signed_in, seconds, "profile")
                openid = _rate(signed_in, seconds, "openid profile")
            finally:
                for http in signed_in:
                    http.close()
    ratio = openid / plain
    line = (
        f"code flow sign-ins: openid {openid:,.0f}/s vs plain {plain:,.0f}/s "
        f"({CONCURRENCY} threads each, argon2 excluded: one sign-in cookie per thread) -> "
        f"openid is {ratio:.2f}x of plain ({1000 / openid - 1000 / plain:+.2f} ms of "
        f"{CONCURRENCY}-thread time per sign-in; no goal)"
    )
    return line, ratio, 0.0


if __name__ == "__main__":
    print(run()[0])
