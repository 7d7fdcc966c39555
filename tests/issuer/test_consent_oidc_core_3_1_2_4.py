"""Consent (OpenID Connect Core §3.1.2.4): a client registered with consent required (a
third party) asks the user before its first code, listing each scope and the claims it
releases; the answer is remembered per user and client, a request for more asks again, and
so does prompt=consent. First-party clients, the default, never ask. The page has the login
page's protections: its own CSRF purpose, no script, never framed."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from issuer.cli.main import main
from issuer.services import IssuerServices
from jwtkit.testing import FakeClock
from tests.issuer.sign_in import (
    REDIRECT,
    answer_consent,
    code_flow_issuer,
    form_of,
    is_consent_page,
    is_login_page,
    params,
    public_client,
    returned,
    sign_in,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]

IDENTITY = ("openid", "profile", "email")


@pytest.fixture
async def issuer(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, IssuerServices]]:
    """alice, the first-party `rp` and the third-party `third`, both for the identity scopes."""
    async with code_flow_issuer(tmp_path, clock) as (client, services):
        public_client(services, "rp", {"authorization_code"}, IDENTITY, (REDIRECT,))
        public_client(
            services, "third", {"authorization_code"}, IDENTITY, (REDIRECT,), consent_required=True
        )
        yield client, services


def asking(scope: str = "openid email", **overrides: str) -> dict[str, str]:
    return params(**{"client_id": "third", "scope": scope, "nonce": "n-1", **overrides})


def alice_id(services: IssuerServices) -> str:
    found = services.users.find("alice")
    assert found is not None
    return found.user.id


async def consented(
    client: httpx.AsyncClient, query: dict[str, str], decision: str = "allow"
) -> httpx.Response:
    """The consent page for `query`, answered: signed in already."""
    return await answer_consent(client, await client.get("/authorize", params=query), decision)


async def test_first_party_skips_consent(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """The default: the registration is the previous administrative consent (§3.1.2.4)."""
    client, services = issuer
    assert "code" in returned(await sign_in(client, params(client_id="rp", scope="openid")))
    again = await client.get("/authorize", params=params(client_id="rp", prompt="consent"))
    assert "code" in returned(again)  # prompt=consent has nothing to ask a first party
    assert frozenset() == services.consents.given(alice_id(services), "rp")


async def test_third_party_lists_scopes_and_claims(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """After the login form, the consent page: the client, each scope and what it releases;
    the code only once allowed, for exactly the scopes asked."""
    client, services = issuer
    page = await sign_in(client, asking("openid profile email"))
    assert is_consent_page(page)
    assert "<strong>third</strong>" in page.text and "<strong>alice</strong>" in page.text
    assert "<strong>openid</strong>: sub" in page.text
    assert "<strong>email</strong>: email, email_verified" in page.text
    assert "<strong>profile</strong>: name, given_name, family_name" in page.text
    assert "code" not in page.headers.get("location", "")
    answer = returned(await answer_consent(client, page))
    assert "s-1 &/=é" == answer["state"] and "code" in answer
    user_id = alice_id(services)
    assert frozenset(IDENTITY) == services.consents.given(user_id, "third")


async def test_remembered_per_user_and_client(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """Allowed once, not asked again, for that user and client only."""
    client, services = issuer
    returned(await answer_consent(client, await sign_in(client, asking())))
    assert "code" in returned(await client.get("/authorize", params=asking(state="again")))
    public_client(
        services, "fourth", {"authorization_code"}, IDENTITY, (REDIRECT,), consent_required=True
    )
    assert is_consent_page(await client.get("/authorize", params=asking(client_id="fourth")))
    services.users.add("bob", "bob-pw", frozenset({"profile"}))
    client.cookies.clear()
    assert is_consent_page(await sign_in(client, asking(), user="bob", password="bob-pw"))


async def test_prompt_consent_asks_again(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = issuer
    returned(await answer_consent(client, await sign_in(client, asking())))
    assert is_consent_page(await client.get("/authorize", params=asking(prompt="consent")))


async def test_new_scope_asks_again(issuer: tuple[httpx.AsyncClient, IssuerServices]) -> None:
    """A scope not consented to yet asks again; the answer adds to what was allowed, and a
    request within it asks nothing."""
    client, services = issuer
    returned(await answer_consent(client, await sign_in(client, asking("openid"))))
    page = await client.get("/authorize", params=asking("openid profile"))
    assert is_consent_page(page)
    returned(await answer_consent(client, page))
    user_id = alice_id(services)
    assert frozenset({"openid", "profile"}) == services.consents.given(user_id, "third")
    assert "code" in returned(await client.get("/authorize", params=asking("profile")))


async def test_deny_access_denied_rfc6749_4_1_2_1(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """Deny: access_denied to the client, with state and iss; nothing remembered."""
    client, services = issuer
    answer = returned(await answer_consent(client, await sign_in(client, asking()), "deny"))
    assert ("access_denied", "s-1 &/=é") == (answer["error"], answer["state"])
    assert "iss" in answer and "code" not in answer
    user_id = alice_id(services)
    assert frozenset() == services.consents.given(user_id, "third")
    assert is_consent_page(await client.get("/authorize", params=asking()))  # asked again


async def test_consent_needs_csrf_token(issuer: tuple[httpx.AsyncClient, IssuerServices]) -> None:
    """A forged token, another purpose's token (the login form's), or none: the page again,
    nothing allowed. The user is the session's: without one, the login page, whatever the
    form says."""
    client, services = issuer
    login = await client.get("/authorize", params=asking())
    page = await client.post(
        "/authorize", data={**form_of(login), "username": "alice", "password": "alice-pw"}
    )
    form = {**form_of(page), "decision": "allow"}
    for token in ("guessed", form_of(login)["csrf_token"], ""):
        refused = await client.post("/authorize/consent", data={**form, "csrf_token": token})
        assert 400 == refused.status_code and "location" not in refused.headers
        assert 'action="/authorize/consent"' in refused.text  # asked again
    user_id = alice_id(services)
    assert frozenset() == services.consents.given(user_id, "third")
    client.cookies.delete("issuer_session")
    no_session = await client.post(
        "/authorize/consent", data={**form, "username": "alice", "user_id": user_id}
    )
    assert is_login_page(no_session)
    assert frozenset() == services.consents.given(user_id, "third")


async def test_consent_page_headers(issuer: tuple[httpx.AsyncClient, IssuerServices]) -> None:
    """The login page's headers: no script may run, never in a frame, no referrer, no cache;
    its CSRF cookie is SameSite=Strict."""
    client, _services = issuer
    page = await sign_in(client, asking())
    assert is_consent_page(page)
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script" not in csp
    assert "frame-ancestors 'none'" in csp and "DENY" == page.headers["x-frame-options"]
    assert ("no-referrer", "no-store") == (
        page.headers["referrer-policy"],
        page.headers["cache-control"],
    )
    assert "<script" not in page.text
    assert "SameSite=strict" in page.headers["set-cookie"]


async def test_sessions_revoke_consent(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`sessions revoke --consent --user alice [--client third]`: the next request asks
    again."""
    client, _services = issuer
    monkeypatch.setenv("ISSUER_DATA_DIR", str(tmp_path / "data"))  # the issuer's database
    returned(await answer_consent(client, await sign_in(client, asking())))
    revoke = ["sessions", "revoke", "--consent", "--user", "alice"]
    assert 0 == main([*revoke, "--client", "third"])
    assert is_consent_page(await client.get("/authorize", params=asking()))
    returned(await consented(client, asking()))
    assert 0 == main(revoke)
    assert is_consent_page(await client.get("/authorize", params=asking()))
    capsys.readouterr()


async def test_prompt_none_never_shows_the_consent_page(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """§3.1.2.6 consent_required; once allowed, prompt=none gets the code."""
    client, _services = issuer
    returned(await sign_in(client, params(client_id="rp", scope="openid")))
    silent = returned(await client.get("/authorize", params=asking(prompt="none")))
    assert "consent_required" == silent["error"]
    returned(await consented(client, asking()))
    assert "code" in returned(await client.get("/authorize", params=asking(prompt="none")))
