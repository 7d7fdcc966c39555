"""An off-the-shelf OpenID Connect app signs a user in through the issuer, in a real Chromium
(Debian's `chromium`, driven by Playwright as test_sign_in.py does): a Django project with
mozilla-django-oidc 5, both from PyPI, configured only through the library's documented
settings (tests/processes/apps/django_rp), served by Django's own server, against a real
issuer process with an RS256 key.

The app is a third-party client (`--consent required`): the user goes from the app to the
issuer's login page, then its consent page, and back to the app, which has checked the ID
token (signature from the JWKS, nonce) and shows the name and email it read at /userinfo.
Logging out of the app goes through the issuer's end_session_endpoint with the ID token as
id_token_hint, which ends the issuer's session without asking and sends the browser back to
the app's registered post-logout redirect URI.

Screenshots go to tests/processes/browser/screenshots/ (git-ignored; CI keeps them)."""

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support import (
    ROOT,
    free_port,
    issuer_cli,
    issuer_process_env,
    serve,
    wait_until_ready,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(240)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "tests" / "processes" / "browser" / "screenshots"
SETTINGS = "tests.processes.apps.django_rp.settings"
# The issuer's sign-in cookie on a plain-http URL (issuer/api/sign_in_pages.py::Cookies).
SIGN_IN_COOKIE = "issuer_session"
USERNAME, PASSWORD = "ada", "correct horse battery staple"
EMAIL, GIVEN_NAME, FAMILY_NAME = "ada@example.com", "Ada", "Lovelace"
WAIT_MS = 20_000  # every browser wait is bounded by this

if not Path(CHROMIUM).exists():
    if os.environ.get("REQUIRE_BROWSER"):
        raise RuntimeError("REQUIRE_BROWSER is set and Debian's chromium is not installed")
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

from playwright.sync_api import (  # noqa: E402
    Browser,
    BrowserContext,
    Page,
    Request,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402


@dataclass
class Running:
    issuer: str
    app: str
    requests: list[str] = field(default_factory=list)

    def allowed(self, url: str) -> bool:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        return url.startswith(("data:", "blob:")) or origin in (self.issuer, self.app)


def _add_user(env: Mapping[str, str]) -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "issuer", "users", "add", USERNAME, "--scope", "profile",
            "--email", EMAIL, "--email-verified", "--name", f"{GIVEN_NAME} {FAMILY_NAME}",
            "--given-name", GIVEN_NAME, "--family-name", FAMILY_NAME, "--password-stdin",
        ],
        input=PASSWORD + "\n",
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert 0 == done.returncode, done.stderr


def _add_client(env: Mapping[str, str], app: str) -> tuple[str, str]:
    """The app as a confidential third-party client: it asks for consent, and may send the
    browser back to its page after a logout."""
    added = issuer_cli(
        env, "clients", "add", "django-app", "--confidential",
        "--grant", "authorization_code",
        "--scope", "openid", "--scope", "email", "--scope", "profile",
        "--auth-method", "client_secret_post",  # mozilla-django-oidc's default
        "--consent", "required",
        "--redirect-uri", f"{app}/oidc/callback/",
        "--post-logout-redirect-uri", f"{app}/",
        "--json",
    )  # fmt: skip
    client = json.loads(added)
    return client["client_id"], client["client_secret"]


def _django(env: Mapping[str, str], *args: str) -> None:
    """`python -m django ARGS` (django-admin) on the app's settings; it must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", "django", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert 0 == done.returncode, done.stderr


@contextlib.contextmanager
def _django_server(port: int, env: Mapping[str, str], log: Path) -> Iterator[None]:
    """Django's own server as a real process on a loopback port (no reloader: one process,
    stopped afterwards)."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{port}"],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("django-oidc")
    issuer_port, app_port = free_port(), free_port()
    urls = Running(issuer=f"http://127.0.0.1:{issuer_port}", app=f"http://127.0.0.1:{app_port}")
    env = issuer_process_env(urls.issuer, tmp / "issuer", SIGNING_ALG="RS256")
    issuer_cli(env, "db", "upgrade")  # the CLI works on an existing database only
    _add_user(env)
    client_id, client_secret = _add_client(env, urls.app)
    (tmp / "app").mkdir()
    app_env = {
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "RP_ISSUER_URL": urls.issuer,
        "RP_CLIENT_ID": client_id,
        "RP_CLIENT_SECRET": client_secret,
        "RP_DATA_DIR": str(tmp / "app"),
    }
    log = tmp / "services.log"
    with serve("issuer", issuer_port, env, log):
        wait_until_ready(f"{urls.issuer}/readyz")
        _django(app_env, "migrate", "--verbosity", "0")  # its settings read the discovery
        with _django_server(app_port, app_env, log):
            wait_until_ready(f"{urls.app}/")
            yield urls
    assert "Traceback" not in log.read_text()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser, running: Running) -> Iterator[BrowserContext]:
    opened = browser.new_context()
    opened.set_default_timeout(WAIT_MS)
    opened.set_default_navigation_timeout(WAIT_MS)

    def record(request: Request) -> None:
        running.requests.append(request.url)

    opened.on("request", record)
    yield opened
    opened.close()
    strays = [url for url in running.requests if not running.allowed(url)]
    assert [] == strays  # nothing but the issuer and the app


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def _wait_for(page: Page, selector: str) -> None:
    """Waits (bounded) for the element; a timeout says where the browser is instead."""
    try:
        page.wait_for_selector(selector)
    except PlaywrightTimeout:
        _shot(page, "django-app-stuck")
        pytest.fail(f"no {selector} at {page.url}:\n{page.inner_text('body')[:2000]}")


