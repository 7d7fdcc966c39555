"""The OpenID Foundation's Basic OP checks (conformance suite, oidcc-basic-certification-test-
plan, static client, response_type=code) that can be expressed without the suite: one test per
module, named after it, each asserting what the module checks (its summary and conditions), in
process against the issuer app (tests/processes/oidc/provider.py) on both stores, with the
injected clock where the module waits.

Differences from the suite itself:
- Every request here sends PKCE S256: this issuer requires it of every client, confidential
  ones included (OAuth 2.1; RFC 9700 §2.1.1). The suite's modules do not send it, so the real
  suite fails them against this issuer; only oidcc-ensure-request-with-valid-pkce-succeeds
  sends it there.
- oidcc-ensure-other-scope-order-succeeds is the suite's oidcc-alternate-happy-flow (scopes
  reversed, parameters reordered); oidcc-request-uri-unsigned is its
  oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported.
- Where the module only warns (acr not returned, no name for an essential claim, userinfo by
  form body refused), the test asserts what this issuer does.

Not applicable, so not here:
- oidcc-scope-address, oidcc-scope-phone, oidcc-scope-all: the issuer holds no address or
  phone claims and does not offer those scopes (scopes_supported), so the suite skips them.
- oidcc-idtoken-unsigned: ID tokens are always signed; `none` is not in
  id_token_signing_alg_values_supported, so the suite skips it.
"""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from jwtkit.testing import FakeClock
from tests.basics import ISSUER, b64
from tests.processes.oidc.provider import (
    EMAIL_CLAIMS,
    ERROR_RESPONSE_PARAMETERS,
    PROFILE_CLAIMS,
    REDIRECT,
    Provider,
    SignIn,
    parameters,
    provider,
)

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("database")]
# RFC 6749 Appendix A.17: a refresh token is printable ASCII (the suite checks it).
_VSCHAR = {chr(code) for code in range(0x20, 0x7F)}


@pytest.fixture
async def op(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Provider]:
    async with provider(tmp_path, clock) as running:
        yield running


def _same_authentication(first: SignIn, second: SignIn) -> None:
    """The suite's CheckIdTokenAuthTimeClaimsSameIfPresent and ...SubConsistent."""
    assert first.claims["sub"] == second.claims["sub"]
    assert first.claims["auth_time"] == second.claims["auth_time"]


async def _userinfo_claims(op: Provider, signed_in: SignIn) -> dict[str, object]:
    response = await op.userinfo(signed_in.access_token)
    assert 200 == response.status_code, response.text
    claims: dict[str, object] = response.json()
    assert signed_in.claims["sub"] == claims["sub"]  # Core §5.3.2
    return claims


async def test_oidcc_server(op: Provider) -> None:
    """The happy flow: discovery's required members, the code with state and iss, the token
    response and its ID token (signature by kid, iss, aud, exp, iat, nonce, at_hash)."""
    document = await op.discovery()
    required = {
        "issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
        "response_types_supported", "subject_types_supported",
        "id_token_signing_alg_values_supported",
    }  # fmt: skip
    assert required <= document.keys()  # Discovery §3
    assert ISSUER == document["issuer"]  # Discovery §4.3: the URL it was fetched under
    assert "openid" in document["scopes_supported"]
    signed_in = await op.sign_in(op.request())
    assert {"sub", "auth_time"} <= signed_in.claims.keys()
    assert signed_in.header["kid"]


async def test_oidcc_response_type_missing(op: Provider) -> None:
    """Without response_type: an error back to the client (unsupported_response_type or
    invalid_request, with state), never a code."""
    request = op.request()
    del request.params["response_type"]
    returned = parameters(await op.authorize(request))
    assert returned["error"] in {"unsupported_response_type", "invalid_request"}
    assert request.params["state"] == returned["state"]
    assert "code" not in returned


async def test_oidcc_userinfo_get(op: Provider) -> None:
    """GET /userinfo with the bearer token in the header: 200 JSON with the ID token's sub."""
    signed_in = await op.sign_in(op.request())
    response = await op.http.get(
        "/userinfo", headers={"Authorization": f"Bearer {signed_in.access_token}"}
    )
    assert (200, "application/json") == (response.status_code, response.headers["content-type"])
    assert signed_in.claims["sub"] == response.json()["sub"]


async def test_oidcc_userinfo_post_header(op: Provider) -> None:
    """POST /userinfo with the bearer token in the header."""
    signed_in = await op.sign_in(op.request())
    response = await op.http.post(
        "/userinfo", headers={"Authorization": f"Bearer {signed_in.access_token}"}
    )
    assert 200 == response.status_code, response.text
    assert signed_in.claims["sub"] == response.json()["sub"]


