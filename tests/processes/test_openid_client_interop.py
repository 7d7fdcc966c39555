"""panva's openid-client 6 (npm), unmodified and at its strict defaults, signs a user in at a
real issuer process, for each signing algorithm: discovery, the code flow with PKCE S256, nonce
and state, ID token validation, userinfo, refresh, and RP-Initiated Logout back to the
registered post-logout target. The user's browser is httpx, driving our login form between the
library's steps (tests/processes/oidc/rp.mjs). Without node the test is skipped, unless
REQUIRE_NODE is set."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from jwtkit.contract import ALGORITHMS
from tests.issuer.sign_in import form_of, is_login_page
from tests.processes.oidc.provider import at_hash
from tests.processes.oidc.relying_party import RelyingParty, install
from tests.support import (
    ROOT,
    free_port,
    issuer_cli,
    issuer_process_env,
    serve,
    wait_until_ready,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CALLBACK = "http://127.0.0.1:9/callback"  # nothing listens there: the test reads the redirect
SIGNED_OUT = "http://127.0.0.1:9/signed-out"
CLAIMS = [
    "--email", "alice@example.com", "--email-verified",
    "--name", "Alice Liddell", "--given-name", "Alice", "--family-name", "Liddell",
    "--locale", "en-GB",
]  # fmt: skip


@pytest.fixture(scope="module")
def openid_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = install(tmp_path_factory.mktemp("openid-client"))
    if folder is None:
        pytest.skip("node and npm are not installed (REQUIRE_NODE makes this a failure)")
    return folder


def _add_user(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "issuer", "users", "add", "alice", "--password-stdin", *CLAIMS],
        env={**os.environ, **env},
        cwd=ROOT,
        input="alice-password\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def _add_client(env: dict[str, str]) -> str:
    """The relying party: confidential, client_secret_post (openid-client's default)."""
    added = issuer_cli(
        env, "clients", "add", "express-app", "--confidential",
        "--auth-method", "client_secret_post",
        "--grant", "authorization_code", "--grant", "refresh_token",
        "--scope", "openid", "--scope", "profile", "--scope", "email",
        "--redirect-uri", CALLBACK, "--post-logout-redirect-uri", SIGNED_OUT, "--json",
    )  # fmt: skip
    secret: str = json.loads(added)["client_secret"]
    return secret


@dataclass(frozen=True)
class Issuer:
    base: str
    algorithm: str
    secret: str  # the client's


@pytest.fixture(scope="module", params=ALGORITHMS)
def issuer(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Issuer]:
    """A real issuer process signing with the parameter's algorithm, with alice (her claims
    set by `users add`) and the client, for the module's tests of that algorithm."""
    algorithm: str = request.param
    folder = tmp_path_factory.mktemp(f"issuer-{algorithm}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = issuer_process_env(base, folder / "data", SIGNING_ALG=algorithm)
    issuer_cli(env, "db", "upgrade")  # the CLI works on an existing database only
    _add_user(env)
    secret = _add_client(env)
    log = folder / "issuer.log"
    with serve("issuer", port, env, log):
        wait_until_ready(f"{base}/readyz")
        yield Issuer(base, algorithm, secret)
    assert "Traceback" not in log.read_text()


@pytest.fixture
def rp(openid_client: Path, issuer: Issuer) -> RelyingParty:
    return RelyingParty(openid_client, issuer.base, "express-app", issuer.secret)


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def _sign_in(browser: httpx.Client, url: str) -> str:
    """The login page at the authorization URL, its form sent with alice's password: the
    callback URL the issuer redirects to."""
    page = browser.get(url)
    assert is_login_page(page), page.text
    signed_in = browser.post(
        page.url.copy_with(query=None),
        data={**form_of(page), "username": "alice", "password": "alice-password"},
    )
    assert 303 == signed_in.status_code, signed_in.text
    location: str = signed_in.headers["location"]
    assert location.startswith(f"{CALLBACK}?")
    return location


def _check_id_token(
    tokens: dict[str, Any], claims: dict[str, Any], base: str, algorithm: str
) -> None:
    """What openid-client leaves to the application: at_hash (Core §3.1.3.6, by Authlib's
    implementation) and the claims this issuer promises (the lead's decision 10)."""
    header = jwt.get_unverified_header(tokens["id_token"])
    assert (algorithm, "JWT") == (header["alg"], header["typ"])
    assert at_hash(tokens["access_token"], algorithm) == claims["at_hash"]
    assert (base, "express-app") == (claims["iss"], claims["aud"])
    assert ["pwd"] == claims["amr"]
    assert isinstance(claims["auth_time"], int) and claims["auth_time"] <= claims["iat"]
    assert claims["sid"]
    assert "azp" not in claims and "email" not in claims  # §5.4: those go to userinfo


def _signed_in(rp: RelyingParty, browser: httpx.Client, issuer: Issuer) -> dict[str, Any]:
    """openid-client's code flow, the user signing in with `browser` between its steps; the
    tokens and ID token claims it accepted, after our own checks of them."""
    request = rp.step("authorize", redirect_uri=CALLBACK, scope="openid profile email")
    callback = _sign_in(browser, request["url"])
    signed_in = rp.step("callback", callback_url=callback, **_checks(request))
    assert request["nonce"] == signed_in["claims"]["nonce"]
    _check_id_token(signed_in["tokens"], signed_in["claims"], issuer.base, issuer.algorithm)
    return {**signed_in, "url": request["url"]}


def test_openid_client_signs_in_reads_userinfo_and_refreshes(
    rp: RelyingParty, issuer: Issuer
) -> None:
    """Discovery, the code flow, userinfo and a refresh each pass openid-client's own checks;
    then what it returned is what it should be: the ID token's claims, userinfo's claims for
    `profile email`, and a new ID token for the same sign-in (Core §12.2)."""
    metadata = rp.step("discover")["metadata"]
    assert issuer.base == metadata["issuer"]
    assert issuer.algorithm == metadata["id_token_signing_alg_values_supported"][0]
    assert f"{issuer.base}/userinfo" == metadata["userinfo_endpoint"]
    with httpx.Client(timeout=10) as browser:
        signed_in = _signed_in(rp, browser, issuer)
    tokens, claims = signed_in["tokens"], signed_in["claims"]

    userinfo = rp.step("userinfo", access_token=tokens["access_token"], subject=claims["sub"])
    assert {
        "sub": claims["sub"],
        "preferred_username": "alice",
        "name": "Alice Liddell",
        "given_name": "Alice",
        "family_name": "Liddell",
        "locale": "en-GB",
        "email": "alice@example.com",
        "email_verified": True,
    } == {name: value for name, value in userinfo["userinfo"].items() if name != "updated_at"}
    assert isinstance(userinfo["userinfo"].get("updated_at", 0), int)

    refreshed = rp.step("refresh", refresh_token=tokens["refresh_token"])
    again = refreshed["claims"]
    assert tokens["refresh_token"] != refreshed["tokens"]["refresh_token"]
    same = ("sub", "aud", "auth_time", "sid")
    assert [claims[name] for name in same] == [again[name] for name in same]
    assert "nonce" not in again and again["iat"] >= claims["iat"]
    _check_id_token(refreshed["tokens"], again, issuer.base, issuer.algorithm)


def test_openid_client_logs_out_to_the_registered_target(rp: RelyingParty, issuer: Issuer) -> None:
    """buildEndSessionUrl with the ID token as hint, the registered post-logout target and a
    state: the browser following it is signed out at once (a valid hint: no question) and
    sent to the target with the state (RP-Initiated Logout 1.0 §2, §3)."""
    metadata = rp.step("discover")["metadata"]
    with httpx.Client(timeout=10) as browser:
        signed_in = _signed_in(rp, browser, issuer)
        end = rp.step(
            "end-session",
            id_token_hint=signed_in["tokens"]["id_token"],
            post_logout_redirect_uri=SIGNED_OUT,
            state="bye-1",
        )["url"]
        assert end.startswith(metadata["end_session_endpoint"])
        assert "express-app" == _query(end)["client_id"]  # openid-client adds it itself
        logged_out = browser.get(end)
        assert 303 == logged_out.status_code, logged_out.text
        target = logged_out.headers["location"]
        assert (SIGNED_OUT, {"state": "bye-1"}) == (target.split("?")[0], _query(target))
        assert is_login_page(browser.get(signed_in["url"]))  # the sign-in has ended


def _checks(request: dict[str, str]) -> dict[str, str]:
    return {name: request[name] for name in ("code_verifier", "nonce", "state")}
