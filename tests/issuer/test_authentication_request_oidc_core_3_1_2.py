"""The OpenID Connect parameters of an authorization request (Core §3.1.2.1, §3.1.2.6, §6)
over HTTP against the issuer app: prompt, max_age, login_hint, id_token_hint, nonce, request
objects, POST as well as GET. The decision itself is unit-tested in
tests/issuer/test_interaction_oidc_core_3_1_2.py."""

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from issuer.services import IssuerServices
from jwtkit.testing import FakeClock
from tests.issuer.sign_in import (
    code_flow_issuer,
    is_login_page,
    params,
    returned,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]


@pytest.fixture
async def issuer(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[httpx.AsyncClient, IssuerServices]]:
    async with code_flow_issuer(tmp_path, clock) as running:
        yield running


def refused_with(response: httpx.Response, error: str) -> dict[str, str]:
    """The client's redirect URI got `error`, with the request's state and the issuer."""
    answer = returned(response)
    assert (error, "s-1 &/=é") == (answer["error"], answer["state"])
    assert "iss" in answer and "code" not in answer
    return answer


@pytest.mark.parametrize(
    "prompt", ["none login", "none consent", "login none", "none select_account"]
)
async def test_prompt_none_with_other_value_invalid_request(
    issuer: tuple[httpx.AsyncClient, IssuerServices], prompt: str
) -> None:
    """§3.1.2.1: "If this parameter contains none with any other value, an error is
    returned."""
    client, _services = issuer
    refused_with(await client.get("/authorize", params=params(prompt=prompt)), "invalid_request")


async def test_unknown_prompt_value_invalid_request(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """A prompt value Core does not define is refused (as node-oidc-provider does), while
    select_account is read as login."""
    client, _services = issuer
    answer = refused_with(
        await client.get("/authorize", params=params(prompt="login shout")), "invalid_request"
    )
    assert "prompt" in answer["error_description"]
    assert is_login_page(await client.get("/authorize", params=params(prompt="select_account")))


@pytest.mark.parametrize("max_age", ["-1", "1.5", "+1", " 1", "1_0", "ten", "\u0663", "9" * 17])
async def test_max_age_not_an_integer_invalid_request(
    issuer: tuple[httpx.AsyncClient, IssuerServices], max_age: str
) -> None:
    """§3.1.2.1: max_age is a number of seconds; anything but a non-negative integer (within
    2**53, node-oidc-provider's bound) is refused."""
    client, _services = issuer
    answer = refused_with(
        await client.get("/authorize", params=params(max_age=max_age)), "invalid_request"
    )
    assert "max_age" in answer["error_description"]


async def test_nonce_over_512_characters_invalid_request(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    client, _services = issuer
    assert is_login_page(await client.get("/authorize", params=params(nonce="n" * 512)))
    refused_with(await client.get("/authorize", params=params(nonce="n" * 513)), "invalid_request")


async def test_login_hint_prefills(issuer: tuple[httpx.AsyncClient, IssuerServices]) -> None:
    """§3.1.2.1: the hint fills in the username, escaped; the form carries it on."""
    client, _services = issuer
    page = await client.get("/authorize", params=params(login_hint="alice"))
    assert 'autofocus value="alice"' in page.text
    hostile = '"><script>alert(1)</script>'
    page = await client.get("/authorize", params=params(login_hint=hostile))
    assert is_login_page(page) and "<script>" not in page.text
    [prefilled] = re.findall(r'autofocus value="([^"]*)"', page.text)
    assert hostile == html.unescape(prefilled)
    too_long = await client.get("/authorize", params=params(login_hint="a" * 151))
    refused_with(too_long, "invalid_request")


async def test_unknown_parameter_ignored_core_3_1_2_1(
    issuer: tuple[httpx.AsyncClient, IssuerServices],
) -> None:
    """ "Other parameters MAY be sent ... they MUST be ignored if not understood"; the ones
    Core defines that change nothing here are accepted too; an OIDC parameter sent twice is
    refused as every parameter is (an error page, never a redirect)."""
    client, _services = issuer
    accepted = params(
        ui_locales="fr-CA en",
        claims_locales="fr",
        display="popup",
        acr_values="urn:mace:incommon:iap:silver",
        claims='{"userinfo":{"email":{"essential":true}}}',
        response_mode_of_another_kind="x",
    )
    page = await client.get("/authorize", params=accepted)
    assert is_login_page(page)
    assert 'name="ui_locales" value="fr-CA en"' in page.text  # carried through the form
    assert "response_mode_of_another_kind" not in page.text and 'claims"' not in page.text
    repeated = await client.get(
        "/authorize", params=[*params().items(), ("nonce", "a"), ("nonce", "b")]
    )
    assert 400 == repeated.status_code and "location" not in repeated.headers


@pytest.mark.parametrize(
    ("name", "error"),
    [("request", "request_not_supported"), ("request_uri", "request_uri_not_supported")],
)
async def test_request_object_not_supported_core_6(
    issuer: tuple[httpx.AsyncClient, IssuerServices], name: str, error: str
) -> None:
    """§6: a request object (by value or by reference) gets its own error, to the client."""
    client, _services = issuer
    sent = params(**{name: "eyJhbGciOiJub25lIn0.e30."})
    refused_with(await client.get("/authorize", params=sent), error)


@pytest.mark.parametrize("response_type", ["id_token", "code id_token", "id_token token", "token"])
async def test_hybrid_unsupported(
    issuer: tuple[httpx.AsyncClient, IssuerServices], response_type: str
) -> None:
    """§3.2, §3.3: the implicit and hybrid flows are not offered (response_types_supported is
    ["code"])."""
    client, _services = issuer
    sent = params(response_type=response_type, nonce="n-1")
    refused_with(await client.get("/authorize", params=sent), "unsupported_response_type")