async def test_oidcc_userinfo_post_body(op: Provider) -> None:
    """POST /userinfo with the token in a form body (RFC 6750 §2.2): the suite only warns
    when refused; this issuer accepts it."""
    signed_in = await op.sign_in(op.request())
    response = await op.http.post("/userinfo", data={"access_token": signed_in.access_token})
    assert 200 == response.status_code, response.text
    assert signed_in.claims["sub"] == response.json()["sub"]


async def test_oidcc_ensure_request_without_nonce_succeeds_for_code_flow(op: Provider) -> None:
    """No nonce in a code-flow request: a code all the same, and an ID token without one."""
    signed_in = await op.sign_in(op.request(nonce=False))
    assert "nonce" not in signed_in.claims


async def test_oidcc_scope_profile(op: Provider) -> None:
    """scope=openid profile: userinfo returns the profile claims the user has (§5.4)."""
    claims = await _userinfo_claims(op, await op.sign_in(op.request("openid profile")))
    assert PROFILE_CLAIMS <= claims.keys()
    assert isinstance(claims.get("updated_at", 0), int)  # the suite's EnsureUserInfoUpdatedAtValid
    assert not EMAIL_CLAIMS & claims.keys()


async def test_oidcc_scope_email(op: Provider) -> None:
    """scope=openid email: userinfo returns email and email_verified (§5.4)."""
    claims = await _userinfo_claims(op, await op.sign_in(op.request("openid email")))
    assert {"email": "alice@example.com", "email_verified": True} == {
        name: claims[name] for name in EMAIL_CLAIMS
    }
    assert not PROFILE_CLAIMS & claims.keys()


async def test_oidcc_ensure_other_scope_order_succeeds(op: Provider) -> None:
    """Scopes reversed and the parameters in another order (RFC 6749 §3.3: order does not
    matter): the same success, the email claims released."""
    request = op.request("email openid")
    request.params = dict(reversed(request.params.items()))
    claims = await _userinfo_claims(op, await op.sign_in(request))
    assert EMAIL_CLAIMS <= claims.keys()


async def test_oidcc_display_page(op: Provider) -> None:
    """display=page must not cause an error (Core §15.1): the login page, then a code."""
    page = await op.authorize(op.request(display="page"))
    assert (200, True) == (page.status_code, 'name="password"' in page.text)
    await op.sign_in(op.request(display="page"))


async def test_oidcc_display_popup(op: Provider) -> None:
    """display=popup must not cause an error either."""
    page = await op.authorize(op.request(display="popup"))
    assert (200, True) == (page.status_code, 'name="password"' in page.text)
    await op.sign_in(op.request(display="popup"))


async def test_oidcc_prompt_login(op: Provider, clock: FakeClock) -> None:
    """Signed in, a second request with prompt=login shows the login page again, and the
    second ID token's auth_time is later than the first's."""
    first = await op.sign_in(op.request())
    clock.advance(1)
    page = await op.authorize(op.request(prompt="login"))
    assert 'name="password"' in page.text  # asked again despite the sign-in cookie
    second = await op.sign_in(op.request(prompt="login"))
    assert second.claims["auth_time"] > first.claims["auth_time"]
    assert first.claims["sub"] == second.claims["sub"]


async def test_oidcc_prompt_none_not_logged_in(op: Provider) -> None:
    """prompt=none without a sign-in: an error that needs a user interface (Core §3.1.2.6),
    back to the client with the long state intact and nothing unexpected."""
    request = op.request(prompt="none", state="s" * 128)
    returned = parameters(await op.authorize(request))
    assert returned["error"] in {"login_required", "interaction_required", "consent_required"}
    assert "s" * 128 == returned["state"]
    assert returned.keys() <= ERROR_RESPONSE_PARAMETERS


async def test_oidcc_prompt_none_logged_in(op: Provider) -> None:
    """Signed in, prompt=none gives a code at once (no page), for the same sign-in."""
    first = await op.sign_in(op.request())
    request = op.request(prompt="none")
    assert "code" in parameters(await op.authorize(request))  # no page on the way
    _same_authentication(first, await op.sign_in(op.request(prompt="none")))


