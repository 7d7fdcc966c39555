"""Browser sign-in in a real Chromium (Debian's `chromium`, driven by Playwright through
`executable_path`; nothing is downloaded), against real issuer and resource API processes on
loopback ports:

- the authorization code flow with PKCE through the login page;
- the resource API's /docs signing in with that flow, then "Try it out" on /users/me;
- the issuer's /docs "Try it out" on POST /token with only a username and password typed;
- a wrong password, a tampered code or code_verifier;
- /logout: it asks first (GET signs nobody out), and its form's button signs out;
- no request to any host but the services (the browser's request log).

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

if not Path(CHROMIUM).exists():
    if os.environ.get("REQUIRE_BROWSER"):
        raise RuntimeError("REQUIRE_BROWSER is set and Debian's chromium is not installed")
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

from playwright.sync_api import Browser, Page, Request, sync_playwright  # noqa: E402


@dataclass
class Services:
    issuer: str
    api: str
    callback: str
    requests: list[str] = field(default_factory=list)

    def allowed(self, url: str) -> bool:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        return url.startswith(("data:", "blob:")) or origin in (
            self.issuer,
            self.api,
            "{0.scheme}://{0.netloc}".format(urlsplit(self.callback)),
        )


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    tmp = tmp_path_factory.mktemp("browser")
    issuer_port, api_port, app_port = free_port(), free_port(), free_port()
    running = Services(
        issuer=f"http://127.0.0.1:{issuer_port}",
        api=f"http://127.0.0.1:{api_port}",
        callback=f"http://127.0.0.1:{app_port}/callback",
    )
    env = issuer_process_env(
        running.issuer,
        tmp / "data",
        DEMO_USERS="test:test",
        # The resource API's /docs exchanges its code at /token from the browser.
        CORS_ORIGINS=running.api,
    )
    code_flow = [
            "--public", "--grant", "authorization_code", "--grant", "refresh_token",
        "--scope", "profile",
    ]  # fmt: skip
    docs_redirect = f"{running.api}/docs/oauth2-redirect"
    issuer_cli(env, "db", "upgrade")  # the CLI works on an existing database only
    issuer_cli(
        env, "clients", "add", "resource-api-docs", *code_flow, "--redirect-uri", docs_redirect
    )
    issuer_cli(env, "clients", "add", "browser-app", *code_flow, "--redirect-uri", running.callback)
    log = tmp / "services.log"
    with serve("issuer", issuer_port, env, log):
        wait_until_ready(f"{running.issuer}/readyz")
        api_env = {"RESOURCE_API_ISSUER_URL": running.issuer}
        with serve("resource_api", api_port, api_env, log):
            wait_until_ready(f"{running.api}/readyz")
            yield running
    assert "Traceback" not in log.read_text()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, services: Services) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()

    def record(request: Request) -> None:
        services.requests.append(request.url)

    context.on("request", record)
    # The app behind the callback: Playwright answers for it (nothing listens there).
    context.route(
        f"{services.callback}*",
        lambda route: route.fulfill(status=200, body="signed in", content_type="text/plain"),
    )
    yield opened
    context.close()
    strays = [url for url in services.requests if not services.allowed(url)]
    assert [] == strays  # nothing but the services (and the app's own callback)


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def _authorize_url(services: Services, state: str, challenge: str) -> str:
    query = {
        "response_type": "code",
        "client_id": "browser-app",
        "redirect_uri": services.callback,
        "scope": "profile",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{services.issuer}/authorize?{urlencode(query)}"


def _authorize(page: Page, services: Services, state: str, challenge: str) -> None:
    page.goto(_authorize_url(services, state, challenge))


def _exchange(services: Services, code: str, verifier: str) -> httpx.Response:
    return httpx.post(
        f"{services.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": services.callback,
            "code_verifier": verifier,
            "client_id": "browser-app",
        },
    )


def test_full_sign_in_with_pkce_then_users_me(page: Page, services: Services) -> None:
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(16)
    _authorize(page, services, state, challenge)
    _shot(page, "login-page")
    page.fill("#username", "test")
    page.fill("#password", "test")
    page.click("button[type=submit]")
    page.wait_for_url(f"{services.callback}?*")
    answer = {name: values[0] for name, values in parse_qs(urlsplit(page.url).query).items()}
    assert (state, services.issuer) == (answer["state"], answer["iss"])
    # A tampered code or code_verifier gets nothing (and does not burn the real code).
    assert "invalid_grant" == _exchange(services, answer["code"] + "x", verifier).json()["error"]
    wrong_verifier = _exchange(services, answer["code"], _pkce()[0])
    assert "invalid_grant" == wrong_verifier.json()["error"]
    token = _exchange(services, answer["code"], verifier)
    assert 200 == token.status_code, token.text
    me = httpx.get(
        f"{services.api}/users/me",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert (200, "test") == (me.status_code, me.json()["username"])


def test_wrong_password_shows_an_error_on_the_page(page: Page, services: Services) -> None:
    _authorize(page, services, "s", _pkce()[1])
    page.fill("#username", "test")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert "Invalid username or password." in page.inner_text("[role=alert]")
    assert page.url.startswith(services.issuer)  # no redirect to the app
    _shot(page, "login-wrong-password")


def _sign_in(page: Page, services: Services) -> None:
    _authorize(page, services, "s", _pkce()[1])
    page.fill("#username", "test")
    page.fill("#password", "test")
    page.click("button[type=submit]")
    page.wait_for_url(f"{services.callback}?*")


def test_logout_asks_then_its_button_signs_out(page: Page, services: Services) -> None:
    _sign_in(page, services)
    page.goto(f"{services.issuer}/logout")
    assert "Sign out?" == page.inner_text("h1")
    _shot(page, "logout-confirmation")
    # Only asked: the browser's sign-in cookie still gets a code without the password.
    still = page.request.get(_authorize_url(services, "still", _pkce()[1]), max_redirects=0)
    assert 303 == still.status and "code=" in still.headers["location"]
    page.goto(f"{services.issuer}/logout")
    page.click("button[type=submit]")
    assert "You are signed out." in page.inner_text("main")
    _authorize(page, services, "after", _pkce()[1])
    page.wait_for_selector("#password")  # the login page: signed out
    assert page.url.startswith(services.issuer)


def test_resource_api_docs_sign_in_with_the_code_flow(page: Page, services: Services) -> None:
    page.goto(f"{services.api}/docs")
    page.click("button.authorize")
    code_flow = page.locator(".auth-container", has_text="authorizationCode")
    _shot(page, "resource-api-docs-authorize")
    with page.expect_popup() as opened:
        code_flow.locator("button.authorize").click()
    popup = opened.value
    popup.wait_for_selector("#username")
    popup.fill("#username", "test")
    popup.fill("#password", "test")
    # Swagger UI's redirect page closes the popup at once: listen before the click, or a fast
    # close is missed and the wait runs to its timeout.
    with popup.expect_event("close"):
        popup.click("button[type=submit]")
    # Signed in: Swagger UI exchanged the code (with its PKCE verifier) and holds a token.
    page.locator(".modal-ux").get_by_text("Authorized").first.wait_for()
    page.click("button.close-modal")
    operation = page.locator(".opblock-get", has_text="/users/me")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    _shot(page, "resource-api-docs-users-me")
    assert "200" == status.inner_text().strip()


def test_issuer_docs_try_it_out_on_token(page: Page, services: Services) -> None:
    page.goto(f"{services.issuer}/docs")
    operation = page.locator(".opblock-post", has_text="/token").first
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("input[placeholder=username]").fill("test")
    operation.locator("input[placeholder=password]").fill("test")
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    _shot(page, "issuer-docs-token")
    assert "200" == status.inner_text().strip()
