"""The consent page (OpenID Connect Core §3.1.2.4) in a real Chromium (Debian's `chromium`,
driven by Playwright through `executable_path`; nothing is downloaded), against a real issuer
process on a loopback port, for a client registered with `clients add --consent required`:

- after the login page, the consent page lists the client, the scopes and their claims;
- Allow sends the browser back with a code that the token endpoint exchanges;
- the next sign-in of that app asks nothing (remembered), prompt=consent asks again, and Deny
  sends the browser back with access_denied;
- no request to any host but the issuer (the browser's request log).

Screenshots go to tests/processes/browser/screenshots/ (git-ignored; CI keeps them as artifacts).
"""

import base64
import hashlib
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.support import (
    ROOT,
    free_port,
    issuer_cli,
    issuer_process_env,
    serve,
    wait_until_ready,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "tests" / "processes" / "browser" / "screenshots"
CLIENT = "third-party-app"

if not Path(CHROMIUM).exists():
    if os.environ.get("REQUIRE_BROWSER"):
        raise RuntimeError("REQUIRE_BROWSER is set and Debian's chromium is not installed")
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

from playwright.sync_api import Browser, Page, Request, sync_playwright  # noqa: E402


@dataclass
class Issuer:
    url: str
    callback: str
    requests: list[str] = field(default_factory=list)

    def allowed(self, url: str) -> bool:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        callback = "{0.scheme}://{0.netloc}".format(urlsplit(self.callback))
        return url.startswith(("data:", "blob:")) or origin in (self.url, callback)


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issuer]:
    tmp = tmp_path_factory.mktemp("consent")
    issuer_port, app_port = free_port(), free_port()
    running = Issuer(f"http://127.0.0.1:{issuer_port}", f"http://127.0.0.1:{app_port}/callback")
    env = issuer_process_env(running.url, tmp / "data", DEMO_USERS="test:test")
    issuer_cli(env, "db", "upgrade")  # the CLI works on an existing database only
    issuer_cli(
        env, "clients", "add", CLIENT, "--public", "--grant", "authorization_code",
        "--scope", "openid", "--scope", "profile", "--scope", "email",
        "--redirect-uri", running.callback, "--consent", "required",
    )  # fmt: skip
    log = tmp / "issuer.log"
    with serve("issuer", issuer_port, env, log):
        wait_until_ready(f"{running.url}/readyz")
        yield running
    assert "Traceback" not in log.read_text()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, issuer: Issuer) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()

    def record(request: Request) -> None:
        issuer.requests.append(request.url)

    context.on("request", record)
    # The app behind the callback: Playwright answers for it (nothing listens there).
    context.route(
        f"{issuer.callback}*",
        lambda route: route.fulfill(status=200, body="back at the app", content_type="text/plain"),
    )
    yield opened
    context.close()
    strays = [url for url in issuer.requests if not issuer.allowed(url)]
    assert [] == strays  # nothing but the issuer (and the app's own callback)


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def _authorize_url(issuer: Issuer, challenge: str, **extra: str) -> str:
    query = {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": issuer.callback,
        "scope": "openid profile email",
        "state": "st-1",
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{issuer.url}/authorize?{urlencode(query)}"


def _authorize(page: Page, issuer: Issuer, challenge: str, **extra: str) -> None:
    page.goto(_authorize_url(issuer, challenge, **extra))


def _back_at_the_app(page: Page, issuer: Issuer) -> dict[str, str]:
    page.wait_for_url(f"{issuer.callback}?*")
    return {name: values[0] for name, values in parse_qs(urlsplit(page.url).query).items()}


def test_consent_page_allow_remembered_then_deny(page: Page, issuer: Issuer) -> None:
    verifier, challenge = _pkce()
    _authorize(page, issuer, challenge, login_hint="test")
    assert "test" == page.input_value("#username")  # login_hint pre-fills it
    page.fill("#password", "test")
    page.click("button[type=submit]")
    assert f"Allow {CLIENT}?" == page.inner_text("h1")
    scopes = page.inner_text("ul.scopes")
    assert "openid: sub" in scopes and "email: email, email_verified" in scopes
    assert "profile: name" in scopes
    _shot(page, "consent-page")
    page.click("button[value=allow]")
    answer = _back_at_the_app(page, issuer)
    assert ("st-1", issuer.url) == (answer["state"], answer["iss"])
    token = httpx.post(
        f"{issuer.url}/token",
        data={
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": issuer.callback,
            "code_verifier": verifier,
            "client_id": CLIENT,
        },
    )
    assert 200 == token.status_code, token.text
    # Remembered: the app's next sign-in comes straight back with a code. (Read with the
    # browser's cookies but without following the redirect: Playwright's route does not
    # answer for a navigation's redirect; test_sign_in.py reads a remembered sign-in so too.)
    again = page.request.get(_authorize_url(issuer, _pkce()[1]), max_redirects=0)
    assert 303 == again.status and "code=" in again.headers["location"]
    # prompt=consent asks again; Deny sends access_denied.
    _authorize(page, issuer, _pkce()[1], prompt="consent")
    page.wait_for_selector("button[value=deny]")
    page.click("button[value=deny]")
    denied = _back_at_the_app(page, issuer)
    assert ("access_denied", "st-1") == (denied["error"], denied["state"])