async def test_oidcc_max_age_1(op: Provider, clock: FakeClock) -> None:
    """Two seconds after a sign-in, max_age=1 asks to sign in again; the second ID token has
    an auth_time that is later than the first and recent."""
    first = await op.sign_in(op.request())
    clock.advance(2)
    page = await op.authorize(op.request(max_age="1"))
    assert 'name="password"' in page.text
    second = await op.sign_in(op.request(max_age="1"))
    assert second.claims["auth_time"] > first.claims["auth_time"]
    assert clock.now - 1 <= second.claims["auth_time"] <= clock.now


async def test_oidcc_max_age_10000(op: Provider, clock: FakeClock) -> None:
    """max_age=15000 then max_age=10000: no second login, auth_time (required with max_age)
    and sub the same in both ID tokens."""
    first = await op.sign_in(op.request(max_age="15000"))
    clock.advance(5)
    assert "code" in parameters(await op.authorize(op.request(max_age="10000")))
    _same_authentication(first, await op.sign_in(op.request(max_age="10000")))


async def test_oidcc_ensure_request_with_unknown_parameter_succeeds(op: Provider) -> None:
    """extra=foobar is ignored (RFC 6749 §3.1)."""
    await op.sign_in(op.request(extra="foobar"))


async def test_oidcc_id_token_hint(op: Provider) -> None:
    """prompt=none with the first ID token as id_token_hint: a code at once, for the same
    sign-in."""
    first = await op.sign_in(op.request())
    second = await op.sign_in(op.request(prompt="none", id_token_hint=first.tokens["id_token"]))
    _same_authentication(first, second)


async def test_oidcc_login_hint(op: Provider) -> None:
    """login_hint must not cause an error: the login page, then a code."""
    page = await op.authorize(op.request(login_hint="alice"))
    assert 200 == page.status_code, page.text
    await op.sign_in(op.request(login_hint="alice"))


async def test_oidcc_ui_locales(op: Provider) -> None:
    """ui_locales=se must not cause an error."""
    page = await op.authorize(op.request(ui_locales="se"))
    assert 200 == page.status_code, page.text
    await op.sign_in(op.request(ui_locales="se"))


async def test_oidcc_claims_locales(op: Provider) -> None:
    """claims_locales=se must not cause an error (Core §15.1)."""
    await op.sign_in(op.request(claims_locales="se"))


async def test_oidcc_ensure_request_with_acr_values_succeeds(op: Provider) -> None:
    """acr_values=1 2 (none advertised): the sign-in succeeds; the suite warns without an
    acr claim, and this issuer issues none (the lead's decision 1: amr pwd only)."""
    signed_in = await op.sign_in(op.request(acr_values="1 2"))
    assert "acr" not in signed_in.claims
    assert ["pwd"] == signed_in.claims["amr"]


async def _code_reuse(op: Provider) -> tuple[SignIn, str]:
    request = op.request()
    returned = await op.code(request)
    first = await op.redeem(returned["code"], request)
    assert 200 == first.status_code, first.text
    header, claims = await op.verified(
        first.json()["id_token"], request, first.json()["access_token"]
    )
    return SignIn(request, first.json(), header, claims), returned["code"]


def _invalid_grant(response: httpx.Response) -> None:
    """RFC 6749 §5.2, as the suite's CheckTokenEndpointHttpStatus400 and error checks read it."""
    assert 400 == response.status_code, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert "invalid_grant" == body["error"]
    assert not set("\r\n\t") & set(body.get("error_description", ""))


async def test_oidcc_codereuse(op: Provider) -> None:
    """A code used a second time, at once: invalid_grant."""
    signed_in, code = await _code_reuse(op)
    _invalid_grant(await op.redeem(code, signed_in.request))


async def test_oidcc_codereuse_30seconds(op: Provider, clock: FakeClock) -> None:
    """A code used again 30 seconds later: invalid_grant, and the access token the first use
    issued no longer works (RFC 6749 §4.1.2: revoked)."""
    signed_in, code = await _code_reuse(op)
    clock.advance(30)
    _invalid_grant(await op.redeem(code, signed_in.request))
    refused = await op.userinfo(signed_in.access_token)
    assert 401 == refused.status_code
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


async def test_oidcc_ensure_registered_redirect_uri(op: Provider) -> None:
    """An unregistered redirect URI: an error page at the issuer, never a redirect."""
    page = await op.authorize(op.request(redirect_uri="https://attacker.example/callback"))
    assert 400 == page.status_code
    assert "location" not in page.headers


async def test_oidcc_ensure_post_request_succeeds(op: Provider) -> None:
    """The authorization request POSTed form-encoded (Core §3.1.2.1: GET and POST)."""
    await op.sign_in(op.request(), post=True)


