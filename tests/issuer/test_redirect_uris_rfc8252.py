"""Redirect URIs match byte for byte (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3), except that for a
client registered as native (`clients add --native`) the port of a loopback IP literal may
vary (RFC 8252 §7.3), and nothing else. A URI that does not parse is a 400 error page at
/authorize and /logout: never a redirect, never a 500."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from issuer.cli.main import main
from issuer.clients.redirect_uris import matches
from issuer.services import IssuerServices
from issuer.wiring import open_database
from jwtkit.testing import FakeClock
from tests.issuer.sign_in import (
    code_flow_issuer,
    exchange,
    form_of,
    params,
    public_client,
    returned,
    sign_in,
)
from tests.support import issuer_settings

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

DOCS = "http://127.0.0.1:8001/docs/oauth2-redirect"  # what `make run` registers
NATIVE = ("http://127.0.0.1:8400/cb", "http://[::1]:8400/cb")

# Not parseable by urllib (urlsplit or .port raises): each was a 500 with a traceback.
UNPARSEABLE = [
    "http://[evil]/cb",
    "http://127.0.0.1\uff03.evil.test/docs/oauth2-redirect",  # U+FF03 (full-width #) in the host
    "http://127.0.0.1:8001\uff03@evil.test/docs/oauth2-redirect",
    "http://[::1/cb",
    "http://127.0.0.1:99999/docs/oauth2-redirect",
    "http://127.0.0.1:80a/docs/oauth2-redirect",
]


@pytest.fixture
async def issuer(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, IssuerServices]]:
    async with code_flow_issuer(tmp_path, clock) as (client, services):
        public_client(services, "resource-api-docs", {"authorization_code"}, redirect_uris=(DOCS,))
        public_client(
            services, "cli-app", {"authorization_code"}, redirect_uris=NATIVE, native=True
        )
        yield client, services


def docs_params(redirect_uri: str) -> dict[str, str]:
    return params(client_id="resource-api-docs", redirect_uri=redirect_uri)


def native_params(redirect_uri: str) -> dict[str, str]:
    return params(client_id="cli-app", redirect_uri=redirect_uri)


def refused(response: httpx.Response) -> bool:
    """An error page shown to the user: no redirect, no code."""
    return (
        400 == response.status_code
        and "location" not in response.headers
        and "Cannot sign in" in response.text
    )


async def test_rfc9700_4_1_3_the_port_may_not_vary_for_a_web_client(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """The issue's attack: a listener on 127.0.0.1:4444 sends a signed-in user to /authorize
    for the /docs client (registered with :8001) and would receive the code."""
    client, _services = issuer
    assert "code" in returned(await sign_in(client, docs_params(DOCS)))
    attack = await client.get(
        "/authorize", params=docs_params("http://127.0.0.1:4444/docs/oauth2-redirect")
    )
    assert refused(attack)


@pytest.mark.parametrize(
    ("variant", "native"),
    [
        ("http://x:pw@127.0.0.1:8001/docs/oauth2-redirect", False),
        ("http://x:pw@127.0.0.1:4444/docs/oauth2-redirect", False),
        ("http://127.0.0.1:8001@127.0.0.1:4444/docs/oauth2-redirect", False),
        ("http://x:pw@127.0.0.1:8400/cb", True),
        ("http://x@127.0.0.1:4444/cb", True),
        ("http://127.0.0.1:8400@127.0.0.1:4444/cb", True),
    ],
)
async def test_rfc9700_4_1_3_userinfo_is_refused(
    issuer: tuple[httpx.AsyncClient, IssuerServices], variant: str, native: bool
) -> None:
    client, _services = issuer
    query = native_params(variant) if native else docs_params(variant)
    assert refused(await client.get("/authorize", params=query))


@pytest.mark.parametrize(
    "variant",
    [
        "http://127.0.0.1:8001/docs/oauth2-re\tdirect",  # a tab, which urlsplit drops
        "http://127.0.0.1:8001/docs/oauth2-re%09direct",
        "http://127.0.0.1:8001/docs/oauth2-redirect\n",
        "http://127.0.0.1:8001/docs/oauth2-redirect/",
        "http://127.0.0.1:8001/docs/%6Fauth2-redirect",  # the same path, percent-encoded
        "HTTP://127.0.0.1:8001/docs/oauth2-redirect",
        "http://127.0.0.1:08001/docs/oauth2-redirect",
        "http://127.0.0.1:8001/docs/oauth2-redirect?x=1",
        "http://127.0.0.1:8001/docs/oauth2-redirect#",
    ],
)
async def test_rfc6749_3_1_2_3_exact_match_byte_for_byte(
    issuer: tuple[httpx.AsyncClient, IssuerServices], variant: str
) -> None:
    client, _services = issuer
    assert refused(await client.get("/authorize", params=docs_params(variant)))


@pytest.mark.parametrize("uri", UNPARSEABLE)
async def test_an_unparseable_redirect_uri_is_a_400_page(
    issuer: tuple[httpx.AsyncClient, IssuerServices], uri: str
) -> None:
    client, _services = issuer
    for query in (docs_params(uri), native_params(uri), params(redirect_uri=uri)):
        assert refused(await client.get("/authorize", params=query))
    login = await client.post("/authorize", data={**native_params(uri), "username": "alice"})
    assert 400 == login.status_code and "location" not in login.headers


@pytest.mark.parametrize("uri", UNPARSEABLE)
async def test_an_unparseable_post_logout_redirect_uri_is_a_400_page(
    issuer: tuple[httpx.AsyncClient, IssuerServices], uri: str
) -> None:
    client, _services = issuer
    query = {"client_id": "cli-app", "post_logout_redirect_uri": uri}
    page = await client.get("/logout", params=query)
    assert 400 == page.status_code and "location" not in page.headers
    confirmation = await client.get("/logout")  # a form with a valid CSRF token
    posted = await client.post("/logout", data={**form_of(confirmation), **query})
    assert 400 == posted.status_code and "location" not in posted.headers


@pytest.mark.parametrize(
    "other_port", ["http://127.0.0.1:51234/cb", "http://[::1]:51234/cb", "http://127.0.0.1/cb"]
)
async def test_rfc8252_7_3_a_native_client_may_vary_the_loopback_port(
    issuer: tuple[httpx.AsyncClient, IssuerServices], other_port: str
) -> None:
    client, _services = issuer
    response = await sign_in(client, native_params(other_port))
    assert response.headers["location"].startswith(other_port + "?")
    code = returned(response)["code"]
    token = await exchange(client, code, client_id="cli-app", redirect_uri=other_port)
    assert 200 == token.status_code


@pytest.mark.parametrize(
    "variant",
    [
        "http://127.0.0.1:51234/cb/",
        "http://127.0.0.1:51234/other",
        "http://127.0.0.1:51234/c%62",
        "http://127.0.0.1:51234/c\tb",
        "http://127.0.0.1:51234/cb?x=1",
        "http://127.0.0.1:51234/cb#f",
        "http://localhost:51234/cb",  # RFC 8252 §8.3: the IP literal, not localhost
        "http://127.0.0.2:51234/cb",
        "http://[0:0:0:0:0:0:0:1]:51234/cb",
        "https://127.0.0.1:51234/cb",
        "http://127.0.0.1:+5123/cb",
        "http://127.0.0.1:\uff15\uff11\uff12\uff13\uff14/cb",  # full-width digits
        "http://127.0.0.1:/cb",
    ],
)
async def test_rfc8252_7_3_a_native_client_may_vary_nothing_but_the_port(
    issuer: tuple[httpx.AsyncClient, IssuerServices], variant: str
) -> None:
    client, _services = issuer
    assert refused(await client.get("/authorize", params=native_params(variant)))


@pytest.mark.parametrize(
    ("requested", "native", "expected"),
    [
        (DOCS, False, True),
        ("http://127.0.0.1:4444/docs/oauth2-redirect", False, False),
        ("http://127.0.0.1:4444/docs/oauth2-redirect", True, True),
        ("http://127.0.0.1/docs/oauth2-redirect", True, True),
        ("http://127.0.0.1:4444/docs/oauth2-redirect?", True, False),
        ("http://u@127.0.0.1:4444/docs/oauth2-redirect", True, False),
        ("http://127.0.0.1:4444/docs/oauth2-re\tdirect", True, False),
        ("http://127.0.0.1:65536/docs/oauth2-redirect", True, False),
        ("http://[evil]/cb", True, False),
    ],
)
def test_matches_is_exact_unless_native(requested: str, native: bool, expected: bool) -> None:
    assert expected == matches(requested, (DOCS,), native=native)


def test_clients_add_native_and_list_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--native` is stored, shown by list and show (text and JSON), and needs the code flow."""
    monkeypatch.setenv("ISSUER_DATA_DIR", str(tmp_path / "data"))
    open_database(issuer_settings(tmp_path / "data"))  # the server's database
    code_flow = ["--public", "--grant", "authorization_code", "--redirect-uri"]
    assert 0 == main(["clients", "add", "cli-app", *code_flow, NATIVE[0], "--native"])
    assert 0 == main(["clients", "add", "web-app", *code_flow, DOCS])
    capsys.readouterr()
    assert 0 == main(["clients", "list"])
    lines = capsys.readouterr().out.splitlines()
    assert ["native", "-"] == [line.split("\t")[-1] for line in lines]
    assert 0 == main(["clients", "show", "cli-app", "--json"])
    assert '"native": true' in capsys.readouterr().out
    assert 1 == main(["clients", "add", "svc", "--native"])  # no redirect URI to vary
    assert "--native" in capsys.readouterr().err


def test_make_run_and_compose_register_the_docs_client_exactly_and_not_native() -> None:
    """The /docs client is a web client: exact URIs, no --native."""
    root = Path(__file__).resolve().parents[2]
    for path in ("scripts/run", "docker-compose.yml"):
        text = root.joinpath(path).read_text()
        assert "clients add resource-api-docs" in text
        assert "--native" not in text
        assert "/docs/oauth2-redirect" in text


@pytest.mark.parametrize("path", ["/authorize", "/logout"])
async def test_a_nul_in_the_query_is_a_400_page_not_a_500(
    issuer: tuple[httpx.AsyncClient, IssuerServices], path: str
) -> None:
    """A NUL, which PostgreSQL's text type cannot hold, in client_id or redirect_uri is refused
    as a 400 error page before any lookup, on both stores."""
    client, _ = issuer
    names = ("client_id", "redirect_uri" if path == "/authorize" else "post_logout_redirect_uri")
    for name in names:
        asked = {**docs_params(DOCS), name: DOCS + "\x00"}
        response = await client.get(path, params=asked)
        assert 400 == response.status_code, (name, response.text)
        assert "text/html" in response.headers["content-type"]