def _payload(jwt: str) -> dict[str, object]:
    """A JWT's claims, unverified (the app verified it; this reads what it was given)."""
    segment = jwt.split(".")[1]
    padded = segment + "=" * (-len(segment) % 4)
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(padded))
    return decoded


def _sign_in_cookies(context: BrowserContext, running: Running) -> list[str]:
    return [cookie["name"] for cookie in context.cookies(running.issuer)
            if cookie["name"] == SIGN_IN_COOKIE]  # fmt: skip


def test_django_app_signs_in_with_consent_and_logs_out_at_end_session(
    context: BrowserContext, running: Running
) -> None:
    page = context.new_page()
    page.goto(f"{running.app}/")
    page.click("#sign-in")

    # The app sent the browser to the issuer: an authorization request with PKCE and a nonce.
    _wait_for(page, "#password")
    assert page.url.startswith(f"{running.issuer}/authorize?")
    asked = parse_qs(urlsplit(page.url).query)
    assert ["S256"] == asked["code_challenge_method"] and asked["nonce"]
    assert {"openid", "email", "profile"} == set(asked["scope"][0].split())
    _shot(page, "django-app-login")
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")

    # A third-party client: the issuer asks before it answers the app.
    allow = page.get_by_role("button", name="Allow")
    allow.wait_for()
    assert page.url.startswith(running.issuer)
    asked_for = page.inner_text("main")
    assert "django-app" in asked_for and "email" in asked_for
    _shot(page, "django-app-consent")
    allow.click()

    # Back at the app: it exchanged the code, checked the ID token and read /userinfo.
    _wait_for(page, "#email")
    assert page.url.startswith(f"{running.app}/")
    assert (EMAIL, f"{GIVEN_NAME} {FAMILY_NAME}") == (
        page.inner_text("#email"),
        page.inner_text("#name"),
    )
    assert [SIGN_IN_COOKIE] == _sign_in_cookies(context, running)
    _shot(page, "django-app-signed-in")

    # Logging out of the app ends the issuer's session too, without a question (the ID token
    # is the hint), and comes back to the app.
    page.click("#logout")
    _wait_for(page, "#signed-out")
    assert f"{running.app}/" == page.url
    ends = [url for url in running.requests if url.startswith(f"{running.issuer}/logout?")]
    assert 1 == len(ends)
    hint = parse_qs(urlsplit(ends[0]).query)
    assert (["django-app"], [f"{running.app}/"]) == (
        hint["client_id"],
        hint["post_logout_redirect_uri"],
    )
    # The ID token the app kept: for it, with the nonce its request sent, from a password.
    id_token = _payload(hint["id_token_hint"][0])
    assert ("django-app", asked["nonce"][0], ["pwd"]) == (
        id_token["aud"],
        id_token["nonce"],
        id_token["amr"],
    )
    assert [] == _sign_in_cookies(context, running)
    _shot(page, "django-app-signed-out")

    # Signed out at the issuer as well: signing in again asks for the password.
    page.click("#sign-in")
    _wait_for(page, "#password")
    assert page.url.startswith(f"{running.issuer}/authorize?")