async def test_oidcc_server_client_secret_post(op: Provider) -> None:
    """The happy flow for the client that authenticates with client_secret_post."""
    signed_in = await op.sign_in(op.request(client_id="rp-post"))
    assert "rp-post" == signed_in.claims["aud"]


def _unsigned_request_object(params: dict[str, str]) -> str:
    header = b64(json.dumps({"alg": "none"}).encode())
    claims = b64(json.dumps({**params, "iss": params["client_id"], "aud": "x"}).encode())
    return f"{header}.{claims}."


async def test_oidcc_request_uri_unsigned(op: Provider) -> None:
    """request_uri pointing at an unsigned request object: not supported, so the
    request_uri_not_supported error back to the client (Core §6.2, §3.1.2.6), as discovery
    says (request_uri_parameter_supported false; its default is true)."""
    assert False is (await op.discovery())["request_uri_parameter_supported"]
    request = op.request(request_uri="https://rp.example/request.jwt")
    returned = parameters(await op.authorize(request))
    assert "request_uri_not_supported" == returned["error"]
    assert request.params["state"] == returned["state"]


async def test_oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(
    op: Provider,
) -> None:
    """An unsigned request object by value: rejected with request_not_supported (Core §6.1),
    never ignored, as discovery says (request_parameter_supported false)."""
    assert False is (await op.discovery())["request_parameter_supported"]
    request = op.request()
    request.params["request"] = _unsigned_request_object(request.params)
    returned = parameters(await op.authorize(request))
    assert "request_not_supported" == returned["error"]
    assert "code" not in returned


async def test_oidcc_claims_essential(op: Provider) -> None:
    """claims={"userinfo": {"name": {"essential": true}}}: the sign-in succeeds (the suite
    only warns without a name); this issuer ignores the claims parameter, as discovery says
    (claims_parameter_supported false), and releases by scope."""
    assert False is (await op.discovery())["claims_parameter_supported"]
    claims = json.dumps({"userinfo": {"name": {"essential": True}}})
    signed_in = await op.sign_in(op.request("openid profile", claims=claims))
    assert "Alice Liddell" == (await _userinfo_claims(op, signed_in))["name"]


async def test_oidcc_refresh_token(op: Provider, clock: FakeClock) -> None:
    """The refresh token works for its own client only (bound to it), and the refreshed ID
    token keeps iss, sub, aud and auth_time with a new iat (Core §12.2)."""
    signed_in = await op.sign_in(op.request())
    refresh_token = signed_in.tokens["refresh_token"]
    assert set(refresh_token) <= _VSCHAR
    _invalid_grant(await op.refresh(refresh_token, client_id="rp-post"))  # another client's
    clock.advance(10)
    response = await op.refresh(refresh_token)
    assert 200 == response.status_code, response.text
    tokens = response.json()
    request = op.request(nonce=False)  # §12.2: no nonce in the refreshed ID token
    _, claims = await op.verified(tokens["id_token"], request, tokens["access_token"])
    same = ("iss", "sub", "aud", "auth_time")
    assert [signed_in.claims[name] for name in same] == [claims[name] for name in same]
    assert claims["iat"] > signed_in.claims["iat"]
    assert 200 == (await op.userinfo(tokens["access_token"])).status_code


async def test_oidcc_ensure_request_with_valid_pkce_succeeds(op: Provider) -> None:
    """A valid PKCE S256 request succeeds (every request here sends one; this is the module
    that requires it)."""
    request = op.request()
    assert "S256" == request.params["code_challenge_method"]
    await op.sign_in(request)


async def test_oidcc_idtoken_signature(op: Provider) -> None:
    """oidcc-idtoken-signature: the ID token has a kid and, with the default settings, RS256
    (Core §3.1.3.7, §15.1)."""
    signed_in = await op.sign_in(op.request())
    assert ("RS256", True) == (signed_in.header["alg"], bool(signed_in.header["kid"]))


async def test_oidcc_ensure_request_object_with_redirect_uri(op: Provider) -> None:
    """oidcc-ensure-request-object-with-redirect-uri: a request object plus an unregistered
    redirect_uri outside it: the issuer's error page, never a redirect to either."""
    request = op.request(redirect_uri="https://attacker.example/callback")
    request.params["request"] = _unsigned_request_object(
        {**request.params, "redirect_uri": REDIRECT}
    )
    page = await op.authorize(request)
    assert 400 == page.status_code
    assert "location" not in page.headers
